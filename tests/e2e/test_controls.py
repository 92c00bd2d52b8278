"""The operator's controls against a running `sluice serve`: a campaign
paused (`sluice campaign pause`) holds within a second; a site paused
(`sluice site pause`) starts nothing new within about a second and goes on
when resumed; a campaign cancelled (`sluice campaign cancel`) ends its
queued recipients as cancelled; a purge bounces the rest of a domain's
mail, a move sends the rest of a campaign from another pool, a retry
makes a deferred recipient go now. The site is the real Postfix receiver
(mx.ok.test), paced to 4 messages a second over one connection."""
import subprocess
import time

import world as W
from conftest import SLUICE, merged, wait_for, yaml_text
from test_campaigns import delivered, _log, queue, start_serve, stop

USERS = range(170, 200)  # recipients used only here


def ctl(sender, *args):
    r = subprocess.run([SLUICE, *args, "--state", sender.state], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_pause_resume_and_cancel_a_running_campaign(world, sender):
    p = start_serve(sender)
    try:
        queue(sender, "ctl", USERS)
        assert wait_for(lambda: len(delivered(sender)) >= 3, timeout=20)
        out = ctl(sender, "campaign", "pause", "ctl", "--reason", "check the list")
        assert "campaign ctl paused (check the list)" in out, out
        time.sleep(1.5)  # a running serve holds it within a second
        held = len(delivered(sender))
        time.sleep(2)
        assert len(delivered(sender)) == held
        assert "check the list" in ctl(sender, "campaign", "resume", "ctl")
        assert wait_for(lambda: len(delivered(sender)) >= held + 3, timeout=10)
        # its end is a whole second after the command recorded it: 6 s
        # leaves 5 at least, past the checks below even under ASan
        out = ctl(sender, "campaign", "pause", "ctl", "--for", "6s", "--reason", "a breath")
        assert "paused for 6s (a breath)" in out, out
        time.sleep(1.5)
        held = len(delivered(sender))
        time.sleep(1)
        assert len(delivered(sender)) == held
        assert wait_for(lambda: len(delivered(sender)) >= held + 3, timeout=20)  # by itself
        ctl(sender, "site", "pause", "mx.ok.test", "--reason", "wrong IP")
        time.sleep(1.5)  # taken within a second; what was in flight finishes
        held = len(delivered(sender))
        time.sleep(2)
        assert len(delivered(sender)) == held  # nothing new while paused
        assert held < 30
        q = ctl(sender, "queue")
        assert "paused site mx.ok.test until resumed: wrong IP" in q, q
        ctl(sender, "site", "resume", "mx.ok.test")
        assert wait_for(lambda: len(delivered(sender)) >= held + 3, timeout=10)
        out = ctl(sender, "campaign", "cancel", "ctl", "--reason", "sent to the wrong list")
        assert "cancel asked of the running sluice" in out, out
        time.sleep(2)
        done = len(delivered(sender))
        time.sleep(1.5)
        assert len(delivered(sender)) == done  # nothing more for it
    finally:
        stop(p)
    cancelled = [x for x in _log(sender) if x.get("outcome") == "cancelled"]
    assert cancelled and all(x["reply"] == "sent to the wrong list" for x in cancelled)
    # the running serve performed the cancel: nobody is both sent and cancelled
    sent = {r for _, r in delivered(sender)}
    assert not sent & {x["recipient"] for x in cancelled}
    assert len(cancelled) + len(sent) == 30
    report = subprocess.run([SLUICE, "report", "--campaign", "ctl", "--state", sender.state],
                            capture_output=True, text=True).stdout
    assert "cancelled" in report, report


def test_controls_refuse_bad_input_clearly(tmp_path):
    """A control that could match nothing, or is malformed, is refused with
    a message naming what is wrong; nothing is written to the store."""
    state = str(tmp_path / "state")

    def run(*args):
        return subprocess.run([SLUICE, *args, "--state", state], capture_output=True, text=True)

    r = run("site", "pause", "--provider", "gmial", "--reason", "x")
    assert r.returncode == 2 and "unknown provider 'gmial'" in r.stderr and "google" in r.stderr
    r = run("site", "pause", "--source", "1.2.3", "--reason", "x")
    assert r.returncode == 2 and "not an IP address" in r.stderr
    r = run("site", "pause", "mx.x.test", "--for", "banana", "--reason", "x")
    assert r.returncode == 2 and "bad --for 'banana'" in r.stderr
    r = run("site", "pause", "mx.x.test")  # no reason
    assert r.returncode == 2 and "usage:" in r.stderr
    r = run("site", "resume", "mx.x.test")
    assert r.returncode == 1 and "was not paused" in r.stdout
    r = run("campaign", "cancel", "nosuch", "--reason", "x")
    assert r.returncode == 1 and "no campaign nosuch" in r.stderr
    r = run("site", "retry", "mx.x.test", "--for", "2h")  # one-shot: no --for
    assert r.returncode == 2 and "usage:" in r.stderr
    r = run("site", "retry", "--provider", "gmial")
    assert r.returncode == 2 and "unknown provider 'gmial'" in r.stderr
    r = run("purge", "--domain", "x.test")  # no reason
    assert r.returncode == 2 and "usage:" in r.stderr
    r = run("purge", "--domain", "someone@x.test", "--reason", "x")
    assert r.returncode == 2 and "is not a domain" in r.stderr
    r = run("campaign", "move", "c1", "--pool", "p")  # the pools are the config's
    assert r.returncode == 2 and "--config FILE is needed" in r.stderr
    r = run("queue")
    assert r.returncode == 0 and "paused" not in r.stdout and "control" not in r.stdout
    # a purge with nothing delivering is done at once (nothing queued here)
    r = run("purge", "--domain", "x.test", "--reason", "sold")
    assert r.returncode == 0 and "0 queued recipients purged" in r.stdout, r.stderr
    assert "control purge domain x.test: done (0 queued recipients purged): sold" in \
        run("queue").stdout


# ---- retry, purge and move (recipients user400..user449@ok.test and
# full@ok.test, used only here) ----

ONE_SHOT = {
    "inbound": {"listen": f"{W.INBOUND_IP}:25"},
    "retry": {"min_backoff": "10m", "max_backoff": "10m", "max_lifetime": "1h"},
}
POLICY = """policies:
  - domain: ok.test
    message_rate: 4/s
    max_connections: 1
tenants:
  - name: spare
    pool: app
    sender_domains: [spare.sluice.test]
"""


def one_shot_config(sender):
    """Two pools: sender.pool's (SOURCE_IP) and app (SOURCE2_IP, in use by a
    tenant, so a running serve starts its source)."""
    lines = yaml_text(merged(ONE_SHOT), POLICY).split("\n")
    source2 = [f"  - ip: {W.SOURCE2_IP}", f"    helo: {W.SOURCE2_HELO}", "    pool: app"]
    return sender.write("serve.yaml", "\n".join(lines[:3] + source2 + lines[3:]))


def queue_with(sender, cfg, name, rows):
    sender.rows(rows)
    argv = sender.args(extra_args=("--campaign", name))
    argv[argv.index("--config") + 1] = cfg
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 4, r.stderr


def records(sender, campaign):
    return [x for x in _log(sender) if x.get("campaign") == campaign]


def test_retry_purge_and_move_on_a_running_serve(world, sender):
    cfg = one_shot_config(sender)
    p = subprocess.Popen([SLUICE, "serve", "--config", cfg, "--state", sender.state, "--force"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert W.wait_port(W.INBOUND_IP, 25) is not False
    try:
        # purge: the rest of one campaign's ok.test mail ends as bounced
        queue_with(sender, cfg, "pg", [[f"user{u}@ok.test", "P", str(u)]
                                       for u in range(400, 430)])
        assert wait_for(lambda: len([x for x in delivered(sender) if x[0] == "pg"]) >= 3,
                        timeout=20)
        out = ctl(sender, "purge", "--domain", "OK.test", "--campaign", "pg",
                  "--reason", "wrong domain")
        assert "asked of the running sluice" in out, out
        assert wait_for(lambda: any(x.get("category") == "purged"
                                    for x in records(sender, "pg")), timeout=5)
        time.sleep(1.5)
        purged = [x for x in records(sender, "pg") if x.get("category") == "purged"]
        sent = {r for c, r in delivered(sender) if c == "pg"}
        assert purged and all(x["outcome"] == "bounced" and x["stage"] == "purge" and
                              x["reply"] == "wrong domain" for x in purged), purged[:2]
        assert not sent & {x["recipient"] for x in purged}  # none both sent and purged
        assert len(sent) + len(purged) == 30
        assert "control purge domain ok.test of campaign pg: done" in ctl(sender, "queue")
        # the operator's decision, not the address's fault: nothing suppressed
        assert "user4" not in ctl(sender, "suppress", "list")

        # move: the rest of the campaign leaves from the other pool's source
        r = subprocess.run([SLUICE, "campaign", "move", "pg", "--pool", "nowhere",
                            "--config", cfg, "--state", sender.state],
                           capture_output=True, text=True)
        assert r.returncode == 2 and "unknown pool 'nowhere'" in r.stderr, r.stderr
        assert "  app" in r.stderr and "  default" in r.stderr, r.stderr
        queue_with(sender, cfg, "mv", [[f"user{u}@ok.test", "M", str(u)]
                                       for u in range(430, 450)])
        assert wait_for(lambda: len([x for x in delivered(sender) if x[0] == "mv"]) >= 3,
                        timeout=20)
        r = subprocess.run([SLUICE, "campaign", "move", "mv", "--pool", "app", "--reason",
                            "warm the new IP", "--config", cfg, "--state", sender.state],
                           capture_output=True, text=True)
        assert r.returncode == 0 and "moved to pool app" in r.stdout, r.stderr
        assert wait_for(lambda: len([x for x in delivered(sender) if x[0] == "mv"]) == 20,
                        timeout=30)
        mv = [x for x in records(sender, "mv") if x.get("outcome") == "delivered"]
        sources = [x["source_ip"] for x in mv]
        assert sources[0] == W.SOURCE_IP and sources[-1] == W.SOURCE2_IP, sources
        assert len({x["recipient"] for x in mv}) == 20  # nobody twice
        assert "control move campaign mv to pool app: done" in ctl(sender, "queue")

        # retry: a deferred recipient (next attempt in 10 minutes) goes now
        queue_with(sender, cfg, "rt", [["full@ok.test", "F", "1"]])
        assert wait_for(lambda: any(x.get("outcome") == "deferred"
                                    for x in records(sender, "rt")), timeout=20)
        out = ctl(sender, "site", "retry", "mx.ok.test", "--reason", "mailbox emptied")
        assert "retry asked of the running sluice" in out, out
        assert wait_for(lambda: len(records(sender, "rt")) >= 2, timeout=5)
        assert records(sender, "rt")[1]["attempt"] == 2
        q = ctl(sender, "queue")
        # mx.ok.test names the site in every pool: here two
        assert "control retry site mx.ok.test: done (2 sites retried now): mailbox emptied" \
            in q, q
    finally:
        stop(p)
