"""sluice serve faces the internet: attacks on a running serve, on loopback.

Each test starts `sluice serve` (Serve from test_inbound: SMTP on
127.0.6.1:25, the one-click HTTP endpoint on 127.0.6.1:8025), attacks it from
Python (raw sockets, smtplib, http.client), and then checks that serve
 - is still running and answers EHLO and an HTTP GET at once (still_serving),
 - kept its memory bounded (RSS growth from right after start, sampled during
   the attack; bounds leave room for ASan, where sluice uses 2-3x the memory),
 - suppressed nobody it should not have, counted no complaint it should not
   have, and wrote the delivery log it should.

What is attacked:
  1  the base64 decoder of an attached original (4,094- and 1,000-char lines)
  2  forged DSNs, ARF reports and plain bounces naming other recipients by
     guessed Message-IDs (sluice signs its Message-IDs: <SALT.ID.MAC@domain>)
  3  SMTP pipelining without ever reading the replies
  4  HTTP pipelining without ever reading the responses
  5  HTTP connection floods (caps per server and per IP) and slow requests
     (a total deadline per request)
  6  one huge message of tiny status groups to 100 recipients: it must not
     freeze the event loop
  7  replayed and multiplied complaints: once per recipient per campaign
  8  SMTP slowloris: idle time counts from the last complete line, a session
     has a lifetime, DATA has a minimum rate
  9  log flooding with unverifiable mail to postmaster
  10 postmaster of other domains is not ours
  11 SMTP smuggling with bare LFs
  12 invalid UTF-8 in a report's evidence
  14 memory for messages in flight (inbound.memory_limit)
(13, per-IP limits keyed on IPv6 /64 and their eviction, is in the C unit tests.)

Clients bind to distinct 127.0.9.x source addresses to look like distinct
client IPs; nothing here connects outside 127.0.0.0/8. Every attack is
bounded in bytes, connections and time.
"""
import base64
import contextlib
import email
import email.policy
import errno
import glob
import hashlib
import hmac
import http.client
import json
import os
import re
import resource
import select
import signal
import smtplib
import socket
import sqlite3
import struct
import threading
import time

import pytest

import world as W
from conftest import wait_for
from test_inbound import HTTP, INBOUND, Serve, send, token

HERE = os.path.dirname(os.path.abspath(__file__))
REPORTS = os.path.join(HERE, "..", "golden", "reports")
HTTP_ADDR = (HTTP.split(":")[0], int(HTTP.split(":")[1]))
CHECK_IP = "127.0.9.250"  # still_serving's client: never one of the attackers
RSS_GROWTH_MB = 150       # bound on serve's RSS growth during an attack (ASan included)
POSTMASTER = f"postmaster@{W.BOUNCE_DOMAIN}"
FBL = f"fbl@{W.BOUNCE_DOMAIN}"
FROM_DOMAIN = "news.sluice.test"
# where rate limiting of MAIL is not what a test is about, it must not get in
# the way of sending the attack (INBOUND has 5/s)
NO_RATE = {"inbound": {"message_rate_per_ip": "100000/s"}}


def attacker_ip(n):
    return f"127.0.9.{n}"


# ---- serve, its memory, and whether it still serves ----

def rss_mb(pid):
    """Resident set size of a process, in MB (VmRSS of /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError(f"process {pid} has no VmRSS (a zombie?)")


def listens(pid, ip, port):
    """Whether process pid has a TCP socket listening on ip:port (IPv4)."""
    want = "%08X:%04X" % (struct.unpack("<I", socket.inet_aton(ip))[0], port)
    with open("/proc/net/tcp") as f:
        inodes = {p[9] for p in (line.split() for line in list(f)[1:])
                  if p[1] == want and p[3] == "0A"}
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in inodes:
            return True
    return False


class Served(Serve):
    """test_inbound's Serve, plus: its stderr is drained while it runs (a
    flood of log lines would otherwise fill the pipe and block serve, which
    is not the failure under test), its RSS right after start (rss0), a
    quick failure when serve exits at start (e.g. a setting it does not know),
    and optionally a lower soft RLIMIT_NOFILE for serve (as a service gets by
    default) than the test process has."""

    def __init__(self, sender, extra=None, extra_yaml="", nofile=None):
        old_limit = resource.getrlimit(resource.RLIMIT_NOFILE)
        orig_wait_port = W.wait_port

        def wait_port(ip, port, timeout=15.0):
            # this serve listens (not another one, e.g. of a concurrent run)
            end = time.time() + timeout
            while time.time() < end:
                if getattr(self, "p", None) is not None:
                    if self.p.poll() is not None:
                        raise RuntimeError("serve exited at start")
                    if listens(self.p.pid, ip, port):
                        return
                time.sleep(0.05)
            raise RuntimeError(f"serve does not listen on {ip}:{port} after {timeout}s")

        W.wait_port = wait_port  # only for the duration of Serve.__init__
        # Under ASan, freed memory waits in a quarantine (256 MB by default)
        # before reuse: RSS would measure ASan, not serve. A small one keeps
        # the bounds about serve's own memory.
        asan = os.environ.get("ASAN_OPTIONS")
        if asan is not None:
            os.environ["ASAN_OPTIONS"] = asan + ":quarantine_size_mb=16"
        try:
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (min(nofile, old_limit[1]),
                                                            old_limit[1]))
            super().__init__(sender, extra, extra_yaml)
        except RuntimeError as e:
            if self.p.poll() is None:
                self.p.kill()
            _, err = self.p.communicate(timeout=10)
            pytest.fail(f"serve did not start ({e}): {err[-3000:]}")
        finally:
            W.wait_port = orig_wait_port
            resource.setrlimit(resource.RLIMIT_NOFILE, old_limit)
            if asan is not None:
                os.environ["ASAN_OPTIONS"] = asan
        self.rss0 = rss_mb(self.p.pid)
        self._err = bytearray()
        self._drains = [threading.Thread(target=self._drain, args=(f, buf), daemon=True)
                        for f, buf in ((self.p.stderr.buffer, self._err),
                                       (self.p.stdout.buffer, bytearray()))]
        for t in self._drains:
            t.start()

    @staticmethod
    def _drain(f, buf):
        while True:
            chunk = f.read1(65536)
            if not chunk:
                return
            buf.extend(chunk)

    def stderr(self):
        return bytes(self._err)

    def halt(self):
        """SIGTERM, wait; its exit status (killed after 20 s)."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=20)
            except Exception:
                self.p.kill()
                self.p.wait(timeout=10)
        for t in self._drains:
            t.join(timeout=10)
        return self.p.returncode

    def db(self, sql, args=()):
        db = sqlite3.connect(os.path.join(self.sender.state, "queue.db"))
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def log_lines(self):
        path = os.path.join(self.sender.state, "delivery.log")
        if not os.path.exists(path):
            return []
        with open(path, "rb") as f:
            return [line for line in f.read().split(b"\n") if line.strip()]


