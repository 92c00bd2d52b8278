"""Traffic shaping against a scripted webmail-style throttler (aiosmtpd,
mode rp001: at most 20 accepted messages per client IP in 5 s, then
"421 RP-001"). The receiver's own log counts the refusals."""
import collections
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import SLUICE, fault_records, maildir_files, wait_for

RP_LIMIT, RP_WINDOW = 20, 5.0


def refusals(world, tag):
    return [x for x in fault_records(world, "rp001") if x["outcome"] == "refused"
            and tag in x["rcpt_tos"][-1]]


def accepted(world, tag):
    return [x for x in fault_records(world, "rp001") if x["outcome"] == "250"
            and tag in x["rcpt_tos"][0]]


def test_a_matching_rate_policy_never_trips_the_limit(world, sender):
    tag = "policy"
    sender.rows([[f"{tag}-{i}@throttle.test", "P", str(i)] for i in range(30)])
    r = sender.run(config={"retry": {"max_lifetime": "60s"}},
                   extra_yaml="policies:\n  - domain: throttle.test\n    message_rate: 3/s\n",
                   timeout=90)
    assert r.rc == 0, r.err
    assert refusals(world, tag) == []
    assert len(accepted(world, tag)) == 30


@pytest.mark.slow
def test_throttling_replies_slow_the_site_and_spare_the_others(world, sender):
    tag = "adapt"
    sender.rows([[f"{tag}-{i}@throttle.test", "T", str(i)] for i in range(60)] +
                [[f"ok-{tag}-{i}@faults.test", "F", str(i)] for i in range(200)])
    rule = ("rules:\n  - name: test-rp001\n    text: \"RP-00[123]\"\n"
            "    suspend: 2s\n    scale: 0.5\n    duration: 60s\n")
    t0 = time.time()
    r = sender.run(config={"retry": {"min_backoff": "1s", "max_lifetime": "120s"}},
                   extra_yaml=rule, timeout=150)
    assert r.rc == 0, r.err
    # everything arrives, each message once
    got = collections.Counter(x["rcpt_tos"][0] for x in accepted(world, tag))
    assert got == {f"{tag}-{i}@throttle.test": 1 for i in range(60)}
    # the rule fired and is in the log, with the reply that fired it
    fired = [x for x in r.log() if x.get("rule") == "test-rp001"]
    assert fired and "RP-001" in fired[0]["reply"]
    # sluice adapted: few refusals (each one halves the site's rate), far
    # fewer than the messages it had to hold back
    n_refused = len(refusals(world, tag))
    assert 1 <= n_refused <= 25, n_refused
    # the other site was not held back by the throttled one
    other = [x for x in r.log() if x["domain"] == "faults.test"]
    assert all(x["outcome"] == "delivered" for x in other) and len(other) == 200
    last_other = max(x["time"] for x in other)
    last_throttled = max(x["time"] for x in r.log() if x["domain"] == "throttle.test")
    assert last_other < last_throttled
    assert time.time() - t0 < 150


def test_greylisting_by_postgrey_is_retried_after_the_greylist_delay(world, sender):
    users = [f"user{i}" for i in range(50, 55)]
    sender.rows([[f"{u}@grey.test", "G", u] for u in users])
    t0 = time.time()
    r = sender.run(config={"retry": {"min_backoff": "5m", "max_backoff": "5m", "greylist_delay": "3s",
                                     "max_lifetime": "1h"}}, timeout=60)
    assert r.rc == 0, r.err
    log = r.log()
    for u in users:
        recs = [x for x in log if x["recipient"] == f"{u}@grey.test"]
        first, last = recs[0], recs[-1]
        assert (first["outcome"], first["stage"], first["category"]) == \
            ("deferred", "rcpt", "greylisted"), first
        assert "Greylisted" in first["reply"]
        assert last["outcome"] == "delivered"
        assert len(world_maildir(world, u)) == 1
    # delivered after the greylist delay (3 s), not after min_backoff (5 m)
    assert time.time() - t0 < 30


