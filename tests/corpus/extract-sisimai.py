#!/usr/bin/python3
"""Builds the reply corpus (replies.tsv) from real bounces.

The reply texts are the Diagnostic-Code fields of the real DSNs in
sisimai/set-of-emails (BSD-2-Clause; addresses anonymised by Sisimai); the
reason each was given comes from Sisimai's own test expectations
(sisimai/p5-sisimai t/*.t), mapped to sluice's categories below. Rows whose
Sisimai reason has no clean sluice category are left out. The result was then
read through by hand (see the README next to it).

usage: extract-sisimai.py SET_OF_EMAILS_GIT P5_SISIMAI_GIT > replies.tsv
"""
import email
import email.policy
import re
import subprocess
import sys

REASON_TO_CATEGORY = {
    "userunknown": "invalid_recipient",
    "hasmoved": "invalid_recipient",
    "mailboxfull": "mailbox_full",
    "suspend": "mailbox_disabled",
    "hostunknown": "dns_or_routing",
    "notaccept": "dns_or_routing",
    "norelaying": "dns_or_routing",
    "blocked": "reputation_block",
    "badreputation": "reputation_block",
    "requireptr": "reputation_block",
    "spamdetected": "spam_content",
    "virusdetected": "spam_content",
    "policyviolation": "policy_other",
    "rejected": "policy_other",
    "authfailure": "auth_failure",
    "mesgtoobig": "message_too_large",
    "exceedlimit": "message_too_large",
    "toomanyconn": "rate_limited",
    "speeding": "rate_limited",
    "ratelimited": "rate_limited",
    "syntaxerror": "protocol_error",
}
STAGES = {"RCPT TO": "rcpt", "MAIL FROM": "mail", "DATA": "data", "end of DATA": "dot"}


def git(repo, *args):
    return subprocess.run(["git", "--git-dir", repo, *args], check=True,
                          capture_output=True).stdout


def expectations(p5):
    names = git(p5, "ls-tree", "--name-only", "HEAD", "t/").decode().split()
    for name in names:
        m = re.match(r"t/\d+-(lhost|rhost)-([a-z0-9]+)\.t$", name)
        if not m:
            continue
        text = git(p5, "show", "HEAD:" + name).decode("utf-8", "replace")
        eng = re.search(r"\$enginename = '([^']+)'", text)
        if not eng:
            continue
        for idx, body in re.findall(r"'(\d+)'\s*=>\s*\[(.*?)\]\],", text, re.S):
            rows = re.findall(r"\['([^']*)',\s*'([^']*)',\s*'([^']*)'", body)
            yield name, m.group(1), eng.group(1).lower(), int(idx), rows


def diagnostics(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    out = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        for b in blocks[1:]:
            d = b.get("Diagnostic-Code")
            if d:
                out.append(re.sub(r"\s+", " ", d).strip())
    return out


def main():
    soe, p5 = sys.argv[1], sys.argv[2]
    soe_rev = git(soe, "rev-parse", "HEAD").decode().strip()[:12]
    p5_rev = git(p5, "rev-parse", "HEAD").decode().strip()[:12]
    seen = set()
    print("# category\tstage\tcode\tenhanced\ttext\tsource")
    for tname, kind, eng, idx, rows in expectations(p5):
        path = "maildir/bsd/%s-%s-%02d.eml" % (kind, eng, idx)
        try:
            raw = git(soe, "show", "HEAD:" + path)
        except subprocess.CalledProcessError:
            continue
        diags = diagnostics(raw)
        stage_m = re.findall(rb"\(in reply to (RCPT TO|MAIL FROM|end of DATA|DATA) command\)", raw)
        for k, (status, code, reason) in enumerate(rows):
            cat = REASON_TO_CATEGORY.get(reason)
            if not cat or k >= len(diags):
                continue
            text = diags[k].split(";", 1)[-1].strip()
            if not text or text in seen or "\t" in text:
                continue
            seen.add(text)
            stage = STAGES.get(stage_m[0].decode(), "") if len(set(stage_m)) == 1 else ""
            src = "sisimai/set-of-emails@%s:%s (reason '%s' in sisimai/p5-sisimai@%s:%s)" % (
                soe_rev, path, reason, p5_rev, tname)
            print("\t".join([cat, stage, code, status, text, src]))


main()