@contextlib.contextmanager
def serving(sender, extra=None, extra_yaml="", nofile=None):
    """A running Served; stopped at the end (exit status 0 asserted unless
    the test already failed)."""
    s = Served(sender, extra, extra_yaml, nofile)
    ok = False
    try:
        yield s
        ok = True
    finally:
        rc = s.halt()
        if ok:
            assert rc == 0, s.stderr()[-3000:].decode(errors="replace")


class RssWatch:
    """Samples a process's RSS every 50 ms while in the with block; peak is
    the highest seen."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = rss_mb(pid)
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except (OSError, AssertionError):
                return
            self._stop.wait(0.05)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(timeout=5)
        try:
            self.peak = max(self.peak, rss_mb(self.pid))
        except (OSError, AssertionError):
            pass


def assert_rss_growth(serve, watch, bound=RSS_GROWTH_MB):
    growth = watch.peak - serve.rss0
    print(f"RSS: {serve.rss0:.0f} MB at start, peak {watch.peak:.0f} MB")
    assert growth < bound, (f"serve's RSS grew by {growth:.0f} MB (from {serve.rss0:.0f} MB "
                            f"to a peak of {watch.peak:.0f} MB), bound {bound} MB")


def http_get(path="/u/x", src=CHECK_IP, timeout=2.0):
    """(status, seconds) of one GET to serve's HTTP endpoint."""
    t0 = time.monotonic()
    c = http.client.HTTPConnection(W.INBOUND_IP, HTTP_ADDR[1], timeout=timeout,
                                   source_address=(src, 0))
    try:
        c.request("GET", path, headers={"Connection": "close"})
        r = c.getresponse()
        r.read()
        return r.status, time.monotonic() - t0
    finally:
        c.close()


def still_serving(serve, src=CHECK_IP):
    """serve runs, and answers EHLO and an HTTP GET, each within 2 s."""
    assert serve.p.poll() is None, f"serve exited with {serve.p.returncode}: " + \
        serve.stderr()[-2000:].decode(errors="replace")
    t0 = time.monotonic()
    s = smtplib.SMTP(W.INBOUND_IP, 25, timeout=2, source_address=(src, 0))
    try:
        code, _ = s.ehlo("checker.test")
        assert code == 250, code
    finally:
        s.close()
    dt = time.monotonic() - t0
    assert dt < 2.0, f"EHLO took {dt:.1f}s"
    status, dt = http_get(src=src)
    assert status < 500 and dt < 2.0, (status, dt)


# ---- raw clients ----

class Client:
    """A raw TCP client of serve from a chosen loopback source address, with
    SMTP reply reading."""

    def __init__(self, src, port=25, timeout=10.0):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self.s.bind((src, 0))
            self.s.settimeout(timeout)
            self.s.connect((W.INBOUND_IP, port))
        except BaseException:
            self.s.close()
            raise
        self.buf = b""

    def close(self):
        self.s.close()

    def send(self, data):
        self.s.sendall(data)

    def line(self, timeout=10.0):
        """One line (without CRLF); None at EOF or reset."""
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no line from serve in {timeout}s (have {self.buf[:200]!r})")
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def reply(self, timeout=10.0):
        """(code, text of the last line) of one SMTP reply; (None, "") at EOF."""
        while True:
            line = self.line(timeout)
            if line is None:
                return None, ""
            if len(line) < 4 or line[3:4] != b"-":
                try:
                    return int(line[:3]), line.decode(errors="replace")
                except ValueError:
                    return 0, line.decode(errors="replace")

    def cmd(self, text, timeout=10.0):
        self.send(text.encode() + b"\r\n")
        return self.reply(timeout)

    def start_mail(self, rcpts, mail_from=""):
        """Banner, EHLO, MAIL, RCPTs; the RCPT codes."""
        assert self.reply()[0] == 220
        assert self.cmd("EHLO attacker.test")[0] == 250
        code, text = self.cmd(f"MAIL FROM:<{mail_from}>")
        assert code == 250, text
        return [self.cmd(f"RCPT TO:<{r}>")[0] for r in rcpts]


