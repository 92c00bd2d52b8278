"""What a newcomer, hostile receivers and other MTAs found (issue 14), each
against the real peers of tests/world:

  - SIGTERM stops `send` and `serve` within 2 s whatever the receivers do
    (one that never greets, one that never answers the final dot, one that
    answers a byte a second); a second signal stops at once;
  - a list that differs only in case mails one person once;
  - a recipient suppressed (one-click) while its campaign retries it is
    never mailed again, and ends as `suppressed`;
  - a full mailbox refused after the dot is the recipient's outcome, not a
    danger sign;
  - raw UTF-8 in the template's own From and Subject reaches a real Postfix
    without SMTPUTF8 intact and DKIM-valid.
"""
import csv
import email
import email.header
import os
import signal
import sqlite3
import subprocess
import time
import urllib.request

import dkim
import pytest

import world as W
from conftest import SLUICE, Run, fault_records, maildir_files, merged, wait_for, yaml_text
from test_dkim import dkim_yaml, txt
from test_inbound import HTTP, INBOUND, Serve, token

PATIENT = {  # timeouts long enough that only a prompt stop ends the session
    "timeouts": {"connect": "60s", "banner": "300s", "ehlo": "300s", "mail": "300s",
                 "rcpt": "300s", "data": "300s", "dot": "600s", "quit": "300s"},
    "retry": {"min_backoff": "1s", "max_backoff": "1s", "max_lifetime": "1h"},
}


def queued(state, mailbox):
    db = sqlite3.connect(os.path.join(state, "queue.db"))
    row = db.execute("SELECT state FROM recipient WHERE mailbox = ?", (mailbox,)).fetchone()
    db.close()
    return row and row[0] == 0


def stop_and_time(p, sig=signal.SIGTERM):
    t0 = time.monotonic()
    p.send_signal(sig)
    out, err = p.communicate(timeout=30)
    return time.monotonic() - t0, err


def stalled(world, rcpt):
    return any(x["outcome"] == "stalled" and rcpt in x["rcpt_tos"]
               for x in fault_records(world, "stalldot"))


@pytest.mark.parametrize("domain,other", [("silent.test", "user295"),
                                          ("stalldot.test", "user296"),
                                          ("slowbyte.test", "user297")])
def test_sigterm_stops_send_within_two_seconds(world, sender, domain, other):
    stuck = f"stop-{other}@{domain}"
    sender.rows([[stuck, "S", "1"], [f"{other}@ok.test", "A", "2"]])
    p = sender.start(config=PATIENT)
    try:
        # the other recipient is delivered; the stuck session is under way
        assert wait_for(lambda: len(maildir_files(world, "ok.test", other, timeout=0)) >= 1,
                        timeout=20)
        if domain == "stalldot.test":
            assert wait_for(lambda: stalled(world, stuck), 20)
        else:
            time.sleep(1.5)
        took, err = stop_and_time(p)
    finally:
        if p.poll() is None:
            p.kill()
    assert took < 2.5, f"stopping took {took:.1f}s: {err[-2000:]}"
    assert p.returncode == 3, err  # stopped with recipients still queued
    assert queued(sender.state, stuck)  # retried by the next run, not lost
    assert not queued(sender.state, f"{other}@ok.test")


def test_second_signal_stops_at_once(world, sender):
    sender.rows([["user2@stalldot.test", "S", "1"]])
    p = sender.start(config=PATIENT)
    try:
        assert wait_for(lambda: stalled(world, "user2@stalldot.test"), 20)
        p.send_signal(signal.SIGTERM)
        took, err = stop_and_time(p, signal.SIGINT)
    finally:
        if p.poll() is None:
            p.kill()
    assert took < 0.5, err
    assert queued(sender.state, "user2@stalldot.test")


