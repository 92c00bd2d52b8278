"""sluice send against a real Postfix receiver (and real DNS): what arrives,
byte for byte, and what the log says for every outcome."""
import os
import re
import subprocess

from conftest import TEMPLATE, maildir_files


def maildir_messages(world, domain, user, at_least=1):
    out = []
    for path in maildir_files(world, domain, user, at_least):
        with open(path, "rb") as f:
            out.append(f.read().decode("utf-8", "replace"))
    return out


def message_with(world, domain, user, needle):
    found = [m for m in maildir_messages(world, domain, user) if needle in m]
    assert len(found) == 1, f"expected one message with {needle!r} for {user}@{domain}, got {len(found)}"
    return found[0]


MULTIPART = """\
From: "Sluice News" <news@news.sluice.test>
To: "{{name}}" <{{email}}>
Subject: Your code {{code}}, {{name}}
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Hi {{name}},
.this line starts with a dot
.
code={{code}}
--b1
Content-Type: text/html; charset=utf-8

<p>Hi {{name}}</p><p>{{{code}}}</p>
--b1--
"""


def test_delivers_merged_message_byte_for_byte(world, sender):
    sender.rows([["alice@ok.test", "Alice & Co", "<A1>"],
                 ["bob@ok.test", '"Bøb Ünïcode"', "B2"]])
    r = sender.run(template=MULTIPART)
    assert r.rc == 0, r.err
    log = r.last_by_recipient()
    assert log["alice@ok.test"]["outcome"] == "delivered"
    assert log["bob@ok.test"]["outcome"] == "delivered"

    alice = message_with(world, "ok.test", "alice", log["alice@ok.test"]["message_id"])
    body = alice[alice.index("Message-ID:"):]
    expected = (
        f"Message-ID: {log['alice@ok.test']['message_id']}\n"
        "Date: DATE\n"
        f"Feedback-ID: {log['alice@ok.test']['campaign']}:default:bulk:news.sluice.test\n"
        'From: "Sluice News" <news@news.sluice.test>\n'
        'To: "Alice & Co" <alice@ok.test>\n'
        "Subject: Your code <A1>, Alice & Co\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/alternative; boundary="b1"\n'
        "\n--b1\nContent-Type: text/plain; charset=utf-8\n\n"
        "Hi Alice & Co,\n.this line starts with a dot\n.\ncode=<A1>\n"
        "--b1\nContent-Type: text/html; charset=utf-8\n\n"
        "<p>Hi Alice &amp; Co</p><p><A1></p>\n--b1--\n")
    body = re.sub(r"^Date: .*$", "Date: DATE", body, count=1, flags=re.M)
    assert body == expected

    bob = message_with(world, "ok.test", "bob", log["bob@ok.test"]["message_id"])
    # a non-ASCII value in a quoted header word becomes an RFC 2047 encoded word
    assert "To: =?UTF-8?B?QsO4YiDDnG7Dr2NvZGU=?= <bob@ok.test>" in bob
    assert "Hi Bøb Ünïcode," in bob
    assert "@news.sluice.test>" in log["bob@ok.test"]["message_id"]


def test_received_header_shows_helo_source_ip_and_tls(world, sender):
    sender.rows([["carol@ok.test", "Carol", "tls-check-1"]])
    r = sender.run()
    assert r.rc == 0, r.err
    rec = r.last_by_recipient()["carol@ok.test"]
    msg = message_with(world, "ok.test", "carol", rec["message_id"])
    assert "Received: from mta1.sluice.test (unknown [127.0.0.10])" in msg
    assert "using TLSv1" in msg  # STARTTLS is opportunistic by default
    assert rec["tls"].startswith("TLSv1")
    assert rec["helo"] == "mta1.sluice.test" and rec["source_ip"] == "127.0.0.10"
    assert rec["mx_host"] == "mx.ok.test" and rec["mx_ip"] == "127.0.1.1"
    assert rec["stage"] == "dot" and rec["code"] == 250


def test_tls_policy_off_sends_in_plaintext(world, sender):
    sender.rows([["dave@ok.test", "Dave", "plain-1"]])
    r = sender.run(extra_yaml="policies:\n  - domain: ok.test\n    tls: off\n")
    assert r.rc == 0, r.err
    rec = r.last_by_recipient()["dave@ok.test"]
    assert rec["tls"] == "none"
    msg = message_with(world, "ok.test", "dave", rec["message_id"])
    assert "using TLS" not in msg