def closed_by_peer(sock, timeout):
    """Reads (and drops) whatever comes until the peer closes; the seconds it
    took, or None if still open after timeout."""
    t0 = time.monotonic()
    end = t0 + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return time.monotonic() - t0
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0
        except socket.timeout:
            return None


def smtp_send(src, rcpts, msg, mail_from="", every_rcpt=True):
    """One message over smtplib from src: (code, text) of the end of DATA.
    every_rcpt: each RCPT must get 250 (else only the first)."""
    s = smtplib.SMTP(W.INBOUND_IP, 25, timeout=30, source_address=(src, 0))
    try:
        s.ehlo("reporter.test")
        code, text = s.mail(mail_from)
        assert code == 250, (code, text)
        for i, r in enumerate(rcpts):
            code, text = s.rcpt(r)
            assert code == 250 or (i and not every_rcpt), (r, code, text)
        return s.data(msg)
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            pass
        s.close()


@contextlib.contextmanager
def fd_limit(n):
    """The test process may open n descriptors (soft limit raised, restored after)."""
    old = resource.getrlimit(resource.RLIMIT_NOFILE)
    hard = old[1] if old[1] != resource.RLIM_INFINITY else n
    if old[0] != resource.RLIM_INFINITY and old[0] < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, old)


# ---- reports, forged and genuine ----

def orig_headers(message_id, to, extra=""):
    """The header of an original message as a report attaches it."""
    return (f"Message-ID: {message_id}\r\nFrom: \"Sluice News\" <news@{FROM_DOMAIN}>\r\n"
            f"To: <{to}>\r\nSubject: Hello\r\nDate: Thu, 27 Nov 2026 02:00:00 +0000\r\n"
            + extra)


def dsn(final_rcpt, original, *, status="5.1.1", diag="smtp; 550 5.1.1 user unknown",
        remote="dns; mx.victim.test", reporting="dns; mx.victim.test",
        original_type="text/rfc822-headers"):
    """An RFC 3464 DSN (bytes; non-ASCII characters become single bytes)."""
    return ("From: Mail Delivery System <MAILER-DAEMON@mx.victim.test>\r\n"
            f"To: <{POSTMASTER}>\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"BB\"\r\n"
            "\r\n--BB\r\nContent-Type: text/plain\r\n\r\n"
            "Your message could not be delivered.\r\n"
            "\r\n--BB\r\nContent-Type: message/delivery-status\r\n\r\n"
            f"Reporting-MTA: {reporting}\r\n\r\n"
            f"Final-Recipient: rfc822; {final_rcpt}\r\nAction: failed\r\nStatus: {status}\r\n"
            f"Remote-MTA: {remote}\r\nDiagnostic-Code: {diag}\r\n"
            f"\r\n--BB\r\nContent-Type: {original_type}\r\n\r\n{original}"
            "\r\n--BB--\r\n").encode("latin-1")


def arf(rcpt, original, mail_from=None, feedback_type="abuse"):
    """An RFC 5965 feedback report (bytes)."""
    omf = f"Original-Mail-From: <{mail_from}>\r\n" if mail_from else ""
    return ("From: Feedback Loop <feedback@fbl.victim.test>\r\n"
            f"To: <{FBL}>\r\nSubject: FW: Hello\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=feedback-report; boundary=\"FF\"\r\n"
            "\r\n--FF\r\nContent-Type: text/plain\r\n\r\nThis is an abuse report.\r\n"
            "\r\n--FF\r\nContent-Type: message/feedback-report\r\n\r\n"
            f"Feedback-Type: {feedback_type}\r\nUser-Agent: forger/1.0\r\nVersion: 1\r\n"
            f"{omf}Original-Rcpt-To: <{rcpt}>\r\nSource-IP: 192.0.2.1\r\n"
            "\r\n--FF\r\nContent-Type: message/rfc822\r\n\r\n"
            f"{original}\r\nhello\r\n\r\n--FF--\r\n").encode("latin-1")


def plain_bounce(rcpt, original, mime):
    """A non-standard bounce from a mailer-daemon: qmail style (the original
    inline in the text) or MIME (text plus a text/rfc822-headers part)."""
    head = ("From: MAILER-DAEMON@mx.victim.test\r\n"
            f"To: <{POSTMASTER}>\r\nSubject: failure notice\r\n")
    text = (f"Sorry, we were unable to deliver your message to the following address.\r\n"
            f"\r\n<{rcpt}>:\r\n550 5.1.1 user unknown\r\n\r\n")
    if not mime:
        return (head + "\r\n" + text + "--- Below this line is a copy of the message.\r\n\r\n"
                + original + "\r\nhello\r\n").encode("latin-1")
    return (head + "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"MM\"\r\n"
            "\r\n--MM\r\nContent-Type: text/plain\r\n\r\n" + text +
            "--MM\r\nContent-Type: text/rfc822-headers\r\n\r\n" + original +
            "\r\n--MM--\r\n").encode("latin-1")


