"""SMTP submission (RFC 6409) into a running `sluice serve`, with real
clients (Python's smtplib and swaks): STARTTLS on 587 and implicit TLS on
465, AUTH PLAIN and LOGIN against tenants' yescrypt hashes, every refusal
with its reply, the 250 only after the commit (kill -9 right after it loses
nothing), two tenants sending from their own pools with their own DKIM
keys to the test world's Postfix receiver, and SIGTERM: the listeners
refuse at once, a commit owed is still answered."""
import email
import os
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import dkim
import dns.resolver
import pytest

import world as W
from conftest import SLUICE, fault_records, maildir_files, merged, wait_for, yaml_text
from test_campaigns import _log, stop

SUB_IP = W.INBOUND_IP
PORT, PORT_TLS = 587, 465
PASSWORD, PASSWORD2 = "correct horse battery", "second tenant's secret"
USERS = range(300, 330)  # recipients used only here (and 380..382, the SIGTERM tests)


def crypt_hash(pw):
    r = subprocess.run([SLUICE, "tenant", "password"], input=pw + "\n", capture_output=True,
                       text=True, check=True)
    return r.stdout.strip()


@pytest.fixture(scope="module")
def hashes():
    return crypt_hash(PASSWORD), crypt_hash(PASSWORD2)


def config_text(world, tmp, hashes, extra_tenant="", per_minute=0, lockout="15m"):
    key, cert = W.make_cert(tmp)
    cfg = merged({
        "inbound": {"listen": f"{W.INBOUND_IP}:25"},
        "submission": {"listen": f"{SUB_IP}:{PORT}", "listen_tls": f"{SUB_IP}:{PORT_TLS}",
                       "tls_cert": cert, "tls_key": key, "auth_max_failures": 3,
                       "auth_lockout": lockout},
        "retry": {"min_backoff": "1s", "max_backoff": "1s", "max_lifetime": "60s"},
        "bounce": {"domain": W.BOUNCE_DOMAIN, "secret": "a-secret-of-at-least-16-chars"},
    })
    limit = f"    per_minute: {per_minute}\n" if per_minute else ""
    source2 = [f"  - ip: {W.SOURCE2_IP}", f"    helo: {W.SOURCE2_HELO}", "    pool: app"]
    tenants = f"""dkim:
  - domain: {W.DKIM_DOMAIN}
    selector: rsa2048
    key: {world.dkim_keys["rsa2048"]}
  - domain: {W.APP_DOMAIN}
    selector: {W.APP_SELECTOR}
    key: {world.dkim_keys[W.APP_SELECTOR]}
tenants:
  - name: news
    sender_domains: [{W.DKIM_DOMAIN}]
    max_recipients: 5
{limit}    smtp_users:
      - user: news-app
        password_hash: "{hashes[0]}"
  - name: app
    pool: app
    sender_domains: [{W.APP_DOMAIN}]
    smtp_users:
      - user: app@{W.APP_DOMAIN}
        password_hash: "{hashes[1]}"
{extra_tenant}"""
    lines = yaml_text(cfg, tenants).split("\n")
    return "\n".join(lines[:3] + source2 + lines[3:])


