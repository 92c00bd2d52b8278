"""The identity watcher of a running `sluice serve` (serve/watch.c): a
DNSBL zone of the test resolver changed while serve runs (unbound-control)
lists the default pool's source (SOURCE_IP); within the check period
(watch.interval 2s) that source is paused with the listing as its reason
and a danger sign, while the other source (SOURCE2_IP, pool app) keeps
delivering; the listing removed, the watcher lifts its pause and the rest
goes. Recipients user500..529@ok.test."""
import subprocess
import time

import pytest

import world as W
from conftest import SLUICE, merged, wait_for, yaml_text
from test_campaigns import delivered, _log, stop
from test_controls import ctl, queue_with

CONFIG = {
    "inbound": {"listen": f"{W.INBOUND_IP}:25"},
    "retry": {"min_backoff": "10m", "max_backoff": "10m", "max_lifetime": "1h"},
    "check": {"dnsbl": W.DNSBL_ZONE},
    "watch": {"interval": "2s"},
}
POLICY = """policies:
  - domain: ok.test
    message_rate: 2/s
    max_connections: 1
tenants:
  - name: spare
    pool: app
    sender_domains: [spare.sluice.test]
"""
REV = ".".join(reversed(W.SOURCE_IP.split("."))) + "." + W.DNSBL_ZONE


def config(sender):
    lines = yaml_text(merged(CONFIG), POLICY).split("\n")
    source2 = [f"  - ip: {W.SOURCE2_IP}", f"    helo: {W.SOURCE2_HELO}", "    pool: app"]
    return sender.write("serve.yaml", "\n".join(lines[:3] + source2 + lines[3:]))


def sent(sender, campaign):
    return [r for c, r in delivered(sender) if c == campaign]


def signs(sender):
    return [x for x in _log(sender) if x.get("outcome") == "danger"
            and x.get("source_ip") == W.SOURCE_IP]