def genuine_arf(verp):
    """A real Yahoo feedback report whose original carried our return path
    (as tests/e2e/test_inbound.py builds it)."""
    with open(os.path.join(REPORTS, "real-yahoo-fbl-v1.eml"), "rb") as f:
        report = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # SMTP: CRLF
    return report.replace(b"Original-Mail-From: <shironeko@example.com>",
                          f"Original-Mail-From: <{verp}>".encode())


def header(raw, name):
    """A header field of a message (bytes), unfolded."""
    v = email.message_from_bytes(raw, policy=email.policy.compat32)[name]
    assert v is not None, f"no {name} in the delivered copy"
    return re.sub(r"\r?\n[ \t]+", " ", str(v)).strip()


def delivered_copy(world, mailbox, salt, timeout=25):
    """The delivered copy of this campaign's message to mailbox (the Maildir
    may hold other tests' messages: the campaign's salt picks ours)."""
    user, domain = mailbox.split("@")
    found = []

    def look():
        for path in glob.glob(os.path.join(world.maildir(domain, user), "*")):
            with open(path, "rb") as f:
                data = f.read()
            if salt.encode() in data:
                found.append(data)
                return True
        return False

    assert wait_for(look, timeout=timeout, step=0.2), f"no delivered copy for {mailbox}"
    return found[0]


def queue_campaign(sender, serve, users, config=None):
    """Queues a campaign to users with serve running; {mailbox: (salt, id)}."""
    rows = [[u, "R", str(i)] for i, u in enumerate(users)]
    if config is None:
        r = send(sender, rows)
    else:
        sender.rows(rows)
        r = sender.run(config=config)
    assert r.rc == 4, r.err  # handed to the running serve
    return {u: serve.rcpt(u) for u in users}


def delivered(serve):
    return [x for x in serve.log() if x.get("outcome") == "delivered"]


# ---- 1: base64 ----

def b64_dsn(line_len):
    """A ~41 KB DSN whose attached original is base64 in lines of line_len."""
    body = "".join(f"line {i:05d} of the original message, some text to fill it up ok\r\n"
                   for i in range(470))
    original = orig_headers("<b64@example.test>", "someone@example.test") + "\r\n" + body
    b64 = base64.b64encode(original.encode()).decode()
    lines = "\r\n".join(b64[i:i + line_len] for i in range(0, len(b64), line_len))
    msg = dsn("someone@example.test", "", original_type="message/rfc822")
    msg = msg.replace(b"Content-Type: message/rfc822\r\n\r\n",
                      b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                      + lines.encode())
    assert 38000 < len(msg) < 44000, len(msg)
    return msg


def test_base64_original_with_long_lines(world, sender):
    with serving(sender) as serve:
        with RssWatch(serve.p.pid) as watch:
            for n, line_len in enumerate((4094, 1000)):
                code, text = smtp_send(attacker_ip(1 + n), [POSTMASTER], b64_dsn(line_len))
                assert code == 250, (line_len, code, text)
                still_serving(serve)
        assert_rss_growth(serve, watch)
        assert serve.suppressed() == {}


# ---- 2: forged reports ----

def test_forged_reports_suppress_nobody(world, sender):
    with serving(sender, NO_RATE) as serve:
        users = [f"user{u}@ok.test" for u in range(200, 220)]
        rows = queue_campaign(sender, serve, users)
        attacker = users[0]
        salt, own = rows[attacker]
        assert all(s == salt for s, _ in rows.values())
        by_id = {rid: u for u, (_, rid) in rows.items()}
        copy = delivered_copy(world, attacker, salt)
        genuine_mid = header(copy, "Message-ID")
        genuine_lu = header(copy, "List-Unsubscribe")
        own_mac = genuine_mid.strip("<>").split("@")[0].split(".")[-1]
        wrong_key = hmac.new(b"not-the-secret", b"x", hashlib.sha256).hexdigest()[:16]
        kinds = []  # what was sent, for the assertion messages
        n = 0
        with RssWatch(serve.p.pid) as watch:
            s = smtplib.SMTP(W.INBOUND_IP, 25, timeout=30, source_address=(attacker_ip(1), 0))
            try:
                s.ehlo("forger.test")
                for rid in range(1, 26):
                    if rid == own:
                        continue
                    victim = by_id.get(rid, f"ghost{rid}@ok.test")
                    anything = (own_mac, "0" * 16, wrong_key, "x")[rid % 4]
                    for mid in (f"<{salt}.{rid}.{anything}@{FROM_DOMAIN}>",  # the signed form
                                f"<{rid}.{salt}@{FROM_DOMAIN}>"):            # the old unsigned
                        original = orig_headers(mid, victim)
                        for rcpt, msg in ((POSTMASTER, dsn(victim, original)),
                                          (FBL, arf(victim, original)),
                                          (POSTMASTER, plain_bounce(victim, original, rid % 2))):
                            n += 1
                            s.sendmail("", [rcpt], msg)
                            kinds.append((rid, mid, rcpt))
            finally:
                s.close()
        assert n == 24 * 6
        sup = serve.suppressed()
        assert set(sup) <= {attacker}, f"forged reports suppressed {sup}"
        complaints = serve.db("SELECT detail FROM sign WHERE kind='complaint'")
        assert [d for (d,) in complaints if d != attacker] == [], complaints
        named = {x.get("recipient") for x in serve.log() if x.get("stage") == "inbound"}
        assert named <= {None, attacker}, f"forged reports attributed to {named}"
        assert_rss_growth(serve, watch)
        still_serving(serve)

        # the control: the attacker's own genuine Message-ID is honoured
        code, text = smtp_send(attacker_ip(2), [POSTMASTER],
                               dsn(attacker, orig_headers(genuine_mid, attacker)))
        assert code == 250, text
        assert serve.suppressed() == {attacker: "hard_bounce"}
        last = [x for x in serve.log() if x.get("stage") == "inbound"][-1]
        assert last["recipient"] == attacker and last["outcome"] == "dsn", last

        # the attacker's genuine List-Unsubscribe next to a victim's forged
        # Message-ID: at most the attacker is affected
        victim = users[1]
        vid = rows[victim][1]
        original = orig_headers(f"<{salt}.{vid}.{own_mac}@{FROM_DOMAIN}>", victim,
                                f"List-Unsubscribe: {genuine_lu}\r\n")
        assert smtp_send(attacker_ip(3), [FBL], arf(victim, original))[0] == 250
        assert set(serve.suppressed()) == {attacker}
        complaints = serve.db("SELECT detail FROM sign WHERE kind='complaint'")
        assert [d for (d,) in complaints if d != attacker] == [], complaints
        assert serve.db("SELECT count(*) FROM campaign_pause") == [(0,)]

        # sluice signs its Message-IDs like its VERP tokens
        assert genuine_mid == f"<{token('msgid', salt, own)}@{FROM_DOMAIN}>", genuine_mid
        still_serving(serve)


