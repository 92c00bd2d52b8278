"""DKIM: every message delivered to the real Postfix receiver verifies with
independent verifiers (python3-dkim, and opendkim's opendkim-testmsg),
against keys the test DNS server publishes: rsa-sha256 (2048 bits) and
ed25519-sha256 side by side, relaxed and simple canonicalization, with
non-ASCII and long folded headers and a body that needs dot-stuffing."""
import os
import shutil
import subprocess

import dkim
import dns.resolver
import pytest

import world as W
from conftest import maildir_files

LONG = "a subject long enough to be folded over several lines " * 3
TEMPLATE = f"""\
From: "Sluice News" <news@{W.DKIM_DOMAIN}>
To: "{{{{name}}}}" <{{{{email}}}}>
Subject: Grüße, {{{{name}}}}: {LONG.strip()}
List-Id: <news.{W.DKIM_DOMAIN}>

Hi {{{{name}}}},
.a line that starts with a dot (stuffed on the wire)
..and one with two
trailing spaces here   \t
	a tab first

"""


def dkim_yaml(world, canon="relaxed/relaxed", selectors=tuple(W.DKIM_SELECTORS)):
    out = ["dkim:"]
    for sel in selectors:
        out += [f"  - domain: {W.DKIM_DOMAIN}", f"    selector: {sel}",
                f"    key: {world.dkim_keys[sel]}", f"    canonicalization: {canon}"]
    return "\n".join(out) + "\n"


def txt(name, timeout=5):
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = [W.DNS_IP]
    ans = r.resolve(name.decode().rstrip("."), "TXT", lifetime=timeout)
    return b"".join(b"".join(rd.strings) for rd in ans)


def delivered(world, sender, user, canon, selectors=tuple(W.DKIM_SELECTORS)):
    sender.rows([[f"{user}@ok.test", "Zoë Ünicode", "1"]])
    r = sender.run(template=TEMPLATE, extra_yaml=dkim_yaml(world, canon, selectors))
    assert r.rc == 0, r.err
    raw = open(maildir_files(world, "ok.test", user)[-1], "rb").read()
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.mark.parametrize("canon,user", [("relaxed/relaxed", "user60"),
                                        ("simple/simple", "user61"),
                                        ("relaxed/simple", "user62")])
def test_python_dkim_verifies_both_signatures(world, sender, canon, user):
    msg = delivered(world, sender, user, canon)
    assert msg.count(b"DKIM-Signature:") == 2
    d = dkim.DKIM(msg)
    for i, alg in enumerate((b"rsa-sha256", b"ed25519-sha256")):
        assert d.verify(idx=i, dnsfunc=txt), (i, d.signature_fields)
        assert d.signature_fields[b"a"] == alg
        assert d.signature_fields[b"c"] == canon.encode()
    h = d.signature_fields[b"h"].split(b":")
    for name in (b"from", b"to", b"subject", b"date", b"message-id", b"mime-version",
                 b"content-type", b"list-id"):
        assert name in h
    assert h.count(b"from") == 2  # over-signed
    # a changed body or an added From breaks them
    assert dkim.verify(msg, dnsfunc=txt)
    assert not dkim.verify(msg.replace(b"trailing spaces", b"trailing space"), dnsfunc=txt)
    assert not dkim.verify(b"From: evil@x.test\r\n" + msg, dnsfunc=txt)


def opendkim_testmsg(msg, tmp_path):
    """opendkim-testmsg on msg; it asks the system resolver, so it runs in a
    private mount namespace whose /etc/resolv.conf names the test DNS server
    (the machine's own file is not touched)."""
    resolv = tmp_path / "resolv.conf"
    resolv.write_text(f"nameserver {W.DNS_IP}\n")
    return subprocess.run(["unshare", "-m", "sh", "-c",
                           f"mount --bind {resolv} /etc/resolv.conf && exec opendkim-testmsg"],
                          input=msg, capture_output=True, timeout=30)


def test_opendkim_verifies(world, sender, tmp_path):
    if not shutil.which("opendkim-testmsg"):
        pytest.fail("opendkim-testmsg missing: scripts/install-deps installs opendkim-tools")
    # each algorithm alone (so a pass cannot come from the other one), then both
    for canon, user, sels in (("relaxed/relaxed", "user63", ("rsa2048",)),
                              ("relaxed/relaxed", "user64", ("ed",)),
                              ("simple/simple", "user65", ("rsa2048", "ed"))):
        msg = delivered(world, sender, user, canon, sels)
        assert msg.count(b"DKIM-Signature:") == len(sels)
        p = opendkim_testmsg(msg, tmp_path)
        assert p.returncode == 0, (canon, sels, p.stderr.decode() + p.stdout.decode())
        # and it does notice a change
        p = opendkim_testmsg(msg.replace(b"trailing spaces", b"trailing space"), tmp_path)
        assert p.returncode != 0