@pytest.mark.slow
def test_watch_pauses_a_listed_source_and_lifts_it(world, sender):
    cfg = config(sender)
    p = subprocess.Popen([SLUICE, "serve", "--config", cfg, "--state", sender.state, "--force"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert W.wait_port(W.INBOUND_IP, 25) is not False
    listed = False
    try:
        queue_with(sender, cfg, "w1", [[f"user{u}@ok.test", "W", str(u)]
                                       for u in range(500, 515)])
        assert wait_for(lambda: len(sent(sender, "w1")) >= 2, timeout=30)
        assert not signs(sender)  # the first checks found it clean
        world.dns_control("local_data", f"{REV}. 300 IN A 127.0.0.2")
        world.dns_control("local_data", f'{REV}. 300 IN TXT "listed: watch test"')
        listed = True
        t0 = time.time()
        assert wait_for(lambda: signs(sender), timeout=10), "no danger sign"
        took = time.time() - t0
        assert took < 6, took  # within the check period (2 s) and a check
        sg = signs(sender)[0]
        assert sg["category"] == "source_listed", sg
        assert "bl.sluice.test: listed: watch test" in sg["reply"], sg
        time.sleep(1.5)  # taken within a second; what was in flight finishes
        held = len(sent(sender, "w1"))
        q = ctl(sender, "queue")
        assert f"source {W.SOURCE_IP}" in q and "watch: listed on bl.sluice.test" in q, q
        # the other source goes on: a campaign moved to pool app delivers
        queue_with(sender, cfg, "w2", [[f"user{u}@ok.test", "V", str(u)]
                                       for u in range(515, 530)])
        r = subprocess.run([SLUICE, "campaign", "move", "w2", "--pool", "app", "--config", cfg,
                            "--state", sender.state], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert wait_for(lambda: len(sent(sender, "w2")) == 15, timeout=30), sent(sender, "w2")
        assert len(sent(sender, "w1")) == held < 15  # nothing from the listed source
        w2 = [x for x in _log(sender) if x.get("campaign") == "w2"
              and x.get("outcome") == "delivered"]
        assert {x["source_ip"] for x in w2} == {W.SOURCE2_IP}
        # delisted: the watcher's pause is lifted, the rest of w1 goes
        world.dns_control("local_data_remove", REV)
        listed = False
        assert wait_for(lambda: len(sent(sender, "w1")) == 15, timeout=30), sent(sender, "w1")
        assert "watch: listed" not in ctl(sender, "queue")
    finally:
        if listed:
            world.dns_control("local_data_remove", REV)
        err = stop(p)
    assert f"watch: source {W.SOURCE_IP} paused: listed on bl.sluice.test" in err, err
    assert f"watch: source {W.SOURCE_IP} is fine again" in err, err
    assert f"danger: campaign *: source_listed: source {W.SOURCE_IP}" in err, err
    # the sign is kept with the campaign being delivered then
    rep = subprocess.run([SLUICE, "report", "--campaign", "w1", "--state", sender.state],
                         capture_output=True, text=True).stdout
    assert "source_listed" in rep and "bl.sluice.test: listed: watch test" in rep, rep


def test_watch_checks_at_once_after_a_blocklist_reply(world, sender):
    """watch.interval 1h: after the check at start, the listing is found
    only because delivery saw a blocklist-style reply ("blocked using", a
    reputation_block) and checked at once."""
    cfg = yaml_text(merged(dict(CONFIG, watch={"interval": "1h", "after_block": "1s"})))
    cfg = sender.write("serve1h.yaml", cfg)
    p = subprocess.Popen([SLUICE, "serve", "--config", cfg, "--state", sender.state, "--force"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert W.wait_port(W.INBOUND_IP, 25) is not False
    listed = False
    try:
        time.sleep(2)  # the check at start is done: the source was clean
        world.dns_control("local_data", f"{REV}. 300 IN A 127.0.0.2")
        world.dns_control("local_data", f'{REV}. 300 IN TXT "listed: after a block"')
        listed = True
        time.sleep(3)
        assert not signs(sender)  # no scheduled check for an hour
        queue_with(sender, cfg, "bl", [["rcptbl-watch@faults.test", "B", "1"]])
        assert wait_for(lambda: any(x.get("category") == "reputation_block"
                                    for x in _log(sender)), timeout=20)
        assert wait_for(lambda: signs(sender), timeout=5), "no check after the block"
        assert "listed: after a block" in signs(sender)[0]["reply"]
        q = ctl(sender, "queue")
        assert "watch: listed on bl.sluice.test" in q, q
    finally:
        if listed:
            world.dns_control("local_data_remove", REV)
        stop(p)


def test_watch_pauses_a_source_whose_spf_stops_passing(world, sender):
    """SPF of the From domain passed at start; a second SPF record (a
    permerror) published while serve runs pauses the source with the SPF
    result as the reason; the record taken back, the pause is lifted."""
    dom = "news.sluice.test"
    spf = f"v=spf1 ip4:{W.SOURCE_IP} ip4:{W.SOURCE2_IP} -all"
    cfg = sender.write("servespf.yaml", yaml_text(merged(CONFIG)))
    p = subprocess.Popen([SLUICE, "serve", "--config", cfg, "--state", sender.state, "--force"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert W.wait_port(W.INBOUND_IP, 25) is not False
    changed = False

    def restore():
        world.dns_control("local_data_remove", dom)
        world.dns_control("local_data", f'{dom}. 300 IN TXT "{spf}"')
        world.dns_control("local_data", f"{dom}. 300 IN MX 10 mx.ok.test.")

    try:
        time.sleep(2.5)  # the check at start passed
        world.dns_control("local_data", f'{dom}. 300 IN TXT "v=spf1 -all"')
        changed = True
        assert wait_for(lambda: signs(sender), timeout=10), "no danger sign"
        sg = signs(sender)[0]
        assert sg["category"] == "source_identity", sg
        assert f"SPF of {dom}: permerror" in sg["reply"], sg
        assert "watch: SPF of news.sluice.test" in ctl(sender, "queue")
        restore()
        changed = False
        assert wait_for(lambda: "watch: SPF" not in ctl(sender, "queue"), timeout=10)
    finally:
        if changed:
            restore()
        err = stop(p)
    assert f"watch: source {W.SOURCE_IP} is fine again" in err, err


def test_watch_ends_a_block_when_the_source_is_not_listed(world, sender):
    """A blocklist-style reply naming a check.dnsbl zone ("blocked using
    bl.sluice.test") blocks (faults.test, SOURCE_IP) and makes the watcher
    check at once; the source is on no zone, so that check pauses nothing
    and the next one (watch.interval 3s) ends the block early: the parked
    mail is retried from its own source at once, not after the block's 6
    hours (the receiver still refuses it, so it is blocked again)."""
    cfg = yaml_text(merged(dict(CONFIG, watch={"interval": "3s", "after_block": "1s"})))
    cfg = sender.write("servelift.yaml", cfg)
    p = subprocess.Popen([SLUICE, "serve", "--config", cfg, "--state", sender.state, "--force"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert W.wait_port(W.INBOUND_IP, 25) is not False

    def blocks():
        return [x for x in _log(sender) if x.get("outcome") == "source_blocked"
                and x.get("source_ip") == W.SOURCE_IP]

    try:
        time.sleep(1.5)  # the check at start is done
        queue_with(sender, cfg, "lift", [["rcptbl-lift@faults.test", "L", "1"]])
        assert wait_for(lambda: blocks(), timeout=20), "no block"
        assert "blocked using bl.sluice.test" in blocks()[0]["reply"]
        assert wait_for(lambda: len(blocks()) >= 2, timeout=20), "the block did not end early"
        assert not signs(sender)  # not listed: never paused
    finally:
        err = stop(p)
    assert f"source {W.SOURCE_IP}: its block at mx.faults.test ends early: watch: listed on " \
        "none of the check.dnsbl zones now" in err, err
    assert f"watch: source {W.SOURCE_IP} is on none of the check.dnsbl zones: 1 block(s)" in err