# ---- 3, 4: pipelining without reading ----

def flood(src, port, payload, limit, deadline, socks, sent):
    """Sends payload repeatedly from src until limit bytes, the deadline, or
    the socket blocks (serve stopped reading) or is closed; never reads.
    The socket is left open in socks (the caller closes it)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    socks.append(s)
    s.bind((src, 0))
    s.settimeout(2.0)
    s.connect((W.INBOUND_IP, port))
    s.settimeout(0.5)
    total = 0
    try:
        while total < limit and time.monotonic() < deadline:
            s.sendall(payload)
            total += len(payload)
    except (socket.timeout, BrokenPipeError, ConnectionResetError):
        pass
    sent[src] = total


def run_floods(serve, port, payload, limit, conns=10):
    socks, sent, threads = [], {}, []
    deadline = time.monotonic() + 12
    try:
        with RssWatch(serve.p.pid) as watch:
            for i in range(conns):
                t = threading.Thread(target=flood, args=(attacker_ip(1 + i), port, payload,
                                                         limit, deadline, socks, sent))
                t.start()
                threads.append(t)
            for t in threads:
                t.join(timeout=20)
            time.sleep(1.0)  # what serve still has buffered, it processes now
        # serve answers while the flooding connections are still open
        still_serving(serve)
    finally:
        for s in socks:
            s.close()
    return watch, sent


def test_smtp_pipelining_without_reading(world, sender):
    with serving(sender) as serve:
        watch, sent = run_floods(serve, 25, b"EHLO x\r\n" * 8192, 8 << 20)
        print("bytes sent per connection:", sorted(sent.values()))
        assert len(sent) == 10, sent
        assert_rss_growth(serve, watch)
        still_serving(serve)
        assert serve.suppressed() == {}


def test_http_pipelining_without_reading(world, sender):
    req = b"GET /u/0123456789ab.1.0123456789abcdef HTTP/1.1\r\nHost: x\r\n\r\n"
    with serving(sender) as serve:
        watch, sent = run_floods(serve, HTTP_ADDR[1], req * (65536 // len(req)), 4 << 20)
        print("bytes sent per connection:", sorted(sent.values()))
        assert len(sent) == 10, sent
        assert_rss_growth(serve, watch)
        still_serving(serve)
        assert serve.suppressed() == {}


# ---- 5: HTTP connection caps and the per-request deadline ----

HTTP_MAX_PER_IP = 8      # inbound.http_max_connections_per_ip, default
HTTP_MAX = 256           # inbound.http_max_connections, default


def test_http_connection_caps(world, sender):
    """1,100 connections from 10 IPs that send one header byte and then
    nothing; serve (with the 1,024 descriptors a service gets by default)
    closes those beyond its caps and keeps answering others."""
    n, ips = 1100, 10
    with serving(sender, nofile=1024) as serve, fd_limit(n + 200):
        socks, state = [], {}  # fd -> "connecting", "open", "closed"
        poller = select.poll()
        try:
            with RssWatch(serve.p.pid) as watch:
                for i in range(n):
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    socks.append(s)
                    s.setblocking(False)
                    s.bind((attacker_ip(1 + i % ips), 0))
                    rc = s.connect_ex(HTTP_ADDR)
                    state[s.fileno()] = ("closed" if rc not in (0, errno.EINPROGRESS)
                                         else "connecting")
                    poller.register(s, select.POLLOUT | select.POLLIN)
                by_fd = {s.fileno(): s for s in socks}
                t0 = time.monotonic()
                end = t0 + 8
                t_capped = None
                while time.monotonic() < end:
                    for fd, ev in poller.poll(100):
                        s = by_fd[fd]
                        if state[fd] == "connecting":
                            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                                state[fd] = "closed"
                                poller.unregister(fd)
                                continue
                            state[fd] = "open"
                            poller.modify(fd, select.POLLIN)
                            try:
                                s.send(b"G")
                            except OSError:
                                state[fd] = "closed"
                                poller.unregister(fd)
                            continue
                        try:
                            data = s.recv(65536)
                        except BlockingIOError:
                            continue
                        except OSError:
                            data = b""
                        if not data:
                            state[fd] = "closed"
                            poller.unregister(fd)
                    still_open = sum(1 for v in state.values() if v != "closed")
                    if still_open <= HTTP_MAX_PER_IP * ips and t_capped is None:
                        t_capped = time.monotonic() - t0
                    if t_capped is not None and time.monotonic() - t0 > 3:
                        break
                counts = {k: list(state.values()).count(k) for k in ("open", "connecting",
                                                                      "closed")}
                print(f"after {time.monotonic() - t0:.1f}s: {counts}, capped at {t_capped}")
                # while they are open, another client is served at once
                still_serving(serve, src="127.0.9.200")
            assert t_capped is not None and t_capped < 5, \
                f"connections beyond the caps not closed: {counts}"
            assert counts["open"] + counts["connecting"] <= min(HTTP_MAX,
                                                                HTTP_MAX_PER_IP * ips), counts
        finally:
            for s in socks:
                s.close()
        assert_rss_growth(serve, watch)
        still_serving(serve)
    err = serve.stderr()
    assert len(err) < 100_000, f"serve wrote {len(err)} bytes to stderr: {err[-500:]!r}"
    assert err.count(b"Error from accept") < 5, err[-1000:]


def test_http_request_deadline(world, sender):
    """inbound.http_timeout is a total deadline per request: a header byte
    every 0.5 s does not keep a connection open past it."""
    with serving(sender, {"inbound": {"http_timeout": "2s"}}) as serve:
        c = Client(attacker_ip(1), port=HTTP_ADDR[1])
        try:
            trickle = b"GET /u/x HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 64
            t0 = time.monotonic()
            closed_at = None
            for i in range(len(trickle)):
                try:
                    c.send(trickle[i:i + 1])
                except (BrokenPipeError, ConnectionResetError):
                    closed_at = time.monotonic() - t0
                    break
                if closed_by_peer(c.s, 0.5) is not None:
                    closed_at = time.monotonic() - t0
                    break
                if time.monotonic() - t0 > 8:
                    break
            assert closed_at is not None and closed_at < 4.0, \
                f"a slow request kept its connection for {time.monotonic() - t0:.1f}s"
        finally:
            c.close()
        still_serving(serve)


# ---- 6: one message must not freeze serve ----

def test_huge_report_to_many_recipients_does_not_freeze(world, sender):
    groups = b"X: y\r\n\r\n" * (1 << 20)  # 8 MB of tiny field groups
    msg = (b"From: MAILER-DAEMON@mx.victim.test\r\nSubject: Undelivered Mail\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"BB\"\r\n"
           b"\r\n--BB\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
           b"\r\n--BB\r\nContent-Type: message/delivery-status\r\n\r\n"
           b"Reporting-MTA: dns; mx.victim.test\r\n\r\n" + groups + b"\r\n--BB--\r\n")
    result = {}

    def attack():
        c = Client(attacker_ip(1), timeout=60)
        try:
            codes = c.start_mail([POSTMASTER] * 99 + [FBL])
            result["rcpt"] = codes
            code, text = c.cmd("DATA")
            assert code == 354, text
            c.send(msg)
            t0 = time.monotonic()
            c.send(b".\r\n")
            result["data"] = c.reply(timeout=60)
            result["dt"] = time.monotonic() - t0
        except Exception as e:  # reported by the main thread
            result["error"] = repr(e)
        finally:
            c.close()

    with serving(sender, {"inbound": {"max_message_size": "10MB"}}) as serve:
        latencies = []
        with RssWatch(serve.p.pid) as watch:
            t = threading.Thread(target=attack)
            t.start()
            end = time.monotonic() + 45
            while t.is_alive() and time.monotonic() < end:
                try:
                    status, dt = http_get(timeout=10)
                except OSError as e:
                    status, dt = repr(e), 10.0
                latencies.append((round(dt, 2), status))
                time.sleep(0.02)
            t.join(timeout=30)
        print(f"DATA answered {result.get('data')} after {result.get('dt')}s;"
              f" {len(latencies)} HTTP GETs meanwhile, the slowest {max(latencies, default=None)}")
        assert "error" not in result, result
        assert result["rcpt"][0] == 250 and result["rcpt"][-1] == 250, result["rcpt"]
        assert result["data"][0] == 250, result["data"]
        assert result["dt"] < 10, f"DATA answered after {result['dt']:.1f}s"
        assert latencies and max(dt for dt, _ in latencies) < 2.0, \
            f"HTTP answers while the message was processed: {latencies}"
        assert all(isinstance(st, int) and st < 500 for _, st in latencies), latencies
        assert_rss_growth(serve, watch)
        still_serving(serve)
        assert serve.suppressed() == {}


# ---- 7: complaints count once ----

def test_complaints_count_once_per_recipient(world, sender):
    monitor = {"monitor": {"min_messages": "1", "complaint_pause": "50%"}}
    with serving(sender, dict(monitor, **NO_RATE)) as serve:
        users = [f"user{u}@ok.test" for u in range(220, 240)]
        rows = queue_campaign(sender, serve, users, config=dict(INBOUND, **monitor))
        assert wait_for(lambda: len(delivered(serve)) >= 20, timeout=25), len(delivered(serve))
        complainer = users[3]
        salt, rid = rows[complainer]
        report = genuine_arf(f"bounces+{token('bounce', salt, rid)}@{W.BOUNCE_DOMAIN}")
        with RssWatch(serve.p.pid) as watch:
            for i in range(4):  # the same report, replayed
                code, text = smtp_send(attacker_ip(1 + i), [FBL], report)
                assert code == 250, text
            # and once more to 100 envelope recipients
            code, text = smtp_send(attacker_ip(5), [FBL] + [POSTMASTER] * 99, report,
                                   every_rcpt=False)
            assert code == 250, text
        assert serve.db("SELECT count(*), min(detail), max(detail) FROM sign"
                        " WHERE kind='complaint'") == [(1, complainer, complainer)]
        assert serve.db("SELECT campaign, reason FROM campaign_pause") == []
        assert serve.suppressed() == {complainer: "complaint"}
        complaints = [x for x in serve.log() if x.get("outcome") == "complaint"]
        assert complaints and {x["recipient"] for x in complaints} == {complainer}
        assert_rss_growth(serve, watch)
        still_serving(serve)


# ---- 8: slowloris ----

def test_smtp_slowloris(world, sender):
    extra = {"inbound": {"idle_timeout": "3s", "session_timeout": "8s",
                         "min_data_rate": "1KB"}}
    results = {}

    def client(name, src, setup, step, every):
        """Connects, runs setup, then sends step() every `every` seconds
        until serve closes the connection (or 14 s)."""
        c = Client(src, timeout=15)
        t0 = time.monotonic()
        try:
            assert c.reply()[0] == 220
            setup(c)
            while time.monotonic() - t0 < 14:
                try:
                    c.send(step())
                except (BrokenPipeError, ConnectionResetError):
                    break
                if closed_by_peer(c.s, every) is not None:
                    break
            else:
                results[name] = None
                return
            results[name] = time.monotonic() - t0
        except Exception as e:
            results[name] = repr(e)
        finally:
            c.close()

    def in_data(c):
        assert c.cmd("EHLO slow.test")[0] == 250
        assert c.cmd("MAIL FROM:<>")[0] == 250
        assert c.cmd(f"RCPT TO:<{POSTMASTER}>")[0] == 250
        assert c.cmd("DATA")[0] == 354

    with serving(sender, extra) as serve:
        threads = [
            # one byte a second, never a complete line: idle since the banner
            threading.Thread(target=client, args=("bytes", attacker_ip(1), lambda c: None,
                                                  lambda: b"N", 1.0)),
            # a complete command every 2 s: only the session lifetime ends it
            threading.Thread(target=client, args=("noop", attacker_ip(2), lambda c: None,
                                                  lambda: b"NOOP\r\n", 2.0)),
            # a line a second in DATA: far below min_data_rate
            threading.Thread(target=client, args=("data", attacker_ip(3), in_data,
                                                  lambda: b"a\r\n", 1.0)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        b, n, d = results.get("bytes"), results.get("noop"), results.get("data")
        print("disconnected after:", results)
        assert isinstance(b, float) and b < 5.5, f"byte-a-second client: {b}"
        assert isinstance(n, float) and 6.0 < n < 9.5, f"NOOP-every-2s client: {n}"
        assert isinstance(d, float) and d < 9.5, f"trickling DATA client: {d}"
        still_serving(serve)
        assert serve.suppressed() == {}


# ---- 9: log volume ----

def test_unverifiable_mail_does_not_flood_the_log(world, sender):
    with serving(sender, NO_RATE) as serve:
        before = len(serve.log_lines())
        codes = []
        s = smtplib.SMTP(W.INBOUND_IP, 25, timeout=30, source_address=(attacker_ip(1), 0))
        try:
            s.ehlo("chatty.test")
            for _ in range(50):
                assert s.mail("someone@example.test")[0] == 250  # (no rate limit here)
                for _ in range(50):
                    s.rcpt(POSTMASTER)
                codes.append(s.data(b"Subject: hi\r\n\r\nhello\r\n")[0])
        finally:
            s.close()
        grown = len(serve.log_lines()) - before
        print(f"DATA replies {codes}; {grown} new log records")
        assert grown < 100, f"50 messages x 50 recipients wrote {grown} log records ({codes})"
        still_serving(serve)
        assert serve.suppressed() == {}


# ---- 10: postmaster ----

def test_postmaster_is_only_ours(world, sender):
    with serving(sender) as serve:
        c = Client(attacker_ip(1))
        try:
            assert c.reply()[0] == 220
            assert c.cmd("EHLO p.test")[0] == 250
            assert c.cmd("MAIL FROM:<>")[0] == 250
            got = {r: c.cmd(f"RCPT TO:<{r}>") for r in (
                "postmaster@gmail.com", "postmaster@[127.0.0.1]", "postmaster",
                POSTMASTER, POSTMASTER.upper())}
        finally:
            c.close()
        codes = {r: code for r, (code, _) in got.items()}
        assert codes["postmaster@gmail.com"] // 100 == 5, got
        assert codes["postmaster@[127.0.0.1]"] // 100 == 5, got
        assert codes["postmaster"] == 250, got
        assert codes[POSTMASTER] == 250, got
        assert codes[POSTMASTER.upper()] == 250, got
        still_serving(serve)


# ---- 11: SMTP smuggling ----

def test_smtp_smuggling_with_bare_lf(world, sender):
    with serving(sender) as serve:
        victim = "user240@ok.test"
        salt, rid = queue_campaign(sender, serve, [victim])[victim]
        unsub = f"unsubscribe+{token('unsub', salt, rid)}@{W.BOUNCE_DOMAIN}"
        c = Client(attacker_ip(1))
        replies = []
        try:
            assert c.start_mail([POSTMASTER], "a@example.test") == [250]
            assert c.cmd("DATA")[0] == 354
            c.send(b"Subject: a\r\n\r\nbody\n.\nMAIL FROM:<>\n"
                   + f"RCPT TO:<{unsub}>\n".encode() + b"DATA\nx\n.\n")
            time.sleep(0.5)
            try:
                c.send(b"\r\n.\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            # every reply until serve closes or is quiet for 2 s
            while True:
                try:
                    code, text = c.reply(timeout=2)
                except TimeoutError:
                    break
                if code is None:
                    break
                replies.append((code, text))
        finally:
            c.close()
        assert replies, "no reply to the end of data"
        # one transaction, whose smuggled commands did nothing
        assert len(replies) == 1 and replies[0][0] != 354, \
            f"more than one transaction: {replies}"
        assert serve.suppressed() == {}
        assert not [x for x in serve.log() if x.get("outcome") == "unsubscribe"]

        # the token was genuine: sent properly, it unsubscribes
        assert smtp_send(attacker_ip(3), [unsub], b"Subject: unsubscribe\r\n\r\nplease\r\n",
                         "someone@example.test")[0] == 250
        assert serve.suppressed() == {victim: "unsubscribe"}

        # serve reads a line ended by a bare LF as if by CRLF (Postfix's
        # smtpd_forbid_bare_newline = normalize: real reports are written
        # with LF), but never ends DATA there: the smuggled commands above
        # stayed content of the one message
        c = Client(attacker_ip(2))
        try:
            assert c.reply()[0] == 220
            c.send(b"NOOP\n")
            try:
                noop = c.reply(timeout=3)
            except TimeoutError:
                noop = (None, "no reply in 3 s")
        finally:
            c.close()
        still_serving(serve)
        assert replies[0][0] in (250, 550, 554), f"the message was answered {replies}"
        assert noop[0] == 250, f"NOOP<LF> was answered {noop}"


# ---- 12: invalid UTF-8 in evidence ----

def test_invalid_utf8_in_evidence_is_logged(world, sender):
    with serving(sender) as serve:
        before = len(serve.log_lines())
        msg = dsn("nobody@example.test", orig_headers("<u8@example.test>", "nobody@example.test"),
                  reporting="dns; mta\xff\xfe.reporting.test",
                  remote="dns; mta\xff\xfe.remote.test",
                  diag="smtp; 550 5.1.1 user \xff\xfe unknown")
        assert b"\xff\xfe" in msg
        code, text = smtp_send(attacker_ip(1), [POSTMASTER], msg)
        assert code == 250, text
        new = serve.log_lines()[before:]
        recs = []
        for line in new:
            recs.append(json_line(line))
        inbound = [r for r in recs if r.get("stage") == "inbound"]
        assert len(inbound) == 1, recs
        ev = inbound[0].get("evidence")
        assert isinstance(ev, str) and "reporting.test" in ev and "remote.test" in ev, inbound[0]
        still_serving(serve)


def json_line(line):
    """A log line as JSON: valid UTF-8 and valid JSON, or the test fails."""
    try:
        return json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        pytest.fail(f"the delivery log has an invalid line ({e}): {line[:300]!r}")


# ---- 14: memory for messages in flight ----

def test_memory_for_messages_in_flight_is_bounded(world, sender):
    sessions, size = 10, 5 << 20
    chunk = (b"a" * 998 + b"\r\n") * 64  # 64,000 bytes
    chunks = size // len(chunk)
    barrier = threading.Barrier(sessions, timeout=20)
    results = {}

    def session(i):
        c = Client(attacker_ip(1 + i), timeout=30)
        try:
            assert c.start_mail([POSTMASTER]) == [250]
            assert c.cmd("DATA")[0] == 354
            barrier.wait()  # all of them in DATA at once
            c.send(b"Subject: big\r\n\r\n")
            for _ in range(chunks):
                c.send(chunk)
                time.sleep(0.04)
            c.send(b".\r\n")
            results[i] = c.reply(timeout=30)
        except Exception as e:
            results[i] = (None, repr(e))
        finally:
            c.close()

    extra = {"inbound": {"max_message_size": "10MB", "memory_limit": "16MB"}}
    with serving(sender, extra) as serve:
        with RssWatch(serve.p.pid) as watch:
            threads = [threading.Thread(target=session, args=(i,)) for i in range(sessions)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=40)
        codes = [results.get(i, (None, "no result"))[0] for i in range(sessions)]
        print("end of data:", results)
        assert all(c in (250, 452) for c in codes), results
        refused = [text for code, text in results.values() if code == 452]
        assert refused and all("4.3.1" in t for t in refused), results
        assert_rss_growth(serve, watch)
        still_serving(serve)
