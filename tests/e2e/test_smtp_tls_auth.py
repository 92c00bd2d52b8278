"""The SMTP server (src/smtp/server.c) as a submission server: STARTTLS and
implicit TLS, AUTH PLAIN and LOGIN checked by an asynchronous owner, the
delays and lockouts of failed AUTHs, require_auth, and the TLS traps
(plaintext pipelined behind STARTTLS, a handshake never finished). Until
serve runs a submission listener, the server runs in tests/tools/
smtp_server_demo (user alice, password s3cret; every message "queued as
TEST" and printed)."""
import base64
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "world"))
import world as W  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEMO = os.environ.get("SMTP_SERVER_DEMO") or os.path.join(
    ROOT, "build", "tests", "tools", "smtp_server_demo")
IP = "127.0.7.1"  # nothing else of the test world listens here
STARTTLS_PORT, IMPLICIT_PORT = 587, 465


def b64(s):
    return base64.b64encode(s.encode()).decode()


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@pytest.fixture(scope="module")
def cert():
    d = tempfile.mkdtemp(prefix="sluice-submit-")
    yield W.make_cert(d)
    shutil.rmtree(d, ignore_errors=True)


class Demo:
    def __init__(self, cert, *flags):
        assert os.path.exists(DEMO), f"{DEMO} is missing: make unit"
        key, crt = cert
        self.dir = tempfile.mkdtemp(prefix="sluice-demo-")
        self.out_path = os.path.join(self.dir, "out")
        self.err_path = os.path.join(self.dir, "err")
        self.proc = subprocess.Popen(
            [DEMO, "--listen", f"{IP}:{STARTTLS_PORT}", "--listen-tls", f"{IP}:{IMPLICIT_PORT}",
             "--cert", crt, "--key", key, *flags],
            stdout=open(self.out_path, "w"), stderr=open(self.err_path, "w"))
        W.wait_port(IP, STARTTLS_PORT)
        W.wait_port(IP, IMPLICIT_PORT)

    def out(self):
        with open(self.out_path) as f:
            return f.read()

    def err(self):
        with open(self.err_path) as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def demo(cert, request):
    flags = getattr(request, "param", ())
    d = Demo(cert, *flags)
    yield d
    d.stop()


def starttls(s):
    s.ehlo("client.test")
    assert s.has_extn("starttls")
    code, _ = s.starttls(context=tls_context())
    assert code == 220
    s.ehlo("client.test")


MSG = "From: alice@submit.test\r\nTo: bob@example.test\r\nSubject: hi\r\n\r\nhello\r\n"


def test_starttls_auth_plain_and_login_then_send(demo):
    ways = [("PLAIN", True), ("PLAIN", False), ("LOGIN", True), ("LOGIN", False)]
    for mech, initial in ways:
        with smtplib.SMTP(IP, STARTTLS_PORT, timeout=10) as s:
            s.ehlo("client.test")
            assert not s.has_extn("auth")  # never offered in plaintext
            starttls(s)
            assert not s.has_extn("starttls")
            assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
            for ext in ("pipelining", "size", "8bitmime", "smtputf8", "enhancedstatuscodes"):
                assert s.has_extn(ext), ext
            s.user, s.password = "alice", "s3cret"
            auth = s.auth_plain if mech == "PLAIN" else s.auth_login
            code, text = s.auth(mech, auth, initial_response_ok=initial)
            assert code == 235 and b"2.7.0 Authentication successful" in text
            code, _ = s.docmd("AUTH", "PLAIN " + b64("\0alice\0s3cret"))
            assert code == 503  # one AUTH a session
            refused = s.sendmail("alice@submit.test", ["bob@example.test", "carol@example.test"],
                                 MSG, mail_options=["SIZE=100", "BODY=8BITMIME", "SMTPUTF8"])
            assert refused == {}
    lines = [l for l in demo.out().splitlines() if l.startswith("message")]
    assert len(lines) == 4, demo.out()
    assert all("rcpts=2 user=alice identity=42 tls=1" in l for l in lines), lines


