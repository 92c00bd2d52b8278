"""sluice serve: VERP return paths, a real Postfix DSN coming back to the
listener, feedback reports, one-click and mailto unsubscribes, and hostile
input to the listener. The peers: the forwarding Postfix at mx.later.test
(it accepts, then bounces with a real DSN), the receiving Postfix at
mx.ok.test, and sluice serve itself on 127.0.4.1."""
import hashlib
import hmac
import os
import signal
import smtplib
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request

import pytest

import world as W
from conftest import SLUICE, maildir_files, merged, wait_for, yaml_text

SECRET = "test-secret-0123456789"
HTTP = f"{W.INBOUND_IP}:8025"
INBOUND = {
    "bounce": {"domain": W.BOUNCE_DOMAIN, "secret": SECRET,
               "feedback_address": f"fbl@{W.BOUNCE_DOMAIN}"},
    "inbound": {"listen": f"{W.INBOUND_IP}:25", "http_listen": HTTP,
                "max_message_size": "64KB", "message_rate_per_ip": "5/s"},
    "unsubscribe": {"url": f"http://{HTTP}/u"},
}


def token(purpose, salt, rid):
    mac = hmac.new(SECRET.encode(), f"{purpose}:{salt}.{rid}".encode(), hashlib.sha256)
    return f"{salt}.{rid}.{mac.hexdigest()[:16]}"