def world_maildir(world, user):
    return maildir_files(world, "grey.test", user)


@pytest.mark.slow
def test_sluice_queue_shows_each_site_while_sending(world, sender):
    tag = "qview"
    sender.rows([[f"{tag}-{i}@throttle.test", "Q", str(i)] for i in range(40)])
    rule = ("rules:\n  - name: test-rp001\n    text: \"RP-00[123]\"\n"
            "    suspend: 4s\n    scale: 0.5\n    duration: 60s\n")
    p = sender.start(config={"retry": {"min_backoff": "1s", "max_lifetime": "120s"}},
                     extra_yaml=rule)
    try:
        def fired():
            path = os.path.join(sender.state, "delivery.log")
            return os.path.exists(path) and "test-rp001" in open(path).read()
        assert wait_for(fired, timeout=30)
        time.sleep(1.2)  # sites are written every second
        q = subprocess.run([SLUICE, "queue", "--state", sender.state], capture_output=True,
                           text=True)
        assert q.returncode == 0, q.stderr
        row = [line for line in q.stdout.splitlines() if line.startswith("mx.throttle.test")]
        assert row, q.stdout
        assert "live" in row[0] and "rule test-rp001: RP-001" in row[0], row[0]
        assert re.search(r"for \d+s", row[0]), row[0]  # suspended, and for how long
        assert re.search(r"^c-\w+ .* 40$", q.stdout, re.M)  # the campaign line, total 40
    finally:
        p.wait(timeout=300)  # slow under ASan on a busy machine
    assert p.returncode == 0
    q = subprocess.run([SLUICE, "queue", "--state", sender.state], capture_output=True, text=True)
    row = [line for line in q.stdout.splitlines() if line.startswith("mx.throttle.test")][0]
    assert " 0/" in row  # no connection open any more


def test_sluice_queue_without_a_queue_is_a_clear_error(sender):
    q = subprocess.run([SLUICE, "queue", "--state", sender.state], capture_output=True, text=True)
    assert q.returncode == 2 and "no queue in" in q.stderr


def anvil_refusals(world, since):
    """Refusals counted in the receiver's own log (Postfix's anvil warnings)."""
    text = world.postfix_log(world.anvil_dir)[since:]
    return (text.count("Connection concurrency limit exceeded"),
            text.count("Message delivery request rate limit exceeded"))


def test_postfix_anvil_limits_with_a_matching_policy_are_never_tripped(world, sender):
    since = len(world.postfix_log(world.anvil_dir))
    users = [f"user{i}" for i in range(100, 140)]
    sender.rows([[f"{u}@anvil.test", "A", u] for u in users])
    policy = ("policies:\n  - domain: anvil.test\n    max_connections: 2\n"
              "    message_rate: 4/s\n")
    r = sender.run(config={"retry": {"min_backoff": "1s", "max_lifetime": "60s"}},
                   extra_yaml=policy, timeout=90)
    assert r.rc == 0, r.err
    assert anvil_refusals(world, since) == (0, 0)
    assert all(len(maildir_files(world, "anvil.test", u)) == 1 for u in users)


@pytest.mark.slow
def test_postfix_anvil_limits_without_a_policy_sluice_adapts(world, sender):
    since = len(world.postfix_log(world.anvil_dir))
    users = [f"user{i}" for i in range(140, 240)]
    sender.rows([[f"{u}@anvil.test", "A", u] for u in users])
    rules = ("rules:\n  - name: test-too-much-mail\n    text: \"too much mail\"\n"
             "    suspend: 3s\n    scale: 0.5\n    duration: 60s\n")
    r = sender.run(config={"retry": {"min_backoff": "1s", "max_lifetime": "120s"}},
                   extra_yaml=rules, timeout=150)
    assert r.rc == 0, r.err
    assert all(len(maildir_files(world, "anvil.test", u)) == 1 for u in users)
    conns, rate = anvil_refusals(world, since)
    # it adapted after the first refusals instead of hammering: each refusal
    # halves the site's connections or rate
    assert conns + rate >= 1
    assert conns <= 10 and rate <= 10, (conns, rate)
    fired = {x["rule"] for x in r.log() if x.get("rule")}
    assert fired & {"too-many-connections", "test-too-much-mail"}, fired