def start(sender, text):
    cfg = sender.write("serve.yaml", text)
    p = subprocess.Popen([SLUICE, "serve", "--config", cfg, "--state", sender.state, "--force"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if W.wait_port(SUB_IP, PORT) is False:
        p.kill()
        raise AssertionError(p.communicate()[1])
    return p


def message(frm, to, subject, extra=""):
    return (f"From: <{frm}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n{extra}\r\n"
            f"Hello from the submission test.\r\n").encode()


def client(user=None, pw=None, tls=True):
    s = smtplib.SMTP(SUB_IP, PORT, timeout=10)
    s.ehlo("client.test")
    if tls:
        s.starttls(context=ssl._create_unverified_context())
        s.ehlo("client.test")
    if user:
        s.login(user, pw)
    return s


def submit(s, frm, rcpts, msg):
    """(code, reply) of the final answer, or of the first refusal."""
    code, text = s.mail(frm)
    if code != 250:
        s.rset()
        return code, text.decode()
    for r in rcpts:
        code, text = s.rcpt(r)
        if code not in (250, 251):
            s.rset()
            return code, text.decode()
    code, text = s.data(msg)
    return code, text.decode()


def got(world, user):
    files = maildir_files(world, "ok.test", user, timeout=20)
    with open(files[-1], "rb") as f:
        return f.read()


def dkim_ok(raw):
    def dnsfunc(name, timeout=5):
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = [W.DNS_IP]
        return b"".join(b"".join(x.strings) for x in r.resolve(name.decode().rstrip("."), "TXT"))
    return dkim.verify(raw, dnsfunc=dnsfunc)


def test_submission_delivers_signed_mail_from_each_tenants_pool(world, sender, hashes, tmp_path):
    p = start(sender, config_text(world, str(tmp_path), hashes))
    try:
        with client("news-app", PASSWORD) as s:
            code, reply = submit(s, f"news@{W.DKIM_DOMAIN}", ["user300@ok.test"],
                                 message(f"news@{W.DKIM_DOMAIN}", "user300@ok.test", "one",
                                         "X-Sluice-Expires: 2099-01-01T00:00:00Z\r\n"))
            assert code == 250 and re.search(r"queued as [0-9A-Z]{16}", reply), reply
        # implicit TLS, AUTH LOGIN, the second tenant
        ctx = ssl._create_unverified_context()
        with smtplib.SMTP_SSL(SUB_IP, PORT_TLS, timeout=10, context=ctx) as s:
            s.ehlo("client.test")
            s.login(f"app@{W.APP_DOMAIN}", PASSWORD2, initial_response_ok=False)
            code, reply = submit(s, f"hello@{W.APP_DOMAIN}", ["user301@ok.test"],
                                 message(f"hello@{W.APP_DOMAIN}", "user301@ok.test", "two"))
            assert code == 250, reply
        one, two = got(world, "user300"), got(world, "user301")
    finally:
        err = stop(p)
        print("SERVE", err, _log(sender))
    assert b"X-Sluice-Expires" not in one  # taken, never sent
    for raw in (one, two):
        m = email.message_from_bytes(raw)
        assert m["Message-ID"] and m["Date"]
        assert dkim_ok(raw), raw[:800]
    assert f"d={W.DKIM_DOMAIN}" in email.message_from_bytes(one)["DKIM-Signature"]
    assert f"d={W.APP_DOMAIN}" in email.message_from_bytes(two)["DKIM-Signature"]
    # each left from its tenant's pool: Postfix wrote the client it came from
    assert f"[{W.SOURCE_IP}]" in one.decode(errors="replace")
    assert f"[{W.SOURCE2_IP}]" in two.decode(errors="replace")
    logged = {x["recipient"]: x for x in _log(sender) if x.get("outcome") == "delivered"}
    assert logged["user300@ok.test"]["campaign"] == "submit-news"
    assert logged["user301@ok.test"]["campaign"] == "submit-app"


def test_every_refusal_has_a_clear_reply_and_nothing_is_relayed(world, sender, hashes,
                                                                 tmp_path):
    p = start(sender, config_text(world, str(tmp_path), hashes))
    news = f"news@{W.DKIM_DOMAIN}"
    try:
        # no AUTH before TLS (538), and nothing relayed without AUTH (530)
        s = client(tls=False)
        code, text = s.docmd("AUTH", "PLAIN AG5ld3MtYXBwAGNvcnJlY3Q=")
        assert code == 538, text
        assert s.mail(news)[0] == 530
        s.close()
        s = client(tls=True)
        assert s.mail("someone@elsewhere.example")[0] == 530
        s.close()
        # a foreign sender domain at MAIL, a foreign From after DATA
        with client("news-app", PASSWORD) as s:
            code, text = submit(s, f"x@{W.APP_DOMAIN}", ["user302@ok.test"],
                                message(news, "user302@ok.test", "x"))
            assert code == 553 and "not one of tenant news's domains" in text, text
            code, text = submit(s, news, ["user302@ok.test"],
                                message("ceo@bank.example", "user302@ok.test", "x"))
            assert code == 550 and "From domain bank.example" in text, text
            # too many recipients: the tenant allows 5
            code, text = submit(s, news, [f"user{u}@ok.test" for u in range(303, 309)],
                                message(news, "user303@ok.test", "x"))
            assert code == 452 and "at most 5" in text, text
            # a bad send time header
            code, text = submit(s, news, ["user302@ok.test"],
                                message(news, "user302@ok.test", "x",
                                        "X-Sluice-Send-At: tomorrowish\r\n"))
            assert code == 550 and "X-Sluice-Send-At" in text, text
        # a suppressed recipient is refused at RCPT, saying why (the
        # tenant's scope is its first sender domain)
        r = subprocess.run([SLUICE, "suppress", "add", "user309@ok.test", "--scope",
                            W.DKIM_DOMAIN, "--state", sender.state], capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stderr
        with client("news-app", PASSWORD) as s:
            code, text = submit(s, news, ["user309@ok.test"],
                                message(news, "user309@ok.test", "x"))
            assert code == 550 and "suppression list" in text, text
        # oversize: SIZE is announced and enforced
        with client("news-app", PASSWORD) as s:
            assert int(s.esmtp_features["size"]) > 0
        # a wrong password: 535 after a delay, then locked out (454)
        s = client()
        t0 = time.time()
        with pytest.raises(smtplib.SMTPAuthenticationError) as ei:
            s.login("news-app", "wrong")
        assert ei.value.smtp_code == 535 and time.time() - t0 >= 0.9
        s.close()
        for _ in range(3):
            s = client()
            try:
                s.login("news-app", "wrong again")
            except smtplib.SMTPAuthenticationError as ex:
                last = ex.smtp_code
            s.close()
        assert last == 454
        # swaks, a second real client, gets the lockout too
        r = subprocess.run(["swaks", "--server", SUB_IP, "--port", str(PORT), "--tls",
                            "--auth", "PLAIN", "--auth-user", "news-app", "--auth-password",
                            PASSWORD, "--from", news, "--to", "user302@ok.test",
                            "--timeout", "20"], capture_output=True, text=True)
        assert "454" in r.stdout, r.stdout
    finally:
        err = stop(p)
    assert "locked out" in err, err
    assert not [x for x in _log(sender) if x.get("recipient") == "user302@ok.test"]


def test_a_250_survives_kill_9(world, sender, hashes, tmp_path):
    text = config_text(world, str(tmp_path), hashes)
    # nothing reachable yet: the receiver is a dead address for these
    p = start(sender, text)
    ids = []
    news = f"news@{W.DKIM_DOMAIN}"
    with client("news-app", PASSWORD) as s:
        for u in range(310, 320):
            code, reply = submit(s, news, [f"user{u}@ok.test"],
                                 message(news, f"user{u}@ok.test", f"m{u}",
                                         "X-Sluice-Send-At: 2099-01-01T00:00:00Z\r\n"
                                         if u < 315 else ""))
            assert code == 250, reply
            ids.append(reply.split()[-1])
    p.send_signal(signal.SIGKILL)
    p.wait()
    p = start(sender, text)
    try:
        for u in range(315, 320):
            assert got(world, f"user{u}")
    finally:
        stop(p)
    # the five held until 2099 are still queued, not lost
    q = subprocess.run([SLUICE, "queue", "--state", sender.state], capture_output=True,
                       text=True).stdout
    assert "submit-news" in q, q


def test_a_tenant_over_its_rate_is_told_to_wait_and_others_are_not(world, sender, hashes,
                                                                   tmp_path):
    p = start(sender, config_text(world, str(tmp_path), hashes, per_minute=3))
    news, app = f"news@{W.DKIM_DOMAIN}", f"hi@{W.APP_DOMAIN}"
    try:
        with client("news-app", PASSWORD) as s:
            for u in range(320, 323):
                assert submit(s, news, [f"user{u}@ok.test"],
                              message(news, f"user{u}@ok.test", "r"))[0] == 250
            code, text = s.mail(news)
            assert code == 451 and b"limit of 3 messages a minute" in text, text
        with client(f"app@{W.APP_DOMAIN}", PASSWORD2) as s:
            assert submit(s, app, ["user323@ok.test"], message(app, "user323@ok.test", "r"))[
                0] == 250
    finally:
        stop(p)


def test_a_failed_recipient_gets_a_dsn_and_its_suppression_stays_the_tenants(world, sender,
                                                                            hashes, tmp_path):
    """A tenant without VERP hears of a failure by DSN (RFC 3464) at its
    envelope sender; the hard bounce suppresses the address for that tenant
    only; `sluice queue`, `suppress` and `report` take --tenant."""
    okco = f"""  - name: okco
    sender_domains: [ok.test]
    smtp_users:
      - user: okco
        password_hash: "{hashes[0]}"
"""
    text = config_text(world, str(tmp_path), hashes, extra_tenant=okco)
    p = start(sender, text)
    try:
        with client("okco", PASSWORD) as s:
            code, reply = submit(s, "alice@ok.test", ["nosuchuser@ok.test"],
                                 message("alice@ok.test", "nosuchuser@ok.test", "lost"))
            assert code == 250, reply
        found = []

        def dsn_arrived():  # alice's Maildir may hold other tests' mail
            for f in maildir_files(world, "ok.test", "alice", timeout=1):
                raw = open(f, "rb").read()
                if b"multipart/report" in raw and b"nosuchuser@ok.test" in raw:
                    found.append(email.message_from_bytes(raw))
            return found
        assert wait_for(dsn_arrived, timeout=20)
        dsn = found[0]
        assert dsn.get_content_type() == "multipart/report"
        assert dsn.get_param("report-type") == "delivery-status"
        status = [part for part in dsn.walk()
                  if part.get_content_type() == "message/delivery-status"]
        assert status and "5.1.1" in str(status[0])
    finally:
        stop(p)
    cfg = os.path.join(sender.d, "serve.yaml")

    def run(*args):
        r = subprocess.run([SLUICE, *args, "--config", cfg, "--state", sender.state],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return r.stdout
    assert "nosuchuser@ok.test" in run("suppress", "list", "--tenant", "okco")
    assert "nosuchuser@ok.test" not in run("suppress", "list", "--tenant", "news")
    q = run("queue", "--tenant", "okco")
    assert "submit-okco" in q and "submit-news" not in q, q
    r = subprocess.run([SLUICE, "report", "--campaign", "submit-okco", "--tenant", "news",
                        "--state", sender.state], capture_output=True, text=True)
    assert r.returncode == 2 and "belongs to tenant okco" in r.stderr, r.stderr
    assert "bounced" in run("report", "--campaign", "submit-okco", "--tenant", "okco")


def test_a_paused_tenant_is_held_and_the_other_is_not(world, sender, hashes, tmp_path):
    """tenants[].paused, in force on SIGHUP: the paused tenant's submissions
    get 451 and its queued mail waits; the other tenant is not slowed; on
    resume its mail goes."""
    text = config_text(world, str(tmp_path), hashes)
    p = start(sender, text)
    news, app = f"news@{W.DKIM_DOMAIN}", f"hi@{W.APP_DOMAIN}"
    cfg = os.path.join(sender.d, "serve.yaml")
    try:
        with client("news-app", PASSWORD) as s:
            soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 4))
            assert submit(s, news, ["user324@ok.test"],
                          message(news, "user324@ok.test", "held",
                                  f"X-Sluice-Send-At: {soon}\r\n"))[0] == 250
        paused = text.replace("    sender_domains: [news.sluice.test]\n",
                              "    sender_domains: [news.sluice.test]\n    paused: true\n")
        assert paused != text
        with open(cfg, "w") as f:
            f.write(paused)
        p.send_signal(signal.SIGHUP)
        time.sleep(1)
        with client("news-app", PASSWORD) as s:
            code, text451 = s.mail(news)
            assert code == 451 and b"paused" in text451, text451
        with client(f"app@{W.APP_DOMAIN}", PASSWORD2) as s:
            assert submit(s, app, ["user325@ok.test"],
                          message(app, "user325@ok.test", "not slowed"))[0] == 250
        assert got(world, "user325")
        time.sleep(5)  # past its send time: still held
        assert not [x for x in _log(sender) if x.get("recipient") == "user324@ok.test"]
        with open(cfg, "w") as f:
            f.write(text)
        p.send_signal(signal.SIGHUP)
        assert got(world, "user324")
    finally:
        err = stop(p)
    assert "held: its tenant news is paused" in err, err


def stalled_at_dot(world, rcpt):
    return any(x["outcome"] == "stalled" and rcpt in x["rcpt_tos"]
               for x in fault_records(world, "stalldot"))


def refused(port):
    try:
        socket.create_connection((SUB_IP, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:
        # accepted by the kernel into the backlog just as the listener
        # closed: the next try sees the refusal
        return False
    return False


def test_sigterm_closes_the_listeners_while_serve_finishes(world, sender, hashes, tmp_path):
    """SIGTERM: 587 and 465 refuse new connections at once, while serve
    still finishes (a delivery stalled after its dot holds it up to its
    grace of a second); a session opened before goes on; the message that
    got 250 just before is delivered, by the next serve if need be."""
    text = config_text(world, str(tmp_path), hashes)
    news = f"news@{W.DKIM_DOMAIN}"
    p = start(sender, text)
    try:
        with client("news-app", PASSWORD) as s:
            code, reply = submit(s, news, ["user380@stalldot.test"],
                                 message(news, "user380@stalldot.test", "stall"))
            assert code == 250, reply
        assert wait_for(lambda: stalled_at_dot(world, "user380@stalldot.test"), 20)
        before = client("news-app", PASSWORD)
        code, reply = submit(before, news, ["user381@ok.test"],
                             message(news, "user381@ok.test", "just before SIGTERM"))
        assert code == 250, reply
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        assert wait_for(lambda: refused(PORT) and refused(PORT_TLS), timeout=0.5, step=0.02)
        took = time.monotonic() - t0
        assert p.poll() is None, "serve had already finished: nothing shown"
        assert before.noop()[0] == 250  # a session in progress goes on
        before.close()
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert took < 0.5, took
    p = start(sender, text)
    try:
        assert got(world, "user381")
    finally:
        stop(p)


def test_a_commit_owed_at_sigterm_is_answered_and_delivered(world, sender, hashes, tmp_path):
    """The end of DATA, then SIGTERM at once: the group commit that ends the
    run answers it 250 (written out before serve closes the session), and
    the next serve delivers it."""
    text = config_text(world, str(tmp_path), hashes)
    news = f"news@{W.DKIM_DOMAIN}"
    p = start(sender, text)
    try:
        s = client("news-app", PASSWORD)
        assert s.mail(news)[0] == 250
        assert s.rcpt("user382@ok.test")[0] == 250
        s.putcmd("data")
        assert s.getreply()[0] == 354
        s.send(message(news, "user382@ok.test", "owed at SIGTERM") + b".\r\n")
        p.send_signal(signal.SIGTERM)
        code, reply = s.getreply()
        assert code == 250 and b"queued as" in reply, reply
        s.close()
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    p = start(sender, text)
    try:
        assert got(world, "user382")
    finally:
        stop(p)
