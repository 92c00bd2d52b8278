"""The operator's controls against a running `sluice serve`: a site paused
(`sluice site pause`) starts nothing new within about a second and goes on
when resumed; a campaign cancelled (`sluice campaign cancel`) ends its
queued recipients as cancelled. The site is the real Postfix receiver
(mx.ok.test), paced to 4 messages a second over one connection."""
import subprocess
import time

from conftest import SLUICE, wait_for
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
    r = run("queue")
    assert r.returncode == 0 and "paused" not in r.stdout