POOL = ("sources:\n  - ip: 127.0.0.10\n    helo: mta1.sluice.test\n    pool: bulk\n"
        "  - ip: 127.0.0.11\n    helo: mta2.sluice.test\n    pool: bulk\n")


def argv_with_sources(sender, sources_yaml, rows, delivery_extra=""):
    """The send command with a config whose sources are sources_yaml."""
    sender.rows(rows)
    cfg_text = open(sender.args()[3]).read().split("\n", 3)[3]  # without the default source
    cfg_text = cfg_text.replace("delivery:\n", "delivery:\n" + delivery_extra)
    path = sender.write("sources.yaml", sources_yaml + cfg_text)
    argv = sender.args()
    argv[argv.index("--config") + 1] = path
    return argv


def pool_args(sender, threshold, rows):
    return argv_with_sources(sender, POOL, rows, f"  spread_threshold: {threshold}\n")


def test_a_pool_spreads_sites_over_its_sources_each_site_always_one(world, sender):
    tag = "pool"
    rows = [[f"ok-{tag}-{i}@faults{n}.test" if n > 1 else f"ok-{tag}-{i}@faults.test", "P",
             str(i)] for i in range(10) for n in range(1, 7)]
    argv = pool_args(sender, 10, rows)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    recs = [x for x in fault_records(world) if f"-{tag}-" in x["rcpt_tos"][0]]
    assert len(recs) == 60
    per_site = collections.defaultdict(set)
    for x in recs:
        per_site[x["rcpt_tos"][0].split("@")[1]].add((x["peer"], x["helo"]))
    assert all(len(v) == 1 for v in per_site.values()), per_site  # sticky
    used = set().union(*per_site.values())
    assert used == {("127.0.0.10", "mta1.sluice.test"), ("127.0.0.11", "mta2.sluice.test")}


def test_a_small_campaign_uses_one_source(world, sender):
    tag = "smallpool"
    rows = [[f"ok-{tag}-{i}@faults{n}.test" if n > 1 else f"ok-{tag}-{i}@faults.test", "S",
             str(i)] for i in range(3) for n in range(1, 7)]
    argv = pool_args(sender, 1000, rows)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    recs = [x for x in fault_records(world) if f"-{tag}-" in x["rcpt_tos"][0]]
    assert len(recs) == 18 and {x["peer"] for x in recs} == {"127.0.0.10"}


WARM = ("sources:\n  - ip: 127.0.0.10\n    helo: mta1.sluice.test\n"
        "    warmup_day1: 5\n    warmup_site_day1: 3\n    warmup_growth: 2\n")


def warm_argv(sender, rows):
    return argv_with_sources(sender, WARM, rows)


