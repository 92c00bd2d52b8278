"""Source failover (issue 12): a receiver that refuses one source IP with a
blocklist-style reply (the world's real Postfix with a check_client_access
restriction class for mta1, and a scripted receiver). The mail moves to the other source of the pool, the
receiver's log shows the switch, nothing bounces, nothing is suppressed,
nothing expires; the block is kept (a restart sends from the other source at
once) and shown by `sluice queue`. With a failover width of 1 the mail waits
(deferred, never bounced)."""
import collections
import subprocess

import world as W
from conftest import SLUICE, fault_records, maildir_files, merged, yaml_text

TWO_SOURCES = [f"  - ip: {W.SOURCE2_IP}", f"    helo: {W.SOURCE2_HELO}"]


def two_source_config(sender, overrides=None, extra=""):
    lines = yaml_text(merged(overrides), extra).split("\n")
    return sender.write("failover.yaml", "\n".join(lines[:3] + TWO_SOURCES + lines[3:]))


def send(sender, cfg, rows, campaign):
    sender.rows(rows)
    argv = sender.args(extra_args=("--campaign", campaign))
    argv[argv.index("--config") + 1] = cfg
    return subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def records(sender, r, campaign=None):
    import json
    import os
    with open(os.path.join(sender.state, "delivery.log")) as f:
        recs = [json.loads(x) for x in f if x.endswith("\n") and x.strip()]
    return [x for x in recs if campaign is None or x.get("campaign") in (campaign, None)]


def received(world, tag):
    return [x for x in fault_records(world) if any(tag in t for t in x["rcpt_tos"])]


def test_postfix_refusing_one_source_gets_the_mail_from_the_other(world, sender):
    """The world's real Postfix (mx.ok.test) refuses user470..479 from mta1
    (127.0.0.10) with "554 5.7.1 ... blocked using zen.spamhaus.org" (a
    restriction class with check_client_access): the mail arrives from mta2."""
    users = W.BLOCKLISTED_USERS[:6]
    since = len(world.postfix_log())  # other tests of the session use this Postfix too
    cfg = two_source_config(sender, {"retry": {"max_lifetime": "60s"}})
    r = send(sender, cfg, [[a, "P", str(i)] for i, a in enumerate(users)], "pf1")
    assert r.returncode == 0, r.stderr
    recs = records(sender, r)
    last = {x["recipient"]: x for x in recs if x.get("recipient")}
    assert {a: (last[a]["outcome"], last[a]["source_ip"]) for a in users} == \
        {a: ("delivered", W.SOURCE2_IP) for a in users}, last
    assert not any(x["outcome"] in ("bounced", "expired", "suppressed") for x in recs)
    assert not any(x.get("list_action") for x in recs), recs
    blocks = [x for x in recs if x["outcome"] == "source_blocked"]
    assert len(blocks) == 1 and blocks[0]["source_ip"] == W.SOURCE_IP, blocks
    assert "blocked using zen.spamhaus.org" in blocks[0]["reply"]
    # Postfix's own log: refused from mta1, then accepted from mta2
    log = world.postfix_log()[since:]
    refused = [ln for ln in log.splitlines() if "reject: RCPT from" in ln and
               f"[{W.SOURCE_IP}]" in ln and "blocked using" in ln]
    assert refused, log[-3000:]
    accepted = [ln for ln in log.splitlines() if "client=" in ln and f"[{W.SOURCE2_IP}]" in ln]
    assert len(accepted) >= len(users), log[-3000:]
    first_refusal = log.index(refused[0])
    assert all(log.index(ln) > first_refusal for ln in accepted), log[-3000:]
    assert not any("client=" in ln and f"[{W.SOURCE_IP}]" in ln for ln in log.splitlines())
    for a in users:
        user = a.split("@")[0]
        assert maildir_files(world, "ok.test", user), user


