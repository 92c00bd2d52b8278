"""sluice check against the test DNS server: a well set-up identity passes,
and a bad one (dynamic-looking PTR that does not resolve back, HELO not the
PTR name, not in SPF, on a blocklist, a DKIM record that is not the key, no
List-Unsubscribe) fails with the right reasons."""
import json
import os
import subprocess

import world as W
from conftest import SLUICE


def config(world, source_ip, helo, dkim_key_for_rsa, unsubscribe=True):
    return f"""\
dns:
  resolvers: [{W.DNS_IP}]
  timeout: 1s
sources:
  - ip: {source_ip}
    helo: {helo}
sender:
  envelope_from: bounces@news.sluice.test
  from_domain: news.sluice.test
bounce:
  domain: {W.BOUNCE_DOMAIN}
  secret: check-secret-0123456789
{"unsubscribe:" + chr(10) + "  url: https://news.sluice.test/u" if unsubscribe else ""}
dkim:
  - {{domain: news.sluice.test, selector: rsa2048, key: {dkim_key_for_rsa}}}
  - {{domain: news.sluice.test, selector: ed, key: {world.dkim_keys["ed"]}}}
check:
  dnsbl: {W.DNSBL_ZONE}
  uri_blocklists: {W.URIBL_ZONE}
"""


def run_check(tmp_path, text, *args):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    return subprocess.run([SLUICE, "check", "--config", str(cfg), *args], capture_output=True,
                          text=True, timeout=60)


def results(p):
    return {(r["check"], r["subject"]): r for r in json.loads(p.stdout)}


def test_good_identity_passes(world, tmp_path):
    p = run_check(tmp_path, config(world, W.SOURCE_IP, W.SOURCE_HELO, world.dkim_keys["rsa2048"]))
    assert p.returncode == 0, p.stdout
    assert "0 FAIL" in p.stdout
    p = run_check(tmp_path, config(world, W.SOURCE_IP, W.SOURCE_HELO, world.dkim_keys["rsa2048"]),
                  "--json")
    r = results(p)
    assert r[("ptr", W.SOURCE_IP)]["detail"] == W.SOURCE_HELO
    for key in (("fcrdns", W.SOURCE_IP), ("helo", W.SOURCE_IP), ("ptr-generic", W.SOURCE_IP),
                ("spf", "news.sluice.test (From)"), ("spf", f"{W.BOUNCE_DOMAIN} (envelope)"),
                ("spf", f"{W.SOURCE_HELO} (HELO)"), ("dkim", "rsa2048._domainkey.news.sluice.test"),
                ("dkim", "ed._domainkey.news.sluice.test"), ("dmarc", "news.sluice.test"),
                ("alignment", "news.sluice.test"), ("blocklist", f"{W.SOURCE_IP} in {W.DNSBL_ZONE}"),
                ("bounces", W.BOUNCE_DOMAIN), ("unsubscribe", "List-Unsubscribe")):
        assert r[key]["result"] == "PASS", (key, r[key])
    assert "p=quarantine" in r[("dmarc", "news.sluice.test")]["detail"]


def test_bad_identity_fails_with_reasons(world, tmp_path):
    # the RSA selector configured with the Ed25519 key: DNS has another key
    text = config(world, W.BAD_SOURCE_IP, "mail.sluice.test", world.dkim_keys["ed"],
                  unsubscribe=False)
    p = run_check(tmp_path, text, "--json")
    assert p.returncode == 1, p.stdout + p.stderr
    r = results(p)
    ip = W.BAD_SOURCE_IP
    fails = {k for k, v in r.items() if v["result"] == "FAIL"}
    assert ("fcrdns", ip) in fails
    assert ("helo", ip) in fails and "differs from the PTR name" in r[("helo", ip)]["detail"]
    assert ("ptr-generic", ip) in fails
    assert ("spf", "news.sluice.test (From)") in fails
    assert "fail" in r[("spf", "news.sluice.test (From)")]["detail"]
    assert ("blocklist", f"{ip} in {W.DNSBL_ZONE}") in fails
    assert "seen sending spam" in r[("blocklist", f"{ip} in {W.DNSBL_ZONE}")]["detail"]
    assert ("dkim", "rsa2048._domainkey.news.sluice.test") in fails
    # the bounce domain still gives a mailto List-Unsubscribe: a warning
    assert r[("unsubscribe", "List-Unsubscribe")]["result"] == "WARN"
    assert "one-click" in r[("unsubscribe", "List-Unsubscribe")]["detail"]
    # what still holds is still said
    assert r[("dkim", "ed._domainkey.news.sluice.test")]["result"] == "PASS"
    assert r[("dmarc", "news.sluice.test")]["result"] == "PASS"