class Serve:
    def __init__(self, sender, extra=None, extra_yaml=""):
        self.sender = sender
        cfg = merged(INBOUND)
        for k, v in (extra or {}).items():
            cfg.setdefault(k, {}).update(v)
        self.cfg = sender.write("serve.yaml", yaml_text(cfg, extra_yaml))
        self.p = subprocess.Popen([SLUICE, "serve", "--config", self.cfg, "--state",
                                   sender.state, "--force"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        assert W.wait_port(W.INBOUND_IP, 25) is not False

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        out, err = self.p.communicate(timeout=20)
        assert self.p.returncode == 0, err
        return err

    def log(self):
        from conftest import Run
        return Run(self.p, "", "", self.sender.state).log()

    def rcpt(self, mailbox):
        """(salt, id) of a queued recipient, from the queue itself."""
        db = sqlite3.connect(os.path.join(self.sender.state, "queue.db"))
        row = db.execute("SELECT c.salt, r.id FROM recipient r JOIN campaign c"
                         " ON r.campaign = c.id WHERE r.mailbox = ?", (mailbox,)).fetchone()
        db.close()
        return row

    def suppressed(self):
        db = sqlite3.connect(os.path.join(self.sender.state, "suppress.db"))
        rows = dict(db.execute("SELECT address, reason FROM suppression").fetchall())
        db.close()
        return rows


@pytest.fixture
def serve(world, sender):
    s = Serve(sender)
    yield s
    if s.p.poll() is None:
        s.stop()


def send(sender, rows, **kw):
    sender.rows(rows)
    return sender.run(config=INBOUND, **kw)


def test_verp_return_path_and_list_unsubscribe(world, sender):
    r = send(sender, [["user30@ok.test", "A", "1"]])
    assert r.rc == 0, r.err
    msg = open(maildir_files(world, "ok.test", "user30")[-1], "rb").read().decode()
    rp = [l for l in msg.splitlines() if l.startswith("Return-Path:")][0]
    assert rp.startswith("Return-Path: <bounces+") and rp.endswith(f"@{W.BOUNCE_DOMAIN}>"), rp
    assert f"List-Unsubscribe: <http://{HTTP}/u/" in msg
    assert f"<mailto:unsubscribe+" in msg
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in msg
    # the log names the return path each attempt used
    last = r.last_by_recipient()["user30@ok.test"]
    assert f"Return-Path: <{last['return_path']}>" == rp


def test_real_postfix_dsn_suppresses_the_right_recipient(world, sender, serve):
    r = send(sender, [["user31@later.test", "A", "1"], ["ghost31@later.test", "G", "2"]])
    assert r.rc == 4, r.err  # handed to the running serve
    assert "delivers it" in r.err
    # serve delivers; mx.later.test accepts both, forwards, and bounces ghost31
    assert wait_for(lambda: any(x.get("outcome") == "dsn" for x in serve.log()), timeout=30), \
        serve.log()
    dsn = [x for x in serve.log() if x.get("outcome") == "dsn"][0]
    assert dsn["recipient"] == "ghost31@later.test"
    assert dsn["category"] == "invalid_recipient"
    assert dsn["list_action"] == "hard_bounce"
    assert "recipient from envelope" in dsn["evidence"]
    assert "5.1.1" in dsn["enhanced"]
    assert serve.suppressed() == {"ghost31@later.test": "hard_bounce"}
    maildir_files(world, "ok.test", "user31")
    # the next campaign skips the suppressed address and says why
    r2 = send(sender, [["ghost31@later.test", "G", "2"], ["user32@ok.test", "B", "3"]],
              extra_args=("--campaign", "next"))
    assert "skipped 1 suppressed" in r2.err, r2.err


def test_one_click_unsubscribe(world, sender, serve):
    r = send(sender, [["user33@ok.test", "A", "1"], ["user34@ok.test", "B", "2"]])
    assert r.rc == 4, r.err
    files = maildir_files(world, "ok.test", "user33", timeout=20)
    msg = open(files[-1], "rb").read().decode()
    url = msg.split(f"List-Unsubscribe: <")[1].split(">")[0]
    # a GET (a link scanner, a preview) shows a page and changes nothing
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.status == 200 and b"<form method=\"post\"" in resp.read()
    assert serve.suppressed() == {}
    # the provider's one-click POST (RFC 8058)
    t0 = time.time()
    p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                        "-d", "List-Unsubscribe=One-Click", url], capture_output=True,
                       text=True, timeout=10)
    assert p.stdout == "200"
    assert time.time() - t0 < 1.0
    assert serve.suppressed() == {"user33@ok.test": "unsubscribe"}
    # the next campaign skips that address and says why
    r2 = send(sender, [["user33@ok.test", "A", "1"]], extra_args=("--campaign", "again"))
    assert r2.rc == 4 and "skipped 1 suppressed" in r2.err, r2.err
    with open(os.path.join(sender.state, "skipped-again.csv")) as f:
        assert "user33@ok.test,suppressed,unsubscribe" in f.read()
    # a tampered token is refused
    bad = url[:-1] + ("0" if url[-1] != "0" else "1")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(urllib.request.Request(bad, data=b"x", method="POST"), timeout=5)
    assert e.value.code == 404
    assert serve.suppressed() == {"user33@ok.test": "unsubscribe"}


def smtp_to_serve():
    s = smtplib.SMTP(W.INBOUND_IP, 25, timeout=10)
    s.ehlo("tester.test")
    return s


