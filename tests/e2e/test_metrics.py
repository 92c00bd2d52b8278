"""sluice serve's /metrics and /status (serve/observe.h): a campaign against
the test world, scraped and parsed with a real Prometheus text parser
(python3-prometheus-client), compared with the delivery log; /status with
and without its bearer token; a flood of scrapes while delivering.

Recipients: metricsN@sink.test (Postfix's smtp-sink accepts them),
nometricsN@ok.test (unknown at mx.ok.test: 550 5.1.1), metricsN@webmail.test
(the "google" MX that defers every MAIL FROM: deferred, then expired). No
other test uses these names. Flood clients bind to 127.0.11.x."""
import http.client
import json
import subprocess
import threading
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

import world as W
from conftest import SLUICE, wait_for
from test_inbound import HTTP, INBOUND, send
from test_security import Served, still_serving

TOKEN = "metrics-token-0123456789abcdef"
WITH_TOKEN = {"http": {"status_token": TOKEN}}
HOST, PORT = HTTP.split(":")[0], int(HTTP.split(":")[1])
FINAL = ("delivered", "bounced", "expired", "suppressed")


def get(path, token=None, src="127.0.11.250", timeout=5.0):
    """(status, headers, body) of one GET."""
    c = http.client.HTTPConnection(HOST, PORT, timeout=timeout, source_address=(src, 0))
    try:
        h = {"Connection": "close"}
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        c.request("GET", path, headers=h)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode()
    finally:
        c.close()


def scrape(token=TOKEN):
    status, headers, body = get("/metrics", token)
    assert status == 200, (status, body)
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {f.name: f for f in text_string_to_metric_families(body)}, body


def samples(families, family, sample_name=None, **labels):
    f = families.get(family)
    if f is None:
        return []
    return [s for s in f.samples if (sample_name is None or s.name == sample_name)
            and all(s.labels.get(k) == v for k, v in labels.items())]


def value(families, family, **labels):
    """The sum of a gauge's or counter's samples with labels (the parser
    names a counter's family without its _total)."""
    f = families.get(family)
    return sum(s.value for s in (f.samples if f else [])
               if s.name in (family, family + "_total")
               and all(s.labels.get(k) == v for k, v in labels.items()))


def campaign_rows(n_ok, n_bad, n_slow, tag=""):
    return ([[f"metrics{tag}{i}@sink.test", "M", str(i)] for i in range(n_ok)] +
            [[f"nometrics{tag}{i}@ok.test", "N", str(i)] for i in range(n_bad)] +
            [[f"metrics{tag}{i}@{W.PROVIDER_DOMAIN}", "G", str(i)] for i in range(n_slow)])


def log_final(serve, campaign):
    """recipient -> its final log record, for one campaign."""
    out = {}
    for r in serve.log():
        if r.get("campaign") == campaign and r.get("recipient") and r.get("outcome") in FINAL:
            out[r["recipient"]] = r
    return out


@pytest.fixture
def served(world, sender):
    s = Served(sender, extra=WITH_TOKEN)
    yield s
    if s.p.poll() is None:
        s.stop()


def test_metrics_match_the_delivery_log(world, sender, served):
    rows = campaign_rows(20, 4, 3)
    r = send(sender, rows, extra_args=("--campaign", "metrics-one"))
    assert r.rc == 4, r.err
    assert wait_for(lambda: len(log_final(served, "metrics-one")) == len(rows), timeout=40), \
        log_final(served, "metrics-one")
    final = log_final(served, "metrics-one")
    want = {o: sum(1 for x in final.values() if x["outcome"] == o) for o in FINAL}
    assert want["delivered"] == 20 and want["bounced"] == 4 and want["expired"] == 3, want

    # the counts from the store are recounted in the background: wait for them
    def counted():
        fam, _ = scrape()
        return all(value(fam, "sluice_recipients", campaign="metrics-one", state=s) == want[s]
                   for s in FINAL) and \
            value(fam, "sluice_recipients", campaign="metrics-one", state="queued") == 0
    assert wait_for(counted, timeout=15, step=0.5)
    fam, body = scrape()

    # attempts by outcome: the log's records with a recipient, one per attempt
    attempts = [x for x in served.log() if x.get("campaign") == "metrics-one"
                and x.get("recipient") and x.get("outcome") != "danger"]
    for outcome in ("delivered", "bounced", "deferred", "expired"):
        n = sum(1 for x in attempts if x["outcome"] == outcome)
        assert value(fam, "sluice_attempts", outcome=outcome) == n, (outcome, n, body)
    # by tenant (the implicit one: no tenants declared), outcome and category
    for outcome in ("delivered", "bounced", "deferred", "expired"):
        n = sum(1 for x in attempts if x["outcome"] == outcome)
        assert value(fam, "sluice_tenant_attempts", tenant="default", outcome=outcome) == n, \
            (outcome, n, body)
    assert value(fam, "sluice_tenant_attempts", tenant="default", outcome="bounced",
                 category="invalid_recipient") == 4
    assert fam["sluice_tenant_attempts"].type == "counter"
    for s in FINAL:
        assert value(fam, "sluice_tenant_recipients", tenant="default", state=s) == want[s], \
            (s, body)
    assert value(fam, "sluice_tenant_recipients", tenant="default", state="queued") == 0
    # by category and provider: the bounces are invalid_recipient at "other",
    # the deferrals and expiries at the large provider its MX looks like
    assert value(fam, "sluice_attempts", outcome="bounced", category="invalid_recipient",
                 provider="other") == 4
    assert value(fam, "sluice_attempts", outcome="expired", provider="google") == 3
    assert value(fam, "sluice_attempts", outcome="deferred", provider="google") >= 3
    # the families and their types
    assert fam["sluice_attempts"].type == "counter"
    assert fam["sluice_group_commit_seconds"].type == "histogram"
    assert fam["sluice_event_loop_lag_seconds"].type == "histogram"
    commits = samples(fam, "sluice_group_commit_seconds", "sluice_group_commit_seconds_count")
    assert commits and commits[0].value > 0
    inf = samples(fam, "sluice_group_commit_seconds", "sluice_group_commit_seconds_bucket",
                  le="+Inf")
    assert inf[0].value == commits[0].value
    lag = samples(fam, "sluice_event_loop_lag_seconds", "sluice_event_loop_lag_seconds_count")
    assert lag and lag[0].value > 0
    build = samples(fam, "sluice_build_info")
    assert build and build[0].labels["version"] and build[0].value == 1
    start = value(fam, "process_start_time_seconds")
    assert time.time() - 120 < start <= time.time()
    assert value(fam, "sluice_connections") >= 0
    assert value(fam, "sluice_in_flight_recipients") == 0
    sites = {s.labels["site"] for s in samples(fam, "sluice_site_connections")}
    assert any("sink.test" in s for s in sites), sites
    assert "sluice_danger_signs" in fam
    # never an address
    assert "@" not in body
    # counters only grow
    before = value(fam, "sluice_attempts")
    time.sleep(1.1)
    fam2, _ = scrape()
    assert value(fam2, "sluice_attempts") >= before