def test_blocked_source_fails_over_to_the_other_source(world, sender):
    tag = "fo1x"
    rcpts = [f"blsrc-{tag}{i}@faults.test" for i in range(6)]
    cfg = two_source_config(sender, {"retry": {"max_lifetime": "60s"}})
    r = send(sender, cfg, [[a, "A", str(i)] for i, a in enumerate(rcpts)], "fo1")
    assert r.returncode == 0, r.stderr
    recs = records(sender, r)
    outcomes = collections.Counter(x["outcome"] for x in recs if x.get("recipient"))
    # refused from mta1 at first (deferred), then all delivered from mta2
    assert set(outcomes) <= {"delivered", "deferred"}, outcomes
    last = {x["recipient"]: x for x in recs if x.get("recipient")}
    assert {a: last[a]["outcome"] for a in rcpts} == {a: "delivered" for a in rcpts}
    assert all(last[a]["source_ip"] == W.SOURCE2_IP for a in rcpts), last
    assert not any(x.get("list_action") for x in recs), recs
    # the block: logged once, naming the site, the source, the reply and the rule
    blocks = [x for x in recs if x["outcome"] == "source_blocked"]
    assert len(blocks) == 1, blocks
    assert blocks[0]["source_ip"] == W.SOURCE_IP and blocks[0]["site"]
    assert "blocked using zen.spamhaus.org" in blocks[0]["reply"]
    assert blocks[0]["rule"].startswith("blocklist-")
    assert "source 127.0.0.10 blocked at" in r.stderr and " until " in r.stderr, r.stderr
    assert "fails over from source 127.0.0.10 to 127.0.0.11" in r.stderr, r.stderr
    # the receiver saw the switch: refusals from mta1 first, then mail from mta2 only
    got = received(world, tag)
    peers = [(x["peer"], x["outcome"]) for x in got]
    assert peers and peers[0] == (W.SOURCE_IP, "blocked"), peers
    first_ok = next(i for i, p in enumerate(peers) if p[1] == "250")
    assert all(p == (W.SOURCE2_IP, "250") for p in peers[first_ok:]), peers
    assert sorted(t for x in got if x["outcome"] == "250" for t in x["rcpt_tos"]) == sorted(rcpts)
    # nothing suppressed
    sup = subprocess.run([SLUICE, "suppress", "list", "--state", sender.state],
                         capture_output=True, text=True)
    assert tag not in sup.stdout, sup.stdout
    # the block is kept and shown
    q = subprocess.run([SLUICE, "queue", "--state", sender.state], capture_output=True,
                       text=True)
    assert q.returncode == 0, q.stderr
    assert f"source {W.SOURCE_IP} blocked at" in q.stdout and "blocklist-" in q.stdout, q.stdout

    # a restart keeps the block: the next campaign goes from mta2 at once
    tag2 = "fo2x"
    rcpts2 = [f"blsrc-{tag2}{i}@faults.test" for i in range(3)]
    r2 = send(sender, cfg, [[a, "B", str(i)] for i, a in enumerate(rcpts2)], "fo2")
    assert r2.returncode == 0, r2.stderr
    got2 = received(world, tag2)
    assert got2 and all(x["peer"] == W.SOURCE2_IP and x["outcome"] == "250" for x in got2), got2


def test_every_allowed_source_blocked_waits_never_bounces(world, sender):
    tag = "fo3x"
    rcpts = [f"blsrc-{tag}{i}@faults.test" for i in range(2)]
    extra = ("pools:\n  - name: default\n    failover_width: 1\n"
             "rules:\n  - name: test-block\n    text: 'blocked using'\n"
             "    action: block_source\n    block_for: 2s\n")
    cfg = two_source_config(sender, {"retry": {"max_lifetime": "5s"}}, extra)
    r = send(sender, cfg, [[a, "A", str(i)] for i, a in enumerate(rcpts)], "fo3")
    recs = [x for x in records(sender, r) if x.get("recipient")]
    outcomes = collections.Counter(x["outcome"] for x in recs)
    assert set(outcomes) <= {"deferred", "expired"} and outcomes["expired"] == 2, outcomes
    assert all(x["source_ip"] == W.SOURCE_IP for x in recs), recs
    assert not any(x.get("list_action") for x in recs), recs
    # width 1: mta2 is never used
    assert all(x["peer"] == W.SOURCE_IP for x in received(world, tag))
    assert "every source it may use (failover width 1) is blocked" in r.stderr, r.stderr


def test_failover_config_errors_name_the_place(world, sender):
    sender.rows([["x@faults.test", "A", "1"]])
    r = sender.run(extra_yaml="rules:\n  - text: 'x'\n    action: explode\n")
    assert r.rc != 0
    assert "sluice.yaml:" in r.err and "unknown rule action 'explode'" in r.err, r.err
    r = sender.run(extra_yaml="rules:\n  - text: 'x'\n    suspend: 1m\n"
                              "    trigger: {count: 3}\n")
    assert r.rc != 0 and "needs 'within'" in r.err, r.err