def test_warm_up_caps_day_1_then_day_2_continues_across_restarts(world, sender):
    tag = "warm"
    rows = [[f"ok-{tag}-{i}@faults.test", "W", str(i)] for i in range(8)] + \
           [[f"ok-{tag}-{i}@faults2.test", "W", str(i)] for i in range(4)]
    argv = warm_argv(sender, rows)

    def got():
        return [x for x in fault_records(world) if f"-{tag}-" in x["rcpt_tos"][0]]

    def log():
        path = os.path.join(sender.state, "delivery.log")
        return ([json.loads(x) for x in open(path) if x.endswith("\n")]
                if os.path.exists(path) else [])

    # day 1: 5 in all, at most 3 per site; the rest waits for tomorrow
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert wait_for(lambda: len([x for x in log() if x["stage"] == "warmup"]) == 7, timeout=30)
    time.sleep(1)
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=30)
    assert p.returncode == 3
    day1 = got()
    assert len(day1) == 5
    per_site = collections.Counter(x["rcpt_tos"][0].split("@")[1] for x in day1)
    assert max(per_site.values()) <= 3
    warm = [x for x in log() if x["stage"] == "warmup"]
    assert all(x["outcome"] == "deferred" and x["rule"] == "warm-up" for x in warm)
    assert "warm-up: day 1 cap" in warm[0]["reply"]

    # a restart the same day sends nothing more: the counts were kept
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=30)
    assert len(got()) == 5

    # day 2 (a test-only clock offset): caps doubled, everything goes
    env = dict(os.environ, SLUICE_TEST_NOW_OFFSET_S="86400")
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    final = collections.Counter(x["rcpt_tos"][0] for x in got())
    assert len(final) == 12 and set(final.values()) == {1}  # each once, none bounced


# The issue-12 receiver (fault_smtpd.py mode webmail): 30 messages a minute
# and 3 connections per client IP, "421 RP-001" past either.
WM_LIMIT, WM_WINDOW, WM_CONNS = 30, 60.0, 3


def webmail_refusals(world, since):
    return [x for x in fault_records(world, "webmail")[since:]
            if x["outcome"] in ("refused", "conn_refused")]


@pytest.mark.slow
def test_learned_limits_few_refusals_then_none_after_a_restart(world, sender):
    """No policy for the receiver: at most 3 refusals to learn its limits,
    delivery within 1.3 times what it allows; the next run (a restart, a new
    campaign) starts at the learned limits and draws no refusal."""
    tag = "learned"
    since = len(fault_records(world, "webmail"))
    n = 45
    sender.rows([[f"{tag}-{i}@learn.test", "L", str(i)] for i in range(n)])
    t0 = time.time()
    r = sender.run(config={"retry": {"max_lifetime": "10m"}}, timeout=300)
    took = time.time() - t0
    assert r.rc == 0, r.err
    got = collections.Counter(x["rcpt_tos"][0] for x in fault_records(world, "webmail")[since:]
                              if x["outcome"] == "250")
    assert got == {f"{tag}-{i}@learn.test": 1 for i in range(n)}
    refused = webmail_refusals(world, since)
    allowed = n / WM_LIMIT * WM_WINDOW  # the receiver's own limit: 90 s
    print(f"first run: {n} in {took:.1f} s (allowed {allowed:.0f} s), {len(refused)} refusals")
    assert 1 <= len(refused) <= 3, refused
    assert took <= 1.3 * allowed + 3, took  # + the process's start and end
    fired = [x for x in r.log() if x.get("rule") == "outlook-rp"]
    assert fired

    # what was learned is in the store, and `sluice queue` shows it
    q = subprocess.run([SLUICE, "queue", "--state", sender.state], capture_output=True, text=True)
    assert q.returncode == 0, q.stderr
    line = [x for x in q.stdout.splitlines() if x.startswith("learned mx.learn.test")]
    assert line and "msg/min" in line[0], q.stdout

    # a restart with the next campaign: the learned limit holds from the start
    since = len(fault_records(world, "webmail"))
    sender.rows([[f"{tag}2-{i}@learn.test", "L", str(i)] for i in range(30)])
    t0 = time.time()
    r = sender.run(config={"retry": {"max_lifetime": "10m"}}, timeout=300)
    took = time.time() - t0
    assert r.rc == 0, r.err
    refused = webmail_refusals(world, since)
    print(f"after a restart: 30 in {took:.1f} s, {len(refused)} refusals")
    assert refused == []
    assert len([x for x in fault_records(world, "webmail")[since:] if x["outcome"] == "250"]) == 30