def test_unknown_user_bounces_and_full_mailbox_defers_then_expires(world, sender):
    sender.rows([["user10@ok.test", "U", "1"], ["ghost@ok.test", "N", "2"],
                 ["full@ok.test", "F", "3"]])
    r = sender.run()
    assert r.rc == 1, r.err  # some bounced or expired
    log = r.log()
    last = r.last_by_recipient()
    assert last["user10@ok.test"]["outcome"] == "delivered"
    nobody = last["ghost@ok.test"]
    assert (nobody["outcome"], nobody["stage"], nobody["code"], nobody["enhanced"]) == \
        ("bounced", "rcpt", 550, "5.1.1")
    assert "User unknown" in nobody["reply"]
    assert nobody["category"] == "invalid_recipient"
    assert nobody["list_action"] == "hard_bounce"  # unambiguous: suppressed at once
    full = [x for x in log if x["recipient"] == "full@ok.test"]
    assert [x["outcome"] for x in full][-1] == "expired"
    assert all(x["code"] == 452 and x["enhanced"] == "4.2.2" for x in full)
    assert len(full) >= 2 and full[0]["outcome"] == "deferred"
    assert full[-1]["category"] == "mailbox_full"
    assert full[-1]["list_action"] == "soft_bounce"  # one soft bounce: counted, not suppressed
    assert "bounced" in r.out and "expired" in r.out  # the summary table

    # the next campaign skips the suppressed address and says why
    sender.rows([["user10@ok.test", "U", "1"], ["ghost@ok.test", "N", "2"],
                 ["full@ok.test", "F", "3"]])
    r2 = sender.run(extra_args=("--campaign", "second"))
    assert "skipped 1 suppressed" in r2.err, r2.err
    with open(os.path.join(sender.state, "skipped-second.csv")) as f:
        skipped = f.read()
    assert "ghost@ok.test,suppressed,hard_bounce" in skipped
    assert "full@ok.test" not in skipped


def test_mx_fallback_and_implicit_mx(world, sender):
    sender.rows([["user11@multi.test", "M", "1"], ["user12@nomx.test", "N", "2"]])
    r = sender.run()
    assert r.rc == 0, r.err
    last = r.last_by_recipient()
    assert last["user11@multi.test"]["mx_host"] == "mx.ok.test"  # the preferred MX refused
    assert last["user11@multi.test"]["site"] == "mx-dead.multi.test,mx.ok.test"
    assert last["user12@nomx.test"]["mx_host"] == "nomx.test"  # RFC 5321 5.1
    assert len(maildir_messages(world, "multi.test", "user11")) == 1
    assert len(maildir_messages(world, "nomx.test", "user12")) == 1


def test_dns_failures_bounce_or_defer_without_connecting(world, sender):
    sender.rows([["a@nullmx.test", "A", "1"], ["b@nx.test", "B", "2"],
                 ["c@noaddr.test", "C", "3"], ["d@refused.test", "D", "4"],
                 ["e@timeout.test", "E", "5"]])
    r = sender.run()
    assert r.rc == 1
    last = r.last_by_recipient()
    for rcpt, code, enh in [("a@nullmx.test", 556, "5.1.10"), ("b@nx.test", 550, "5.1.2"),
                            ("c@noaddr.test", 550, "5.4.4")]:
        rec = last[rcpt]
        assert (rec["outcome"], rec["stage"], rec["code"], rec["enhanced"]) == \
            ("bounced", "dns", code, enh), rec
        assert rec["mx_ip"] is None  # no connection was made
    for rcpt in ("d@refused.test", "e@timeout.test"):
        recs = [x for x in r.log() if x["recipient"] == rcpt]
        assert recs[0]["outcome"] == "deferred" and recs[0]["stage"] == "dns"
        assert recs[-1]["outcome"] == "expired"


def test_idn_domain_is_delivered_in_a_labels(world, sender):
    sender.rows([["user13@café.test", "Idn", "1"]])
    r = sender.run()
    assert r.rc == 0, r.err
    rec = r.last_by_recipient()["user13@xn--caf-dma.test"]
    assert rec["outcome"] == "delivered"
    assert len(maildir_messages(world, "xn--caf-dma.test", "user13")) == 1


def test_same_command_again_sends_nothing_twice(world, sender):
    sender.rows([[f"user{i}@ok.test", "R", f"resume-{i}"] for i in range(20, 30)])
    r1 = sender.run()
    assert r1.rc == 0, r1.err
    r2 = sender.run()
    assert r2.rc == 0, r2.err
    assert "0 queued, 10 already queued" in r2.err
    for i in range(20, 30):
        assert len(maildir_messages(world, "ok.test", f"user{i}")) == 1
    assert len(r2.log()) == 10  # no new attempt was made


def test_summary_tables_and_exit_status(world, sender):
    sender.rows([["user30@ok.test", "S", "1"], ["nobody2@ok.test", "S", "2"]])
    r = sender.run()
    assert r.rc == 1
    assert re.search(r"^delivered\s+1$", r.out, re.M)
    assert re.search(r"^bounced\s+1$", r.out, re.M)
    assert re.search(r"^invalid_recipient\s+0\s+0\s+1\s+0$", r.out, re.M)
    assert re.search(r"^ok.test\s+1\s+0\s+1\s+0$", r.out, re.M)
    # without a terminal: plain status lines
    assert "delivered 1" in r.err and "msg/s" in r.err


def test_live_progress_line_on_a_terminal(world, sender):
    sender.rows([[f"user{i}@ok.test", "T", f"tty-{i}"] for i in range(40, 45)])
    argv = sender.args()
    cmd = " ".join(f"'{a}'" for a in argv)
    # script(1) gives sluice a terminal; its output is what a person would see
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, timeout=60)
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0, out
    assert "\r\x1b[K" in out  # the progress line redraws itself in place
    assert re.search(r"delivered 5 .* queued 0 .* msg/s +ETA", out)