def test_mailto_unsubscribe_and_complaint(world, sender, serve):
    r = send(sender, [["user35@ok.test", "A", "1"], ["user36@ok.test", "B", "2"],
                      ["user37@ok.test", "C", "3"]])
    assert r.rc == 4, r.err
    for u in ("user35", "user36", "user37"):
        maildir_files(world, "ok.test", u, timeout=20)
    salt, rid = serve.rcpt("user35@ok.test")
    s = smtp_to_serve()
    s.sendmail("someone@example.test", [f"unsubscribe+{token('unsub', salt, rid)}@{W.BOUNCE_DOMAIN}"],
               b"Subject: unsubscribe\r\n\r\nplease\r\n")
    # an ARF complaint whose original carries our return path
    salt, rid = serve.rcpt("user36@ok.test")
    arf = open(os.path.join(os.path.dirname(__file__), "..", "golden", "reports",
                            "real-yahoo-fbl-v1.eml"), "rb").read()
    verp = f"bounces+{token('bounce', salt, rid)}@{W.BOUNCE_DOMAIN}"
    arf = arf.replace(b"Original-Mail-From: <shironeko@example.com>",
                      f"Original-Mail-From: <{verp}>".encode())
    s.sendmail("", [f"fbl@{W.BOUNCE_DOMAIN}"], arf)
    # an auth-failure report about user37 is not a complaint
    salt, rid = serve.rcpt("user37@ok.test")
    af = open(os.path.join(os.path.dirname(__file__), "..", "golden", "reports",
                           "real-dmarc-auth-failure.eml"), "rb").read()
    af = af.replace(b"Original-Mail-From: sironeko@example.org",
                    f"Original-Mail-From: bounces+{token('bounce', salt, rid)}@{W.BOUNCE_DOMAIN}"
                    .encode())
    s.sendmail("", [f"fbl@{W.BOUNCE_DOMAIN}"], af)
    s.quit()
    assert serve.suppressed() == {"user35@ok.test": "unsubscribe", "user36@ok.test": "complaint"}
    kinds = {x["outcome"]: x for x in serve.log() if x.get("stage") == "inbound"}
    assert kinds["complaint"]["recipient"] == "user36@ok.test"
    assert "feedback-type abuse" in kinds["complaint"]["evidence"]
    assert kinds["auth_failure_report"]["recipient"] == "user37@ok.test"
    assert kinds["auth_failure_report"]["list_action"] is None


def test_hostile_input_to_the_listener(world, sender, serve):
    s = smtp_to_serve()
    s.mail("")
    # a forged return path, an unknown campaign (validly signed), no such
    # address, another domain: all refused at RCPT
    for rcpt in (f"bounces+aaaa.1.0011223344556677@{W.BOUNCE_DOMAIN}",
                 f"bounces+{token('bounce', 'ffffffffffff', 99)}@{W.BOUNCE_DOMAIN}",
                 f"nobody-here@{W.BOUNCE_DOMAIN}", "someone@ok.test"):
        code, msg = s.rcpt(rcpt)
        assert code == 550, (rcpt, code, msg)
    s.rset()
    # postmaster is always accepted; garbage in it is logged, never acted on
    s.sendmail("", [f"postmaster@{W.BOUNCE_DOMAIN}"],
               b"Content-Type: multipart/report; boundary=\"x\"\r\n\r\n--x\r\n"
               b"Content-Type: message/delivery-status\r\n\r\n\x00\xff garbage\r\n")
    # a message over inbound.max_message_size: refused at MAIL when SIZE says
    # so, else counted while read and refused with 552 after its end
    with pytest.raises(smtplib.SMTPSenderRefused) as e:
        s.sendmail("", [f"postmaster@{W.BOUNCE_DOMAIN}"], b"X: y\r\n\r\n" + b"a" * 70000)
    assert e.value.smtp_code == 552
    assert s.mail("")[0] == 250 and s.rcpt(f"postmaster@{W.BOUNCE_DOMAIN}")[0] == 250
    code, _ = s.data(b"X: y\r\n\r\n" + (b"a" * 998 + b"\r\n") * 70)
    assert code == 552
    # too many bad commands: 421, then the server closes
    s2 = smtp_to_serve()
    for _ in range(12):
        try:
            code, _ = s2.docmd("BOGUS")
        except smtplib.SMTPServerDisconnected:
            break
    s.quit()
    # past inbound.message_rate_per_ip, MAIL gets 451 (the sender retries)
    s4 = smtp_to_serve()
    codes = []
    for _ in range(12):
        codes.append(s4.mail("")[0])
        s4.rset()
    assert 451 in codes and codes[0] == 250, codes
    s4.quit()
    # the server keeps serving
    s3 = smtp_to_serve()
    assert s3.noop()[0] == 250
    s3.quit()
    assert serve.suppressed() == {}
    assert serve.p.poll() is None


