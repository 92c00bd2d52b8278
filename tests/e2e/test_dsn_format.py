"""The DSN sluice writes (src/msg/dsn.c), read by an independent parser:
Python's email package. tests/tools/dsn_demo prints one for fixed inputs;
built by `make unit` / `make e2e` next to the sluice binary under test."""
import email
import email.policy
import email.utils
import os
import subprocess

import pytest

from conftest import SLUICE

DEMO = os.path.join(os.path.dirname(SLUICE), "tests", "tools", "dsn_demo")


def demo(which):
    assert os.path.exists(DEMO), f"{DEMO} is missing: make {os.path.relpath(DEMO)}"
    raw = subprocess.run([DEMO, which], check=True, capture_output=True).stdout
    return raw, email.message_from_bytes(raw, policy=email.policy.compat32)


def status_groups(msg):
    """The delivery-status part's groups: per-message first, then per recipient."""
    parts = msg.get_payload()
    assert parts[1].get_content_type() == "message/delivery-status"
    return parts[1].get_payload()


def assert_wire_form(raw):
    assert raw.endswith(b"\r\n")
    lines = raw.split(b"\r\n")
    for line in lines:
        assert b"\r" not in line and b"\n" not in line
        assert len(line) <= 998
        assert all(b < 0x80 for b in line)


@pytest.mark.parametrize("which", ["failed", "delayed", "hostile"])
def test_multipart_report(which):
    raw, msg = demo(which)
    assert_wire_form(raw)
    assert not msg.defects
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["From"] == "Mail Delivery System <postmaster@out.sluice.example>"
    assert msg["To"] == "<app@submit.example>"
    assert msg["Message-ID"].endswith("@sluice.example>")
    assert email.utils.parsedate_to_datetime(msg["Date"]).timestamp() == 1767225600
    types = [p.get_content_type() for p in msg.get_payload()]
    assert types == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
    for part in msg.walk():
        assert not part.defects, (part.get_content_type(), part.defects)
    assert b"SECRET" not in raw  # the original's body is never returned


def test_failed_fields():
    _, msg = demo("failed")
    assert msg["Subject"] == "Undelivered Mail Returned to Sender"
    groups = status_groups(msg)
    assert len(groups) == 3
    per_msg, alice, bob = groups
    assert per_msg["Reporting-MTA"] == "dns; out.sluice.example"
    assert per_msg["Original-Envelope-Id"] == "receipt-42"
    assert per_msg["X-Sluice-Queue-ID"] == "Q7F3A"
    assert per_msg["Arrival-Date"] == "Sat, 27 Dec 2025 00:00:00 +0000"
    assert alice["Final-Recipient"] == "rfc822;alice@example.net"
    assert alice["Action"] == "failed"
    assert alice["Status"] == "5.1.1"
    assert alice["Remote-MTA"] == "dns; mx1.example.net"
    diag = " ".join(alice["Diagnostic-Code"].split())  # unfolded
    assert diag == ("smtp; 550 5.1.1 <alice@example.net>: Recipient address rejected: "
                    "User unknown in virtual mailbox table")
    assert alice["Last-Attempt-Date"] == "Wed, 31 Dec 2025 23:59:00 +0000"
    assert bob["Final-Recipient"] == "rfc822;bob@example.org"
    assert bob["Status"] == "5.0.0"
    assert bob["Remote-MTA"] is None
    assert bob["Diagnostic-Code"].startswith("X-Sluice; no MX host answered")
    headers = msg.get_payload()[2].get_payload(decode=True)
    orig = email.message_from_bytes(headers)
    assert orig["Message-ID"] == "<r-42@submit.example>"
    assert orig.get_payload() == ""
    text = msg.get_payload()[0].get_payload()
    assert "<alice@example.net>" in text and "<bob@example.org>" in text
    assert "host mx1.example.net said: 550 5.1.1" in " ".join(text.split())


def test_delayed_fields():
    _, msg = demo("delayed")
    assert msg["Subject"] == "Delayed Mail (still being retried)"
    per_msg, alice = status_groups(msg)
    assert alice["Action"] == "delayed"
    assert alice["Status"] == "4.7.1"
    assert alice["Diagnostic-Code"] == "smtp; 451 4.7.1 Greylisted, try again later"


def test_hostile_inputs_make_no_headers():
    raw, msg = demo("hostile")
    # the injected lines are text inside fields, never fields or parts
    for name in ("Bcc", "X-Injected"):
        assert msg[name] is None
        for part in msg.walk():
            assert part[name] is None
        for group in status_groups(msg):
            assert group[name] is None
    assert len(msg.get_payload()) == 3
    per_msg, alice, jorg = status_groups(msg)
    assert per_msg["Original-Envelope-Id"] == "env X-Injected: yes"
    assert alice["Remote-MTA"] == "dns; mx1.example.net"
    assert "Bcc: victim@evil.example" in " ".join(alice["Diagnostic-Code"].split())
    assert jorg["Final-Recipient"] == "utf-8;j\\x{F6}rg\\x{2B}tag@example.org"
    # the 8-bit header comes back byte for byte, quoted-printable
    hdrs = msg.get_payload()[2]
    assert hdrs["Content-Transfer-Encoding"] == "quoted-printable"
    assert b"Subject: Caf\xc3\xa9 receipt\r\n" in hdrs.get_payload(decode=True)
