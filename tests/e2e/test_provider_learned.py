"""Learned rates per provider: the fifty business domains p0..p49.provider.test
(each its own site, MX mx.pN.provider.test) are served by the Postfix with
anvil limits (ANVIL_MESSAGES messages per ANVIL_UNIT_S per client IP,
across all of them). A `providers` entry matches every MX name but sets no
message_rate: the first campaign draws the receiver's refusals at some of
the sites, which teach the provider's rate for the source; the next run
(a restart, a new campaign, other sites) starts at it and draws none.
Recipients: user300-user349@pN.provider.test, never user(300+N) nor
user(350+N) at pN (test_providers.py's)."""
import re
import subprocess

import pytest

import world as W
from conftest import SLUICE

PROVIDER_YAML = ("providers:\n  - name: provider-learn\n    mx: ['mx.p*.provider.test']\n"
                 f"    max_connections: {W.ANVIL_CONNECTIONS}\n")
CONFIG = {"retry": {"min_backoff": "1s", "max_lifetime": "300s"}}


def rate_refusals(world, since):
    return world.postfix_log(world.anvil_dir)[since:].count(
        "Message delivery request rate limit exceeded")


def mailboxes(shift, count):
    """user(300 + (N + shift) % 50)@pN for the first count domains (in turn)."""
    out = []
    for k in range(count):
        i = k % 50
        out.append(f"user{300 + (i + shift + k // 50) % 50}@{W.PROVIDER_TEST_DOMAINS[i]}")
    return out


@pytest.mark.slow
def test_provider_learned_rate_holds_after_a_restart(world, sender):
    # first campaign: more than the receiver allows in its window, at full speed
    since = len(world.postfix_log(world.anvil_dir))
    first = mailboxes(1, W.ANVIL_MESSAGES + 15)
    sender.rows([[m, "L", str(i)] for i, m in enumerate(first)])
    r = sender.run(config=CONFIG, extra_yaml=PROVIDER_YAML, timeout=280)
    assert r.rc == 0, r.err
    refused = rate_refusals(world, since)
    delivered = {x["recipient"] for x in r.log() if x["outcome"] == "delivered"}
    print(f"first run: {len(delivered)} delivered, {refused} rate refusals")
    assert refused >= 1
    assert delivered == set(first)

    # the provider's rate is in the store, and `sluice queue` shows it
    q = subprocess.run([SLUICE, "queue", "--state", sender.state], capture_output=True, text=True)
    assert q.returncode == 0, q.stderr
    line = [x for x in q.stdout.splitlines() if x.startswith("learned provider:provider-learn ")]
    assert line and "msg/min" in line[0], q.stdout
    print(line[0])
    m = re.search(r": ([0-9.]+) msg/min", line[0])
    assert m and 0 < float(m.group(1)) < W.ANVIL_MESSAGES * 60 / W.ANVIL_UNIT_S, line[0]
    # no per-site rows for the provider's sites
    assert not [x for x in q.stdout.splitlines() if x.startswith("learned mx.p")], q.stdout

    # a restart with the next campaign, to other recipients (other sites
    # first): the provider's learned rate holds from the start
    since = len(world.postfix_log(world.anvil_dir))
    second = mailboxes(3, W.ANVIL_MESSAGES + 5)[::-1]  # more than its window allows
    sender.rows([[m, "L", str(i)] for i, m in enumerate(second)])
    r = sender.run(config=CONFIG, extra_yaml=PROVIDER_YAML, timeout=250)
    assert r.rc == 0, r.err
    refused = rate_refusals(world, since)
    delivered = {x["recipient"] for x in r.log() if x["outcome"] == "delivered"} - set(first)
    print(f"after a restart: {len(delivered)} delivered, {refused} rate refusals")
    assert refused == 0
    assert delivered == set(second)