def test_status_needs_the_token(world, sender, served):
    rows = campaign_rows(3, 1, 0, tag="s")
    r = send(sender, rows, extra_args=("--campaign", "metrics-status"))
    assert r.rc == 4, r.err
    assert wait_for(lambda: len(log_final(served, "metrics-status")) == len(rows), timeout=30)

    status, headers, _ = get("/status")
    assert status == 401 and headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert get("/status", token=TOKEN[:-1] + "x")[0] == 401
    assert get("/status", token="")[0] == 401
    assert get("/metrics")[0] == 401  # /metrics needs it too unless metrics_public

    def status_json():
        st, _, body = get("/status", token=TOKEN)
        assert st == 200, body
        return json.loads(body)
    assert wait_for(lambda: any(c["id"] == "metrics-status" and c["delivered"] == 3
                                for c in status_json()["campaigns"]), timeout=15, step=0.5)
    # a one-shot control shows, with what the running serve did
    subprocess.run([SLUICE, "site", "retry", "--provider", "google", "--reason",
                    "status shows it", "--state", sender.state], check=True,
                   capture_output=True)
    assert wait_for(lambda: any(x["kind"] == "retry" and x["target"] == "google" and
                                x["reason"] == "status shows it" and x["done"] and
                                x["result"].endswith("sites retried now")
                                for x in status_json()["controls"]), timeout=15, step=0.5)
    doc = status_json()
    c = [c for c in doc["campaigns"] if c["id"] == "metrics-status"][0]
    assert (c["bounced"], c["ready"], c["later"], c["total"], c["paused"]) == (1, 0, 0, 4, None)
    assert doc["sites_total"] >= 1 and any("sink.test" in s["site"] for s in doc["sites"])
    assert doc["delivery"]["delivered"] >= 3
    # other paths still go to the unsubscribe endpoint; other methods are refused
    assert get("/u/not-a-token")[0] == 404
    c = http.client.HTTPConnection(HOST, PORT, timeout=5)
    c.request("POST", "/status", body="x", headers={"Authorization": f"Bearer {TOKEN}"})
    assert c.getresponse().status == 405
    c.close()


def test_metrics_public_and_no_token(world, sender):
    s = Served(sender, extra={"http": {"metrics_public": "true"}})
    try:
        st, headers, body = get("/metrics")
        assert st == 200 and "sluice_build_info" in body
        assert get("/status", token="anything-at-all-0123")[0] == 404  # no token: off
    finally:
        s.stop()


def test_scrape_flood_does_not_slow_delivery(world, sender, served):
    """Scrapes from 12 client addresses, as fast as they go, while a campaign
    is delivered: the listener's per-client rate (10/s) answers the excess
    with 429, delivery takes about as long as without the flood, every 200
    parses, and serve still serves."""
    def run(campaign, tag):
        rows = campaign_rows(150, 0, 0, tag=tag)
        t0 = time.monotonic()
        r = send(sender, rows, extra_args=("--campaign", campaign))
        assert r.rc == 4, r.err
        assert wait_for(lambda: len(log_final(served, campaign)) == len(rows), timeout=60)
        return time.monotonic() - t0

    quiet = run("metrics-quiet", "q")
    stop = threading.Event()
    codes, bad = [], []

    def flood(i):
        while not stop.is_set():
            try:
                st, _, body = get("/metrics", TOKEN, src=f"127.0.11.{i}", timeout=5)
                codes.append(st)
                if st == 200:
                    list(text_string_to_metric_families(body))
            except Exception as e:  # noqa: BLE001 - any failure is the finding
                bad.append(repr(e))
    threads = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(1, 13)]
    for t in threads:
        t.start()
    try:
        loud = run("metrics-loud", "l")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
    assert not bad, bad[:5]
    assert codes.count(200) > 0 and codes.count(429) > 0, (len(codes), set(codes))
    assert set(codes) <= {200, 429, 503}, set(codes)
    print(f"quiet {quiet:.2f}s, loud {loud:.2f}s, {len(codes)} scrapes, {codes.count(429)} 429")
    assert loud < quiet * 3 + 3, (quiet, loud)
    still_serving(served)
    fam, _ = scrape()
    assert value(fam, "sluice_recipients", campaign="metrics-loud", state="delivered") in (0, 150)