def test_swaks_starttls_and_implicit(demo):
    for flags in (["--server", f"{IP}:{STARTTLS_PORT}", "--tls", "--auth", "PLAIN"],
                  ["--server", f"{IP}:{IMPLICIT_PORT}", "--tlsc", "--auth", "LOGIN"]):
        r = subprocess.run(["swaks", *flags, "--auth-user", "alice", "--auth-password", "s3cret",
                            "--from", "alice@submit.test", "--to", "bob@example.test"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "235 2.7.0 Authentication successful" in r.stdout
        assert "250 2.0.0 Ok: queued as TEST" in r.stdout
        assert "221 2.0.0" in r.stdout  # the last reply reaches the client under TLS
    assert demo.out().count("user=alice identity=42 tls=1") == 2


def test_implicit_tls(demo):
    with smtplib.SMTP_SSL(IP, IMPLICIT_PORT, timeout=10, context=tls_context()) as s:
        s.ehlo("client.test")
        assert not s.has_extn("starttls")  # already TLS
        assert s.has_extn("auth")
        s.login("alice", "s3cret")
        s.sendmail("alice@submit.test", ["bob@example.test"], MSG)
    assert "tls=1" in demo.out()


def test_auth_before_starttls_gets_538(demo):
    with smtplib.SMTP(IP, STARTTLS_PORT, timeout=10) as s:
        s.ehlo("client.test")
        code, text = s.docmd("AUTH", "PLAIN " + b64("\0alice\0s3cret"))
        assert code == 538 and b"5.7.11 Encryption required" in text
        code, _ = s.docmd("AUTH", "LOGIN")
        assert code == 538


def test_mail_before_auth_gets_530(demo):
    with smtplib.SMTP(IP, STARTTLS_PORT, timeout=10) as s:
        s.ehlo("client.test")
        code, text = s.docmd("MAIL", "FROM:<alice@submit.test>")
        assert code == 530 and b"5.7.0 Authentication required" in text
        starttls(s)
        code, text = s.docmd("MAIL", "FROM:<alice@submit.test>")
        assert code == 530
        code, _ = s.docmd("RCPT", "TO:<bob@example.test>")
        assert code == 503  # nothing goes further
    assert "message" not in demo.out()


def test_base64_junk_and_cancel_get_501(demo):
    with smtplib.SMTP(IP, STARTTLS_PORT, timeout=10) as s:
        starttls(s)
        code, _ = s.docmd("AUTH", "PLAIN !!!not-base64!!!")
        assert code == 501
        code, _ = s.docmd("AUTH", "PLAIN " + b64("no separators here"))
        assert code == 501
        code, _ = s.docmd("AUTH", "LOGIN")
        assert code == 334
        code, _ = s.docmd("%%%junk")
        assert code == 501
        code, _ = s.docmd("AUTH", "PLAIN")
        assert code == 334
        code, _ = s.docmd("*")
        assert code == 501  # cancelled
        code, _ = s.docmd("AUTH", "CRAM-MD5")
        assert code == 504
        s.user, s.password = "alice", "s3cret"
        code, _ = s.auth("PLAIN", s.auth_plain)
        assert code == 235  # none of that counted as a failure


@pytest.mark.parametrize("demo", [("--max-failures", "3", "--delay-ms", "300")], indirect=True)
def test_wrong_password_delayed_then_locked_out(demo):
    with smtplib.SMTP(IP, STARTTLS_PORT, timeout=20) as s:
        starttls(s)
        for i in range(1, 4):
            t0 = time.monotonic()
            code, text = s.docmd("AUTH", "PLAIN " + b64("\0alice\0wrong-guess"))
            took = time.monotonic() - t0
            assert code == 535 and b"5.7.8 Authentication credentials invalid" in text
            assert took >= 0.3 * i - 0.05, (i, took)  # held back, longer each time
        t0 = time.monotonic()
        code, text = s.docmd("AUTH", "PLAIN " + b64("\0alice\0s3cret"))
        assert code == 454 and b"4.7.0 Too many failed attempts" in text
        assert time.monotonic() - t0 < 0.3  # at once, the owner not asked
    # another connection from the same client: still locked out
    with smtplib.SMTP(IP, STARTTLS_PORT, timeout=20) as s:
        starttls(s)
        code, _ = s.docmd("AUTH", "LOGIN " + b64("alice"))
        assert code == 454  # the client is: not even asked for the password
    err = demo.err()
    assert re.search(r"warning: .*client 127\.\S+ locked out for 900s after 3 failed AUTHs", err), err
    assert "user alice locked out" in err, err
    assert "wrong-guess" not in err and "s3cret" not in err


def test_bad_auths_close_the_session(cert):
    d = Demo(cert, "--max-failures", "50", "--delay-ms", "10")
    try:
        with smtplib.SMTP(IP, STARTTLS_PORT, timeout=20) as s:
            starttls(s)
            codes = [s.docmd("AUTH", "PLAIN " + b64("\0alice\0nope"))[0] for _ in range(10)]
            assert codes[:9] == [535] * 9, codes
            assert codes[9] in (421, 535), codes
            with pytest.raises((smtplib.SMTPServerDisconnected, ConnectionError)):
                for _ in range(3):
                    s.docmd("NOOP")
    finally:
        d.stop()


def read_reply(sock):
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
        lines = data.split(b"\r\n")
        if len(lines) >= 2 and lines[-2][3:4] == b" ":
            return data


def test_plaintext_pipelined_after_starttls_is_discarded(demo):
    sock = socket.create_connection((IP, STARTTLS_PORT), timeout=5)
    assert read_reply(sock).startswith(b"220 ")
    sock.sendall(b"EHLO client.test\r\n")
    assert b"250-STARTTLS" in read_reply(sock)
    sock.sendall(b"STARTTLS\r\nEHLO injected.test\r\nMAIL FROM:<evil@x.test>\r\n")
    assert read_reply(sock).startswith(b"220 2.0.0 Ready to start TLS")
    tls = tls_context().wrap_socket(sock)
    tls.settimeout(1.0)
    with pytest.raises(socket.timeout):
        tls.recv(4096)  # the injected commands are not answered
    tls.settimeout(5)
    tls.sendall(b"MAIL FROM:<alice@submit.test>\r\n")
    assert read_reply(tls).startswith(b"503")  # no EHLO: the session started over
    tls.sendall(b"EHLO client.test\r\n")
    r = read_reply(tls)
    assert b"250-AUTH PLAIN LOGIN" in r and b"STARTTLS" not in r
    tls.close()


@pytest.mark.parametrize("demo", [("--idle-ms", "1000",)], indirect=True)
def test_unfinished_handshake_is_dropped(demo):
    # implicit TLS: a client that connects and says nothing, or half a hello
    for half in (b"", b"\x16\x03\x01\x00\xff\x01"):
        sock = socket.create_connection((IP, IMPLICIT_PORT), timeout=6)
        sock.sendall(half) if half else None
        t0 = time.monotonic()
        assert sock.recv(4096) == b""  # closed, without a word
        assert time.monotonic() - t0 < 4
        sock.close()
    # STARTTLS, then no handshake
    sock = socket.create_connection((IP, STARTTLS_PORT), timeout=6)
    read_reply(sock)
    sock.sendall(b"EHLO client.test\r\n")
    read_reply(sock)
    sock.sendall(b"STARTTLS\r\n")
    assert read_reply(sock).startswith(b"220 ")
    t0 = time.monotonic()
    assert sock.recv(4096) == b""
    assert time.monotonic() - t0 < 4
    sock.close()