def test_bounces_import_from_a_maildir(world, sender, tmp_path):
    r = send(sender, [["user42@ok.test", "A", "1"]])
    assert r.rc == 0, r.err
    db = sqlite3.connect(os.path.join(sender.state, "queue.db"))
    salt, rid = db.execute("SELECT c.salt, r.id FROM recipient r JOIN campaign c"
                           " ON r.campaign = c.id").fetchone()
    db.close()
    dsn = open(os.path.join(os.path.dirname(__file__), "..", "golden", "reports",
                            "real-postfix-gmail-5.1.1-nosuchuser.eml"), "rb").read()
    verp = f"bounces+{token('bounce', salt, rid)}@{W.BOUNCE_DOMAIN}"
    dsn = dsn.replace(b"Return-Path: <sironeko@neko.example.com>",
                      f"Return-Path: <{verp}>".encode())
    mbox = tmp_path / "bounces.mbox"  # the same DSN in an mbox, with an auto-reply
    mbox.write_bytes(b"From MAILER-DAEMON Fri Nov 27 02:00:00 2026\n" + dsn.replace(b"\r\n", b"\n")
                     + b"\nFrom someone@example.test Fri Nov 27 02:00:01 2026\n"
                     b"Subject: Automatic reply\nAuto-Submitted: auto-replied\n\naway\n")
    md = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (md / sub).mkdir(parents=True)
    (md / "new" / "1.eml").write_bytes(dsn)
    (md / "cur" / "2.eml").write_bytes(b"From: someone@example.test\r\nSubject: Out of Office"
                                       b"\r\nAuto-Submitted: auto-replied\r\n\r\naway\r\n")
    cfg = sender.write("imp.yaml", yaml_text(merged(INBOUND)))
    p = subprocess.run([SLUICE, "bounces", "import", "--config", cfg, "--state", sender.state,
                        str(md)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "autoreply" in p.stdout and "dsn" in p.stdout
    p = subprocess.run([SLUICE, "bounces", "import", "--config", cfg, "--state", sender.state,
                        str(mbox)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert [l.split() for l in p.stdout.splitlines()[1:3]] == [["dsn", "1"], ["autoreply", "1"]]
    db = sqlite3.connect(os.path.join(sender.state, "suppress.db"))
    assert db.execute("SELECT address, reason FROM suppression").fetchall() == \
        [("user42@ok.test", "hard_bounce")]
    db.close()


PACED = """policies:
  - domain: ok.test
    message_rate: 5/s
    max_connections: 1
"""


def test_complaint_rate_pauses_a_running_campaign(world, sender):
    monitor = {"monitor": {"min_messages": "1", "complaint_pause": "10%"}}
    serve = Serve(sender, monitor, PACED)
    try:
        sender.rows([[f"user{u}@ok.test", "C", str(u)] for u in range(100, 140)])
        cfg = dict(INBOUND, **monitor)
        r = sender.run(config=cfg, extra_yaml=PACED, extra_args=("--campaign", "news"))
        assert r.rc == 4, r.err
        delivered = lambda: [x for x in serve.log() if x.get("outcome") == "delivered"]
        assert wait_for(lambda: len(delivered()) >= 3, timeout=20)
        salt, rid = serve.rcpt(delivered()[0]["recipient"])
        arf = open(os.path.join(os.path.dirname(__file__), "..", "golden", "reports",
                                "real-yahoo-fbl-v1.eml"), "rb").read()
        verp = f"bounces+{token('bounce', salt, rid)}@{W.BOUNCE_DOMAIN}"
        arf = arf.replace(b"Original-Mail-From: <shironeko@example.com>",
                          f"Original-Mail-From: <{verp}>".encode())
        s = smtp_to_serve()
        s.sendmail("", [f"fbl@{W.BOUNCE_DOMAIN}"], arf)
        s.quit()
        # serve stops the campaign within its poll interval; what is left stays queued
        time.sleep(4)
        n = len(delivered())
        time.sleep(2)
        assert len(delivered()) == n < 40
    finally:
        serve.stop()
    p = subprocess.run([SLUICE, "report", "--campaign", "news", "--state", sender.state],
                       capture_output=True, text=True, timeout=30)
    assert "complaint" in p.stdout and "PAUSED" in p.stdout, p.stdout