def test_sigterm_stops_serve_within_two_seconds(world, sender):
    serve = Serve(sender, PATIENT)
    try:
        sender.rows([["user3@silent.test", "S", "1"], ["user4@stalldot.test", "S", "2"]])
        r = sender.run(config=dict(INBOUND, **PATIENT))
        assert r.rc == 4, r.err
        assert wait_for(lambda: stalled(world, "user4@stalldot.test"), 20)
        t0 = time.monotonic()
        serve.p.send_signal(signal.SIGTERM)
        serve.p.communicate(timeout=30)
        took = time.monotonic() - t0
    finally:
        if serve.p.poll() is None:
            serve.p.kill()
    assert took < 2.5, took
    assert serve.p.returncode == 0
    assert queued(sender.state, "user3@silent.test")
    assert queued(sender.state, "user4@stalldot.test")


def test_duplicates_by_case_are_mailed_once(world, sender):
    sender.rows([["user298@ok.test", "A", "1"], ["USER298@OK.TEST", "B", "2"],
                 ["User298@ok.test", "C", "3"], ["user299@ok.test", "D", "4"]])
    r = sender.run(extra_args=("--campaign", "dups"))
    assert r.rc == 0, r.err
    assert len(maildir_files(world, "ok.test", "user298")) == 1
    time.sleep(0.5)  # nothing else arrives
    assert len(maildir_files(world, "ok.test", "user298")) == 1
    sent = [x["recipient"] for x in r.log() if x["outcome"] == "delivered"]
    assert sorted(sent) == ["user298@ok.test", "user299@ok.test"]  # the first spelling
    with open(os.path.join(sender.state, "skipped-dups.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [(x["line"], x["email"], x["reason"]) for x in rows] == [
        ("3", "USER298@ok.test", "duplicate"), ("4", "User298@ok.test", "duplicate")]
    # list check says the same, with the line of the first spelling
    cfg = sender.write("check.yaml", yaml_text(merged({})))
    p = subprocess.run([SLUICE, "list", "check", os.path.join(sender.d, "list.csv"),
                        "--config", cfg, "--no-dns", "--state", sender.state],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode in (0, 1), p.stderr
    assert "duplicate                  2" in p.stdout and "to send                    2" in p.stdout, \
        p.stdout
    with open(os.path.join(sender.d, "list.skipped.csv")) as f:
        skipped = list(csv.DictReader(f))
    assert [(x["line"], x["reason"], x["detail"]) for x in skipped] == [
        ("3", "duplicate", "the same mailbox as line 2"),
        ("4", "duplicate", "the same mailbox as line 2")], skipped
    # a receiver known to tell them apart: the setting says so
    sender.rows([["user250@ok.test", "A", "1"], ["USER250@ok.test", "B", "2"]])
    r = sender.run(config={"hygiene": {"case_sensitive_local_parts": "true"}},
                   extra_args=("--campaign", "cs"))
    assert sorted(x["recipient"] for x in r.log() if x.get("campaign") == "cs") == [
        "USER250@ok.test", "user250@ok.test"]


def test_suppressed_while_retrying_is_not_mailed_again(world, sender):
    retry = {"retry": {"min_backoff": "1s", "max_backoff": "1s", "max_lifetime": "60s"}}
    serve = Serve(sender, retry)
    victim = "rcpt451-unsub@faults.test"
    try:
        sender.rows([[victim, "V", "1"]])
        r = sender.run(config=dict(INBOUND, **retry))
        assert r.rc == 4, r.err
        assert wait_for(lambda: any(x.get("recipient") == victim and x["outcome"] == "deferred"
                                    for x in serve.log()), 20)
        salt, rid = serve.rcpt(victim)
        req = urllib.request.Request(f"http://{HTTP}/u/{token('unsub', salt, rid)}",
                                     data=b"List-Unsubscribe=One-Click", method="POST")
        assert urllib.request.urlopen(req, timeout=10).status == 200
        assert wait_for(lambda: any(x.get("recipient") == victim and
                                    x["outcome"] == "suppressed" for x in serve.log()), 20)
        seen = len([x for x in fault_records(world) if victim in x["rcpt_tos"]])
        time.sleep(3)  # three more backoffs: nothing more goes out
        assert len([x for x in fault_records(world) if victim in x["rcpt_tos"]]) == seen
    finally:
        serve.stop()
    rec = [x for x in serve.log() if x.get("recipient") == victim][-1]
    assert rec["outcome"] == "suppressed" and rec["category"] == "suppressed"
    assert rec["list_action"] == "unsubscribe" and rec["stage"] == "load"
    p = subprocess.run([SLUICE, "report", "--campaign", rec["campaign"], "--state", sender.state],
                       capture_output=True, text=True, timeout=30)
    assert "suppressed" in p.stdout, p.stdout


def test_suppressed_by_another_process_while_send_retries(world, sender):
    """send skips the per-recipient look-up while the list is unchanged since
    it was screened; `sluice suppress add` from another process changes it,
    and the next load sees it."""
    victim = "rcpt451-cli@faults.test"
    sender.rows([[victim, "V", "1"], ["ok-supp@faults.test", "A", "2"]])
    p = sender.start(config={"retry": {"min_backoff": "1s", "max_backoff": "1s",
                                       "max_lifetime": "60s"}})
    try:
        log = lambda: [x for x in Run(p, "", "", sender.state).log()
                       if x.get("recipient") == victim]
        assert wait_for(lambda: any(x["outcome"] == "deferred" for x in log()), 20)
        q = subprocess.run([SLUICE, "suppress", "add", victim, "--reason", "manual",
                            "--state", sender.state], capture_output=True, text=True, timeout=30)
        assert q.returncode == 0, q.stderr
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err  # delivered or suppressed: nothing failed
    assert log()[-1]["outcome"] == "suppressed" and log()[-1]["list_action"] == "manual", log()


def test_mailbox_full_after_the_dot_is_not_a_danger_sign(world, sender):
    sender.rows([[f"data552full-{i}@faults.test", "F", str(i)] for i in range(6)])
    r = sender.run(config={"monitor": {"pause_after_sender_rejections": "3"}})
    assert r.rc == 1, r.err  # bounced, not paused (5)
    assert "danger" not in r.err, r.err
    log = r.log()
    assert all(x["category"] == "mailbox_full" for x in log if x.get("recipient")), log
    assert not [x for x in log if x.get("outcome") == "danger"]


UTF8_TEMPLATE = f"""\
From: "Sluice Nëws" <news@{W.DKIM_DOMAIN}>
To: {{{{name}}}} <{{{{email}}}}>
Subject: Grüße aus Zürich, {{{{name}}}}

Hallo {{{{name}}}}, schöne Grüße.
"""


def test_utf8_template_headers_reach_a_receiver_without_smtputf8(world, sender):
    user = "user280"
    sender.rows([[f"{user}@picky.test", "Zoë", "1"]])
    r = sender.run(template=UTF8_TEMPLATE, extra_yaml=dkim_yaml(world))
    assert r.rc == 0, r.err
    assert [x["outcome"] for x in r.log()] == ["delivered"], r.log()
    raw = open(maildir_files(world, "picky.test", user)[-1], "rb").read()
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(b < 0x80 for b in head), head  # 7-bit headers: no SMTPUTF8 needed
    msg = email.message_from_bytes(raw)
    decode = lambda v: str(email.header.make_header(email.header.decode_header(v)))
    assert decode(msg["From"]) == f"Sluice Nëws <news@{W.DKIM_DOMAIN}>"
    assert decode(msg["Subject"]) == "Grüße aus Zürich, Zoë"
    assert "schöne Grüße" in msg.get_payload(decode=True).decode()
    assert dkim.verify(raw, dnsfunc=txt)
    # the receiver was asked for no SMTPUTF8 (Postfix logs the session)
    log = world.postfix_log(world.picky_dir)
    assert f"to=<{user}@picky.test>" in log