def test_send_refuses_a_failing_identity_unless_forced(world, sender, tmp_path):
    text = config(world, W.BAD_SOURCE_IP, "mail.sluice.test", world.dkim_keys["ed"],
                  unsubscribe=False)
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    sender.rows([["user80@ok.test", "A", "1"]])
    tpl = sender.write("t.eml", "From: n@news.sluice.test\nSubject: x\n\nhi\n")
    argv = [SLUICE, "send", "--config", str(cfg), "--template", tpl, "--recipients",
            sender.d + "/list.csv", "--state", sender.state]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stderr
    assert "check: FAIL helo" in p.stderr and "--force" in p.stderr
    assert not os.path.exists(os.path.join(sender.state, "queue.db"))  # nothing queued
    p = subprocess.run(argv + ["--force", "--dry-run"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


BAD_TEMPLATE = f"""\
From: news@news.sluice.test
Subject: Offer
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<p>Great deals at <a href="http://www.{W.LISTED_LINK_DOMAIN}/offer?id={{{{email}}}}">our shop</a>
and <a href="https://news.sluice.test/about">about us</a>.</p>
"""

GOOD_TEMPLATE = """\
From: "Sluice News" <news@news.sluice.test>
Subject: News for {{name}}
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Hello {{name}}. Read more: https://news.sluice.test/read
Unsubscribe: {{unsubscribe_url}}

--b1
Content-Type: text/html; charset=utf-8

<p>Hello {{name}}. <a href="https://news.sluice.test/read">Read more</a></p>
<p><a href="{{unsubscribe_url}}">Unsubscribe</a></p>
--b1--
"""


def test_template_content_and_link_blocklists(world, tmp_path):
    text = config(world, W.SOURCE_IP, W.SOURCE_HELO, world.dkim_keys["rsa2048"])
    bad = tmp_path / "bad.eml"
    bad.write_text(BAD_TEMPLATE)
    p = run_check(tmp_path, text, "--template", str(bad), "--json")
    assert p.returncode == 1, p.stdout + p.stderr
    r = results(p)
    assert r[("from-name", "bad.eml")]["result"] == "WARN"
    assert r[("unsubscribe", "bad.eml")]["result"] == "FAIL"
    assert "{{unsubscribe_url}}" in r[("unsubscribe", "bad.eml")]["detail"]
    assert r[("text-part", "bad.eml")]["result"] == "WARN"
    assert r[("mime", "bad.eml")]["result"] == "PASS"
    # the link's registered domain is listed: FAIL with the listing's reason
    listed = r[("uri-blocklist", f"{W.LISTED_LINK_DOMAIN} in {W.URIBL_ZONE}")]
    assert listed["result"] == "FAIL" and "spam domain (test listing)" in listed["detail"]
    assert r[("uri-blocklist", f"news.sluice.test in {W.URIBL_ZONE}")]["result"] == "PASS"
    # transactional mail needs no unsubscribe link
    p = run_check(tmp_path, text, "--template", str(bad), "--transactional", "--json")
    assert results(p)[("unsubscribe", "bad.eml")]["result"] == "PASS"

    good = tmp_path / "good.eml"
    good.write_text(GOOD_TEMPLATE)
    p = run_check(tmp_path, text, "--template", str(good), "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    r = results(p)
    for check in ("from-name", "unsubscribe", "text-part", "size", "mime"):
        assert r[(check, "good.eml")]["result"] == "PASS", r[(check, "good.eml")]

    # a template that is not MIME at all is named with its line
    broken = tmp_path / "broken.eml"
    broken.write_text("From: a@news.sluice.test\nContent-Type: multipart/mixed\n\nx\n")
    p = run_check(tmp_path, text, "--template", str(broken), "--json")
    assert p.returncode == 1
    r = results(p)
    row = r.get(("template", "broken.eml")) or r.get(("mime", "broken.eml"))
    assert row["result"] == "FAIL", r


def test_send_refuses_a_template_without_unsubscribe_link(world, sender, tmp_path):
    text = config(world, W.SOURCE_IP, W.SOURCE_HELO, world.dkim_keys["rsa2048"])
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    sender.rows([["user81@ok.test", "A", "1"]])
    tpl = sender.write("t.eml", "From: \"N\" <n@news.sluice.test>\nSubject: x\n\nhi\n")
    argv = [SLUICE, "send", "--config", str(cfg), "--template", tpl, "--recipients",
            sender.d + "/list.csv", "--state", sender.state]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stderr
    assert "check: FAIL unsubscribe t.eml" in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(sender.state, "queue.db"))
    # a receipt is transactional: no unsubscribe link needed
    p = subprocess.run(argv + ["--priority", "transactional"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    # the state directory remembers the HELO each source showed
    p = run_check(tmp_path, text, "--state", sender.state, "--json")
    row = results(p)[("helo-history", W.SOURCE_IP)]
    assert row["result"] == "PASS" and "the same HELO since" in row["detail"], row
    moved = text.replace(f"helo: {W.SOURCE_HELO}", f"helo: {W.SOURCE2_HELO}")
    p = run_check(tmp_path, moved, "--state", sender.state, "--json")
    row = results(p)[("helo-history", W.SOURCE_IP)]
    assert row["result"] == "WARN", row
    assert f"HELO changes from {W.SOURCE_HELO}" in row["detail"] and W.SOURCE2_HELO in row["detail"]


def test_bounce_mx_reaches_the_listener(world, tmp_path):
    text = config(world, W.SOURCE_IP, W.SOURCE_HELO, world.dkim_keys["rsa2048"])
    p = run_check(tmp_path, text + f"inbound:\n  listen: {W.INBOUND_IP}:25\n", "--json")
    row = results(p)[("bounces", W.BOUNCE_DOMAIN)]
    assert row["result"] == "PASS" and "where serve listens" in row["detail"], row
    p = run_check(tmp_path, text + "inbound:\n  listen: 127.0.6.9:25\n", "--json")
    row = results(p)[("bounces", W.BOUNCE_DOMAIN)]
    assert row["result"] == "WARN" and "go elsewhere" in row["detail"], row


def test_alignment_wants_both_dkim_and_the_envelope(world, tmp_path):
    text = config(world, W.SOURCE_IP, W.SOURCE_HELO, world.dkim_keys["rsa2048"])
    unsigned = text[:text.index("dkim:")] + text[text.index("check:"):]
    p = run_check(tmp_path, unsigned, "--json")
    row = results(p)[("alignment", "news.sluice.test")]
    assert row["result"] == "WARN" and "envelope domain only" in row["detail"], row
