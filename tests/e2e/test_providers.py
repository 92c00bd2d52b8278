"""Provider-wide limits (`providers:`): fifty business domains
p0..p49.provider.test, each with its own MX host name
(mx.pN.provider.test), all served by the Postfix with anvil limits
(ANVIL_CONNECTIONS connections and ANVIL_MESSAGES messages per
ANVIL_UNIT_S per client IP). Each domain is a site of its own; one
`providers` entry whose glob matches every MX name holds them to the
receiver's limits together. Recipients: user300-user399@pN.provider.test
(no other test uses these domains)."""
import datetime
import re
import signal
import subprocess
import time

import world as W
from conftest import SLUICE, maildir_files

PROVIDER_YAML = ("providers:\n  - name: provider-test\n    mx: ['mx.p*.provider.test']\n"
                 f"    max_connections: {W.ANVIL_CONNECTIONS}\n    message_rate: 4/s\n")


def rows():
    return [[f"user{350 + i}@{dom}", "P", str(i)] for i, dom in enumerate(W.PROVIDER_TEST_DOMAINS)]


def receiver_view(world, since):
    """From the receiver's own log: the most connections from our source
    open at once as its lines show them (connect/disconnect in log order:
    a session's "disconnect" may be logged just after the next one's
    "connect", so this may read one high), and anvil's refusals
    (connections, messages): anvil refuses a connection past its limit,
    so no refusal means never more than ANVIL_CONNECTIONS at once."""
    text = world.postfix_log(world.anvil_dir)[since:]
    open_now = most = 0
    for line in text.splitlines():
        if f"[{W.SOURCE_IP}]" not in line:
            continue
        if re.search(r"smtpd\[\d+\]: connect from ", line):
            open_now += 1
            most = max(most, open_now)
        elif re.search(r"smtpd\[\d+\]: disconnect from ", line):
            open_now -= 1
    return (most, text.count("Connection concurrency limit exceeded"),
            text.count("Message delivery request rate limit exceeded"))


def test_a_provider_entry_holds_the_receivers_limits_across_fifty_sites(world, sender):
    since = len(world.postfix_log(world.anvil_dir))
    sender.rows(rows())
    r = sender.run(config={"retry": {"min_backoff": "1s", "max_lifetime": "120s"}},
                   extra_yaml=PROVIDER_YAML, timeout=150)
    assert r.rc == 0, r.err
    most, conns, rate = receiver_view(world, since)
    times = [datetime.datetime.strptime(x["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
             for x in r.log() if x["outcome"] == "delivered"]
    print(f"with the provider entry: at most {most} connections at once, "
          f"{conns} connection and {rate} rate refusals, {len(times)} delivered "
          f"in {max(times) - min(times):.1f}s")
    assert (conns, rate) == (0, 0)
    assert 1 <= most <= W.ANVIL_CONNECTIONS + 1, most
    for i, dom in enumerate(W.PROVIDER_TEST_DOMAINS):
        assert len(maildir_files(world, dom, f"user{350 + i}")) == 1
    q = subprocess.run([SLUICE, "queue", "--state", sender.state], capture_output=True,
                       text=True)
    assert q.returncode == 0, q.stderr
    row = [x for x in q.stdout.splitlines() if x.startswith("provider-test ")]
    assert row and f" 0/{W.ANVIL_CONNECTIONS} " in row[0], q.stdout
    assert re.search(r"\b50\b", row[0]), row[0]  # its sites


def test_without_the_provider_entry_the_receiver_sees_more(world, sender):
    """The control: the same fifty sites, each with its own limits."""
    since = len(world.postfix_log(world.anvil_dir))
    sender.rows([[f"user{300 + i}@{dom}", "C", str(i)]
                 for i, dom in enumerate(W.PROVIDER_TEST_DOMAINS)])
    # the refused sites are suspended for a while: what the receiver saw in
    # the first seconds is the answer, then sluice is stopped
    p = sender.start(config={"retry": {"min_backoff": "1s", "max_lifetime": "60s"}})
    time.sleep(8)
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=60)
    most, conns, rate = receiver_view(world, since)
    print(f"without it: at most {most} connections at once, "
          f"{conns} connection and {rate} rate refusals")
    assert most > W.ANVIL_CONNECTIONS and conns >= 1, (most, conns, rate)
