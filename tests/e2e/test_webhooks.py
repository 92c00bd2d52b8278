"""Events pushed to webhooks by `sluice serve` (docs/operations.md,
"Webhooks"): a Python receiver on a loopback address checks every
signature; each recipient's final event arrives, ids are unique once
deduplicated; a receiver answering 500 at first gets everything later; a
dead or silent endpoint does not slow delivery and its backlog shows in
/metrics; after kill -9 of serve, the events arrive once it is back."""
import hashlib
import hmac
import http.server
import json
import os
import signal
import socket
import subprocess
import threading
import time

import world as W
from conftest import SLUICE, merged, wait_for, yaml_text
from test_campaigns import _log, stop

RECV_IP = "127.0.8.1"
SECRET = "whsec-test-0123456789abcdef"
HTTP_LISTEN = f"{W.INBOUND_IP}:8026"
CONFIG = {
    "inbound": {"listen": f"{W.INBOUND_IP}:25", "http_listen": HTTP_LISTEN},
    "http": {"metrics_public": "true"},
    "retry": {"min_backoff": "1s", "max_backoff": "1s", "max_lifetime": "60s"},
}
POLICY = """policies:
  - domain: ok.test
    message_rate: 20/s
    max_connections: 2
"""


class Receiver:
    """Records what it is POSTed; answers 500 to the first `fail` requests."""

    def __init__(self, port, fail=0, delay=0):
        self.port, self.fail, self.delay = port, fail, delay
        self.requests, self.events, self.bad = 0, [], []
        self.lock = threading.Lock()
        rcv = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if rcv.delay:
                    time.sleep(rcv.delay)
                ts = self.headers.get("X-Sluice-Timestamp", "")
                want = "v1=" + hmac.new(SECRET.encode(), ts.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
                with rcv.lock:
                    rcv.requests += 1
                    failing = rcv.requests <= rcv.fail
                    if (self.headers.get("X-Sluice-Signature") != want
                            or self.headers.get("Content-Type") != "application/json"
                            or abs(time.time() - int(ts)) > 300):
                        rcv.bad.append(dict(self.headers))
                    elif not failing:
                        rcv.events.extend(json.loads(body)["events"])
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer((RECV_IP, port), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://{RECV_IP}:{self.port}/hook"

    def by_id(self):
        with self.lock:
            out = {}
            for e in self.events:
                if e["id"] in out:
                    assert out[e["id"]] == e  # a duplicate is the same event
                out[e["id"]] = e
            return out

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def hook(url, **kw):
    return {"url": url, "secret": SECRET, **kw}


def start_serve(sender, webhooks):
    extra = POLICY
    if webhooks:
        extra += "webhooks:\n" + "".join(
            "  - " + "\n    ".join(f"{k}: {v}" for k, v in w.items()) + "\n" for w in webhooks)
    cfg = sender.write("serve.yaml", yaml_text(merged(CONFIG), extra))
    p = subprocess.Popen([SLUICE, "serve", "--config", cfg, "--state", sender.state, "--force"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        W.wait_port(W.INBOUND_IP, 25)
    except RuntimeError:
        p.kill()
        raise AssertionError(p.communicate()[1])
    return p


def queue(sender, name, addrs):
    sender.rows([[a, name, "1"] for a in addrs])
    r = sender.run(config=CONFIG, extra_yaml=POLICY, extra_args=("--campaign", name))
    assert r.rc == 4, r.err


def finals(sender):
    """recipient -> final outcome, from the delivery log."""
    return {x["recipient"]: x["outcome"] for x in _log(sender)
            if x.get("outcome") in ("delivered", "bounced") and x.get("recipient")}


def final_events(rcv):
    return {e["recipient"]: e["type"] for e in rcv.by_id().values()
            if e["type"] in ("delivered", "bounced")}


_scrapes = [0]


def metric(name, endpoint):
    """One sample of /metrics, from a new loopback source each time (the
    listener limits requests per client address)."""
    import http.client
    _scrapes[0] += 1
    host, port = HTTP_LISTEN.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=5,
                                   source_address=(f"127.0.12.{_scrapes[0] % 250 + 1}", 0))
    try:
        c.request("GET", "/metrics", headers={"Connection": "close"})
        r = c.getresponse()
        assert r.status == 200, r.status
        body = r.read().decode()
    finally:
        c.close()
    for line in body.splitlines():
        if line.startswith(f'{name}{{endpoint="{endpoint}"}} '):
            return float(line.split()[-1])
    return None


def test_every_final_event_arrives_signed_after_500s(world, sender):
    rcv = Receiver(8101, fail=3)
    addrs = [f"user{u}@ok.test" for u in range(360, 368)] + ["nosuch-wh1@ok.test",
                                                               "nosuch-wh2@ok.test"]
    p = start_serve(sender, [hook(rcv.url, max_batch=4)])
    try:
        queue(sender, "wh", addrs)
        assert wait_for(lambda: len(finals(sender)) == len(addrs), timeout=40)
        # the first three POSTs got 500: the events come later, none lost
        assert wait_for(lambda: final_events(rcv) == finals(sender), timeout=30), \
            (final_events(rcv), finals(sender))
        assert wait_for(lambda: any(e["type"] == "campaign_finished"
                                    for e in rcv.by_id().values()), timeout=15)
        fails = metric("sluice_webhook_failures_total", rcv.url)
        assert fails is not None and fails >= 3
    finally:
        stop(p)
        rcv.close()
    assert rcv.requests > 3 and not rcv.bad
    evs = rcv.by_id()
    assert len(evs) == len({e["id"] for e in rcv.events})
    b = [e for e in evs.values() if e["type"] == "bounced"]
    assert {e["recipient"] for e in b} == {"nosuch-wh1@ok.test", "nosuch-wh2@ok.test"}
    assert all(e["data"]["stage"] == "rcpt" and e["data"]["code"] == 550 and
               e["data"]["category"] for e in b), b
    d = [e for e in evs.values() if e["type"] == "delivered"]
    assert all(e["campaign"] == "wh" and e["tenant"] == "default" and
               e["data"]["code"] == 250 for e in d)
    ids = [e["id"] for e in evs.values()]
    assert all(len(i) == 32 for i in ids)


def silent_listener():
    """A TCP port that accepts connections and never answers."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((RECV_IP, 8103))
    s.listen(64)
    return s


def test_dead_endpoints_do_not_slow_delivery(world, sender, tmp_path):
    addrs = [f"user{u}@ok.test" for u in range(368, 380)]
    # without webhooks
    p = start_serve(sender, [])
    try:
        t0 = time.monotonic()
        queue(sender, "base", addrs)
        assert wait_for(lambda: len(finals(sender)) == len(addrs), timeout=40)
        alone = time.monotonic() - t0
    finally:
        stop(p)
    # with a refused endpoint and one that never answers
    from conftest import Sender
    other = Sender(str(tmp_path / "second"))
    os.makedirs(other.d, exist_ok=True)
    hole = silent_listener()
    dead = f"http://{W.DEAD_IP}:8102/hook"
    silent = f"http://{RECV_IP}:8103/hook"
    p = start_serve(other, [hook(dead), hook(silent, timeout="2s")])
    try:
        t0 = time.monotonic()
        queue(other, "dead", addrs)
        assert wait_for(lambda: len(finals(other)) == len(addrs), timeout=40)
        took = time.monotonic() - t0
        assert took < alone * 1.5 + 1.0, (took, alone)
        assert wait_for(lambda: (metric("sluice_webhook_backlog", dead) or 0) >= len(addrs),
                        timeout=10)
        assert (metric("sluice_webhook_backlog", silent) or 0) >= len(addrs)
        t0 = time.monotonic()
    finally:
        err = stop(p)
        hole.close()
    assert time.monotonic() - t0 < 5  # a POST under way does not hold SIGTERM
    assert "webhook http://127.0.1.99:8102/hook:" in err


def test_kill9_then_restart_delivers_every_event(world, sender):
    rcv = Receiver(8104, fail=10 ** 6)  # down while serve runs the first time
    addrs = [f"user{u}@ok.test" for u in range(360, 372)]
    p = start_serve(sender, [hook(rcv.url, max_batch=3)])
    try:
        queue(sender, "k9", addrs)
        assert wait_for(lambda: len(finals(sender)) == len(addrs), timeout=40)
        time.sleep(0.5)  # past the group commit
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    assert not rcv.events
    with rcv.lock:
        rcv.fail = 0
        rcv.requests = 0
    p = start_serve(sender, [hook(rcv.url, max_batch=3)])
    try:
        assert wait_for(lambda: final_events(rcv) == finals(sender), timeout=30), \
            (final_events(rcv), finals(sender))
    finally:
        stop(p)
        rcv.close()
    assert not rcv.bad
    rcv.by_id()  # duplicates, if any, are the same event under the same id


def test_operator_pauses_are_events(world, sender):
    """A site paused for a while and a tenant paused and resumed by the
    operator: site_paused, site_resumed (its --for ended), site_restored
    (the engine saw the site free again), tenant_paused, tenant_resumed.
    Recipients: user556-user557@ok.test."""
    rcv = Receiver(8105)
    addrs = ["user556@ok.test", "user557@ok.test"]
    p = start_serve(sender, [hook(rcv.url)])

    def ctl(*args):
        r = subprocess.run([SLUICE, *args, "--state", sender.state], capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stderr

    def of(type_):
        return [e for e in rcv.by_id().values() if e["type"] == type_]
    try:
        queue(sender, "whp", addrs)
        assert wait_for(lambda: len(finals(sender)) == len(addrs), timeout=40)
        ctl("site", "pause", "mx.ok.test", "--for", "3s", "--reason", "wh pause")
        ctl("tenant", "pause", "default", "--reason", "wh tenant")
        ctl("tenant", "resume", "default")
        assert wait_for(lambda: of("site_restored") and of("site_resumed")
                        and of("tenant_resumed"), timeout=30), \
            sorted(e["type"] for e in rcv.by_id().values())
    finally:
        stop(p)
        rcv.close()
    assert not rcv.bad
    sp = of("site_paused")
    assert len(sp) == 1 and sp[0]["tenant"] is None, sp
    assert sp[0]["data"]["scope"] == "site" and sp[0]["data"]["target"] == "mx.ok.test"
    assert sp[0]["data"]["reason"] == "wh pause" and sp[0]["data"]["until"], sp
    sr = of("site_resumed")
    assert sr[0]["data"]["target"] == "mx.ok.test" and "time ran out" in \
        sr[0]["data"]["reason"], sr
    assert any(e["data"]["site"] == "mx.ok.test" for e in of("site_restored")), \
        of("site_restored")
    tp, tr = of("tenant_paused"), of("tenant_resumed")
    assert len(tp) == 1 and tp[0]["tenant"] == "default", tp
    assert tp[0]["data"]["reason"] == "wh tenant" and tp[0]["data"]["until"] is None, tp
    assert len(tr) == 1 and tr[0]["tenant"] == "default", tr
    assert sp[0]["time"] <= sr[0]["time"]


def test_a_slow_endpoint_does_not_delay_another(world, sender):
    """Two endpoints: one answers each POST after 2.5 s, the other at once.
    The fast one gets its events, one per POST, as they happen: none waits
    behind the slow one's POSTs (one after the other, five would take more
    than 12 s). Recipients: user556-user559@ok.test."""
    slow, fast = Receiver(8106, delay=2.5), Receiver(8107)
    addrs = [f"user{u}@ok.test" for u in range(556, 560)]
    p = start_serve(sender, [hook(slow.url, timeout="5s", max_batch=1),
                             hook(fast.url, max_batch=1)])
    try:
        time.sleep(1)  # the slow endpoint's first POSTs are under way or due
        queue(sender, "whslow", addrs)
        assert wait_for(lambda: len(finals(sender)) == len(addrs), timeout=40)
        t0 = time.monotonic()
        # 4 delivered events and campaign_finished, one POST each: behind
        # the slow endpoint's they would take 2.5 s each
        assert wait_for(lambda: final_events(fast) == finals(sender) and
                        any(e["type"] == "campaign_finished" for e in fast.by_id().values()),
                        timeout=4), (final_events(fast), finals(sender))
        took = time.monotonic() - t0
        assert took < 4, took
        # the slow one gets them too, in its own time
        assert wait_for(lambda: final_events(slow) == finals(sender), timeout=30)
    finally:
        stop(p)
        slow.close()
        fast.close()
    assert not fast.bad


def test_reload_sends_to_the_new_endpoint(world, sender):
    """A SIGHUP with another webhooks: section: the dispatcher starts again
    with it; what happens after goes to the new endpoint, not the old.
    Recipients: user461-user462@ok.test."""
    old, new = Receiver(8111), Receiver(8112)
    p = start_serve(sender, [hook(old.url)])
    try:
        queue(sender, "whr1", ["user461@ok.test"])
        assert wait_for(lambda: "user461@ok.test" in final_events(old), timeout=30), \
            final_events(old)
        hooks = "webhooks:\n  - " + "\n    ".join(
            f"{k}: {v}" for k, v in hook(new.url).items()) + "\n"
        sender.write("serve.yaml", yaml_text(merged(CONFIG), POLICY + hooks))
        p.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        queue(sender, "whr2", ["user462@ok.test"])
        assert wait_for(lambda: "user462@ok.test" in final_events(new), timeout=30), \
            final_events(new)
    finally:
        err = stop(p)
        old.close()
        new.close()
    assert "user462@ok.test" not in final_events(old)
    assert not old.bad and not new.bad
    assert "webhooks started again" in err, err[-2000:]
