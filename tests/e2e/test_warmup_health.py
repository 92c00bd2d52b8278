"""Health-gated warm-up (shape/warmup.h, engine/warm_health.c): a day's
growth needs the day before at that provider (or site) under the deferral,
block and complaint limits. Day 1 at the scripted receiver (faults.test):
3 of 10 attempts deferred (30%, over warmup.max_deferrals 10%); day 2 (the
test-only clock offset, as the warm-up test in test_shaping.py) keeps day
1's cap of 10 per site instead of doubling it, with the reason logged. The
counts and the level live in the store: the second day is another process."""
import json
import os
import signal
import subprocess

from conftest import SLUICE, fault_records, merged, wait_for, yaml_text

TAG = "whealth"
SOURCE = ("sources:\n  - ip: 127.0.0.10\n    helo: mta1.sluice.test\n"
          "    warmup_day1: 100\n    warmup_site_day1: 10\n    warmup_growth: 2\n")
# one attempt a day for a deferred recipient
RETRY = {"retry": {"min_backoff": "10m", "max_backoff": "10m", "max_lifetime": "5d"}}


def argv(sender, campaign, rows):
    sender.rows(rows)
    base = yaml_text(merged(RETRY)).split("\n", 3)[3]  # without the default source
    path = sender.write("warm.yaml", SOURCE + base)
    a = sender.args(extra_args=("--campaign", campaign))
    a[a.index("--config") + 1] = path
    return a


def log(sender):
    path = os.path.join(sender.state, "delivery.log")
    return ([json.loads(x) for x in open(path) if x.endswith("\n")]
            if os.path.exists(path) else [])


def got(world, campaign_tag):
    return [x for x in fault_records(world) if f"-{campaign_tag}-" in x["rcpt_tos"][0]
            and x.get("outcome", "250") == "250"]


def run_until(a, pred, env=None):
    p = subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    ok = wait_for(pred, timeout=60)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    assert ok, err
    return err


def test_warmup_health_deferrals_hold_the_next_days_cap(world, sender):
    # day 1: 3 deferred (rcpt451) and 7 delivered at mx.faults.test: all
    # under the day's cap of 10, 30% of the attempts deferred
    rows = [[f"rcpt451-{TAG}1-{i}@faults.test", "W", str(i)] for i in range(3)] + \
           [[f"ok-{TAG}1-{i}@faults.test", "W", str(i)] for i in range(7)]
    a = argv(sender, "wh1", rows)

    def day1_done():
        recs = [x for x in log(sender) if x.get("campaign") == "wh1"]
        return len([x for x in recs if x["outcome"] in ("delivered", "deferred")]) == 10

    run_until(a, day1_done)
    recs = [x for x in log(sender) if x.get("campaign") == "wh1"]
    assert len([x for x in recs if x["outcome"] == "delivered"]) == 7
    assert not [x for x in recs if x["stage"] == "warmup"]  # nothing over day 1's cap

    # day 2: healthy, the per-site cap would be 20; held, it stays 10
    rows = [[f"ok-{TAG}2-{i}@faults.test", "W", str(i)] for i in range(25)]
    a = argv(sender, "wh2", rows)
    env = dict(os.environ, SLUICE_TEST_NOW_OFFSET_S="86400")

    def day2_parked():
        return len([x for x in log(sender) if x.get("campaign") == "wh2"
                    and x["stage"] == "warmup"]) == 15

    err = run_until(a, day2_parked, env=env)
    recs = [x for x in log(sender) if x.get("campaign") == "wh2"]
    assert len([x for x in recs if x["outcome"] == "delivered"]) == 10
    assert len(got(world, f"{TAG}2")) == 10
    warm = [x for x in recs if x["stage"] == "warmup"]
    assert "warm-up: day 2 cap of 10 messages per site" in warm[0]["reply"], warm[0]
    assert "held the day before: 3 of 10 attempts deferred (30.0%, over 10.0%)" in \
        warm[0]["reply"], warm[0]
    assert "day 2 keeps the caps of day 1" in err, err
    # `sluice queue` shows each group's level and why
    q = subprocess.run([SLUICE, "queue", "--state", sender.state], capture_output=True,
                       text=True).stdout
    line = [x for x in q.splitlines() if x.startswith("warm-up 127.0.0.10 at mx.faults.test")]
    assert line and "caps of day 1 on" in line[0] and \
        "held the day before: 3 of 10 attempts deferred" in line[0], q


SECRET = "test-secret-0123456789"


def test_warmup_health_a_complaint_steps_the_caps_back(world, sender, tmp_path):
    """Day 1: 10 delivered from the warm-up source, then an ARF complaint
    about one of them (`sluice bounces import`): 10% of the day's attempts,
    over warmup.max_complaints (0.1%). Day 2 steps back instead of growing:
    the per-site cap stays day 1's 10."""
    import hashlib
    import hmac
    import sqlite3
    bounce = {"bounce": {"domain": "bounce.sluice.test", "secret": SECRET}}
    tag = f"{TAG}c"

    def argv_b(campaign, rows):
        sender.rows(rows)
        base = yaml_text(merged(dict(RETRY, **bounce))).split("\n", 3)[3]
        path = sender.write("warmc.yaml", SOURCE + base)
        a = sender.args(extra_args=("--campaign", campaign))
        a[a.index("--config") + 1] = path
        return a, path

    a, cfg = argv_b("whc1", [[f"ok-{tag}1-{i}@faults.test", "W", str(i)] for i in range(10)])
    r = subprocess.run(a, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    db = sqlite3.connect(os.path.join(sender.state, "queue.db"))
    salt, rid = db.execute("SELECT c.salt, r.id FROM recipient r JOIN campaign c"
                           " ON r.campaign = c.id WHERE r.mailbox = ?",
                           (f"ok-{tag}1-3@faults.test",)).fetchone()
    db.close()
    mac = hmac.new(SECRET.encode(), f"bounce:{salt}.{rid}".encode(), hashlib.sha256)
    verp = f"bounces+{salt}.{rid}.{mac.hexdigest()[:16]}@bounce.sluice.test"
    arf = open(os.path.join(os.path.dirname(__file__), "..", "golden", "reports",
                            "real-yahoo-fbl-v1.eml"), "rb").read()
    arf = arf.replace(b"Original-Mail-From: <shironeko@example.com>",
                      f"Original-Mail-From: <{verp}>".encode())
    md = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (md / sub).mkdir(parents=True)
    (md / "new" / "1.eml").write_bytes(arf)
    p = subprocess.run([SLUICE, "bounces", "import", "--config", cfg, "--state", sender.state,
                        str(md)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "complaint" in p.stdout, p.stdout

    a, _ = argv_b("whc2", [[f"ok-{tag}2-{i}@faults.test", "W", str(i)] for i in range(25)])
    env = dict(os.environ, SLUICE_TEST_NOW_OFFSET_S="86400")

    def day2_parked():
        return len([x for x in log(sender) if x.get("campaign") == "whc2"
                    and x["stage"] == "warmup"]) == 15

    err = run_until(a, day2_parked, env=env)
    recs = [x for x in log(sender) if x.get("campaign") == "whc2"]
    assert len([x for x in recs if x["outcome"] == "delivered"]) == 10
    warm = [x for x in recs if x["stage"] == "warmup"]
    assert "warm-up: day 2 cap of 10 messages per site" in warm[0]["reply"], warm[0]
    assert "stepped back the day before: 1 of 10 attempts drew complaints (10.0%, over 0.1%)" \
        in warm[0]["reply"], warm[0]
    assert "day 2 keeps the caps of day 1" in err, err
