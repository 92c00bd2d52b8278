"""A tenant paused and resumed by the operator (`sluice tenant pause`) and
by the tenant itself (POST /v1/pause, /v1/resume) on a running `sluice
serve`: within about a second nothing more of its campaign is delivered
(the real Postfix at mx.ok.test, paced to 4 messages a second over one
connection) and its submissions are refused, while another tenant goes on;
the pause shows in `sluice queue` and /status with its reason and end,
survives a restart, and its --for ends it by itself.

Recipients: user530-user559@ok.test (no other test uses them). The API
listens on INBOUND_IP:8031, /status on INBOUND_IP:8025."""
import json
import subprocess
import time

import pytest

import world as W
from conftest import SLUICE, maildir_files, wait_for
from test_api import API_HOST, API_PORT, KEY, call
from test_api_campaigns import KEY2, TEMPLATE, tenants_yaml
from test_dkim import dkim_yaml
from test_metrics import get
from test_security import Served

TOKEN = "tenant-status-token-0123456789"
EXTRA = {"api": {"listen": f"{API_HOST}:{API_PORT}", "max_body": "1MB", "timeout": "10s"},
         "http": {"status_token": TOKEN}}
POLICY = """policies:
  - domain: ok.test
    message_rate: 4/s
    max_connections: 1
"""


def start(world, sender):
    s = Served(sender, EXTRA, tenants_yaml() + POLICY + dkim_yaml(world))
    W.wait_port(API_HOST, API_PORT)
    return s


@pytest.fixture
def served(world, sender):
    s = start(world, sender)
    yield s
    if s.p.poll() is None:
        s.stop()


def ctl(s, *args, rc=0):
    r = subprocess.run([SLUICE, *args, "--config", s.cfg, "--state", s.sender.state],
                       capture_output=True, text=True)
    assert r.returncode == rc, (r.stdout, r.stderr)
    return r.stdout + r.stderr


def delivered(s, campaign):
    return {x["recipient"] for x in s.log()
            if x.get("campaign") == campaign and x.get("outcome") == "delivered"}


def status():
    st, _, body = get("/status", TOKEN)
    assert st == 200, body
    return json.loads(body)


def tenant_pauses():
    return [p for p in status()["pauses"] if p["scope"] == "tenant"]


def campaign(name, users):
    return {"name": name, "template": TEMPLATE,
            "recipients": [{"email": f"user{n}@ok.test", "fields": {"name": "T", "code": n}}
                           for n in users]}


def message(to, frm="app@news.sluice.test"):
    return {"from": frm, "to": to, "subject": "tenant controls", "text": "x"}


def test_cli_pause_holds_the_tenant_survives_a_restart_and_resumes(world, sender, served):
    s = served
    st, out, _ = call("POST", "/v1/campaigns", campaign("tc-cli", range(530, 550)))
    assert st == 202 and out["queued"] == 20, out
    assert wait_for(lambda: len(delivered(s, "tc-cli")) >= 3, timeout=30)
    out = ctl(s, "tenant", "pause", "acme", "--reason", "invoice unpaid")
    assert "tenant acme paused until resumed: invoice unpaid" in out, out
    time.sleep(1.5)  # taken within a second; what was in flight finishes
    held = len(delivered(s, "tc-cli"))
    time.sleep(2.5)
    assert len(delivered(s, "tc-cli")) == held and held < 20
    # its submissions are refused (temporary), another tenant's are not
    st, out, _ = call("POST", "/v1/messages", message(["user550@ok.test"]))
    assert st == 503 and out["error"]["code"] == "tenant_paused", (st, out)
    assert "invoice unpaid" in out["error"]["message"], out
    st, out, _ = call("POST", "/v1/messages", message(["user551@ok.test"],
                                                      "app@other.sluice.test"), key=KEY2)
    assert st == 202, out
    # shown with its reason
    q = ctl(s, "queue")
    assert "paused tenant acme until resumed: invoice unpaid" in q, q
    assert wait_for(lambda: any(p["target"] == "acme" and p["reason"] == "invoice unpaid"
                                and p["until"] is None for p in tenant_pauses()), timeout=10)
    # a restart keeps it
    s.stop()
    s = start(world, sender)
    try:
        time.sleep(3)
        assert len(delivered(s, "tc-cli")) == held
        st, out, _ = call("POST", "/v1/messages", message(["user550@ok.test"]))
        assert st == 503 and out["error"]["code"] == "tenant_paused", (st, out)
        out = ctl(s, "tenant", "resume", "acme")
        assert "tenant acme resumed" in out, out
        assert wait_for(lambda: len(delivered(s, "tc-cli")) > held, timeout=3), \
            "not resumed within a few seconds"
        assert wait_for(lambda: len(delivered(s, "tc-cli")) == 20, timeout=30)
        st, out, _ = call("POST", "/v1/messages", message(["user550@ok.test"]))
        assert st == 202, out
        ctl(s, "tenant", "resume", "acme", rc=1)
        assert "paused tenant" not in ctl(s, "queue")
    finally:
        if s.p.poll() is None:
            s.stop()


def test_api_pause_for_a_while_ends_by_itself(world, sender, served):
    s = served
    status()  # /status counts from now on
    st, out, _ = call("POST", "/v1/pause", {"for": 4, "reason": "migrating"})
    assert st == 200 and out["status"] == "paused" and out["until"], out
    assert out["reason"] == "migrating" and out["tenant"] == "acme", out
    t0 = time.time()
    time.sleep(1.1)
    st, out, _ = call("POST", "/v1/messages", message(["user552@ok.test"]))
    assert st == 503 and out["error"]["code"] == "tenant_paused", (st, out)
    st, out, _ = call("POST", "/v1/campaigns", campaign("tc-api", range(553, 556)))
    assert st == 202, out
    q = ctl(s, "queue")
    assert "paused tenant acme for " in q and "migrating" in q, q
    # /status recounts in the background: the first asking starts it
    assert wait_for(lambda: any(p["target"] == "acme" and p["until"] and
                                p["reason"] == "migrating" for p in tenant_pauses()),
                    timeout=2, step=0.2)
    time.sleep(1.5)
    assert not delivered(s, "tc-api")  # held with its tenant
    # the pause ends by itself at its time
    assert wait_for(lambda: call("POST", "/v1/messages",
                                 message(["user552@ok.test"]))[0] == 202, timeout=10)
    # its end is a whole second (until = the second of the request + 4):
    # up to a second before t0 + 4
    assert time.time() - t0 >= 2.9
    assert wait_for(lambda: len(delivered(s, "tc-api")) == 3, timeout=20)
    maildir_files(world, "ok.test", "user552", timeout=30)
    assert "paused tenant" not in ctl(s, "queue")
    # pause until resumed, then resumed through the API
    st, out, _ = call("POST", "/v1/pause", {"reason": "hold"})
    assert st == 200 and out["until"] is None, out
    st, out, _ = call("POST", "/v1/resume", {"reason": "done"})
    assert st == 200 and out["status"] == "running", out
    st, out, _ = call("POST", "/v1/resume")
    assert st == 409 and out["error"]["code"] == "not_paused", out
    st, out, _ = call("POST", "/v1/pause", {"for": "soon"})
    assert st == 400 and out["error"]["field"] == "for", out


def test_tenant_controls_refuse_bad_input(tmp_path, world, sender, served):
    s = served
    out = ctl(s, "tenant", "pause", "nosuch", "--reason", "x", rc=2)
    assert "declares no tenant 'nosuch'" in out and "acme" in out, out
    out = ctl(s, "tenant", "pause", "acme", rc=2)  # no reason
    assert "usage:" in out
    out = ctl(s, "tenant", "pause", "acme", "--for", "banana", "--reason", "x", rc=2)
    assert "bad --for 'banana'" in out
    out = ctl(s, "tenant", "resume", "acme", "--for", "2h", rc=2)
    assert "usage:" in out
    out = ctl(s, "tenant", "resume", "acme", rc=1)
    assert "was not paused" in out


def test_campaign_move_for_a_while_moves_back(world, sender):
    """`sluice campaign move --for`: the campaign leaves from the other
    pool's source, then from its own again once the time is up (the
    running serve moves it back). Two pools as in test_controls."""
    from test_controls import one_shot_config, queue_with
    cfg = one_shot_config(sender)
    p = subprocess.Popen([SLUICE, "serve", "--config", cfg, "--state", sender.state, "--force"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert W.wait_port(W.INBOUND_IP, 25) is not False

    def sent():
        from test_campaigns import _log
        return [x for x in _log(sender) if x.get("campaign") == "mvf"
                and x.get("outcome") == "delivered"]
    try:
        queue_with(sender, cfg, "mvf", [[f"user{u}@ok.test", "M", str(u)]
                                        for u in range(530, 554)])
        assert wait_for(lambda: len(sent()) >= 3, timeout=20)
        r = subprocess.run([SLUICE, "campaign", "move", "mvf", "--pool", "app", "--for", "3s",
                            "--reason", "try the new IP", "--config", cfg,
                            "--state", sender.state], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert "moved to pool app" in r.stdout and \
            "goes back to pool default in 3s" in r.stdout, r.stdout
        pending = subprocess.run([SLUICE, "queue", "--state", sender.state],
                                 capture_output=True, text=True).stdout
        assert "campaign mvf goes back to pool default in " in pending and \
            "try the new IP" in pending, pending
        assert wait_for(lambda: len(sent()) == 24, timeout=40), len(sent())
        q = subprocess.run([SLUICE, "queue", "--state", sender.state], capture_output=True,
                           text=True).stdout
    finally:
        from test_campaigns import stop
        stop(p)
    sources = [x["source_ip"] for x in sent()]
    assert sources[0] == W.SOURCE_IP and W.SOURCE2_IP in sources, sources
    assert sources[-1] == W.SOURCE_IP, sources  # back in its own pool
    first_app = sources.index(W.SOURCE2_IP)
    assert W.SOURCE_IP in sources[first_app:], sources
    assert len({x["recipient"] for x in sent()}) == 24  # nobody twice
    assert "control move campaign mvf to pool app: done" in q, q
    assert "control move campaign mvf to pool default: done" in q, q
