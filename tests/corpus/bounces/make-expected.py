#!/usr/bin/python3
"""Builds this directory (the *.eml copies and expected.tsv) from Sisimai's
public bounce collection.

The messages are sisimai/set-of-emails maildir/bsd/*.eml (BSD-2-Clause;
addresses anonymised by Sisimai). The expected status and reason of each
failed recipient are the rows of Sisimai's own tests (sisimai/p5-sisimai
t/*-lhost-*.t, t/*-rhost-*.t, t/890-rfc3464.t), which list them per file in
order but do not name the recipient; the recipient is taken from Sisimai
itself (p5-sisimai at the same commit, run on the same file), keeping only
files where Sisimai's run gives exactly the statuses the test expects.

usage: make-expected.py SET_OF_EMAILS_GIT P5_SISIMAI_GIT [OUTDIR]

Needs perl with JSON and Class::Accessor::Lite (Debian:
libclass-accessor-lite-perl). Rows with reason feedback, vacation or
delivered (not failed recipients) are left out.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP_REASONS = {"feedback", "vacation", "delivered"}

PERL_DUMP = r'''
use strict; use warnings; use JSON; use Sisimai;
my $J = JSON->new->canonical;
for my $f (@ARGV) {
    my $facts = Sisimai->rise($f, 'delivered' => 1, 'vacation' => 1) || [];
    my @r = map { { 'recipient' => $_->recipient->address, 'status' => $_->deliverystatus,
                    'reason' => $_->reason, 'action' => $_->action } } @$facts;
    print $J->encode({ 'file' => $f, 'facts' => \@r }), "\n";
}
'''


def git(repo, *args):
    return subprocess.run(["git", "--git-dir", repo, *args], check=True,
                          capture_output=True).stdout


def expectations(p5):
    names = git(p5, "ls-tree", "--name-only", "HEAD", "t/").decode().split()
    for name in names:
        m = re.match(r"t/\d+-(?:(lhost|rhost)-([a-z0-9]+)|(rfc3464))\.t$", name)
        if not m:
            continue
        text = git(p5, "show", "HEAD:" + name).decode("utf-8", "replace")
        for idx, body in re.findall(r"'(\d+)'\s*=>\s*\[(.*?)\]\],", text, re.S):
            rows = re.findall(r"\['([^']*)',\s*'([^']*)',\s*'([^']*)'", body)
            if m.group(3):
                src, local = "rfc3464-%02d.eml" % int(idx), "rfc3464-%02d.eml" % int(idx)
                group = "rfc3464"
            else:
                src = "%s-%s-%02d.eml" % (m.group(1), m.group(2), int(idx))
                group = m.group(2) if m.group(1) == "lhost" else "rhost-" + m.group(2)
                local = "%s-%02d.eml" % (group, int(idx))
            yield name, src, local, rows


def main():
    soe, p5 = sys.argv[1], sys.argv[2]
    out = sys.argv[3] if len(sys.argv) > 3 else os.path.dirname(os.path.abspath(__file__))
    soe_rev = git(soe, "rev-parse", "HEAD").decode().strip()
    p5_rev = git(p5, "rev-parse", "HEAD").decode().strip()
    tmp = tempfile.mkdtemp(prefix="sisimai-")
    try:
        subprocess.run("git --git-dir '%s' archive HEAD lib | tar x -C '%s'" % (p5, tmp),
                       shell=True, check=True)
        head = {}  # blob -> file name at HEAD
        names = {}
        for line in git(soe, "ls-tree", "-r", "HEAD", "maildir/bsd/").decode().splitlines():
            meta, path = line.split("\t", 1)
            names[os.path.basename(path)] = meta.split()[2]
            head.setdefault(meta.split()[2], os.path.basename(path))
        todo, blobs = [], {}
        # lhost tests first, so that a message kept under two names (rhost-*
        # copies of lhost-* files) is counted once, under its lhost name
        for tname, src, local, rows in sorted(expectations(p5), key=lambda e: "-rhost-" in e[0]):
            if not any(r[0] and r[2] not in SKIP_REASONS for r in rows):
                continue
            if src in names:
                blob = names[src]
            else:
                # renamed since p5-sisimai's tests: follow the old content
                last = git(soe, "log", "-1", "--format=%H", "--", "maildir/bsd/" + src).decode().strip()
                blob = last and git(soe, "rev-parse", "%s^:maildir/bsd/%s" % (last, src)).decode().strip()
                if blob not in head:
                    print("no such file at HEAD: " + src, file=sys.stderr)
                    continue
                print("%s is now %s" % (src, head[blob]), file=sys.stderr)
                src = head[blob]
                group = re.sub(r"^lhost-|-\d+\.eml$", "", src)
                local = group + src[len(src) - 7:]
            if blob in blobs:
                print("duplicate, left out: %s (%s) = %s (%s)" % (src, tname, blobs[blob][0], blobs[blob][1]),
                      file=sys.stderr)
                continue
            blobs[blob] = (src, tname)
            raw = git(soe, "cat-file", "blob", blob)
            path = os.path.join(tmp, src)
            with open(path, "wb") as f:
                f.write(raw)
            todo.append((tname, src, local, rows, path, raw))
        dump = subprocess.run(["perl", "-I" + os.path.join(tmp, "lib"), "-e", PERL_DUMP]
                              + [t[4] for t in todo], check=True, capture_output=True)
        facts = {}
        for line in dump.stdout.decode().splitlines():
            d = json.loads(line)
            facts[d["file"]] = d["facts"]
        lines = ["# file\trecipient\tstatus\treason\tsource"]
        kept = 0
        for tname, src, local, rows, path, raw in todo:
            got = facts.get(path, [])
            if [g["status"] for g in got] != [r[0] for r in rows]:
                print("sisimai disagrees with its test, left out: %s %s != %s" % (
                    src, [g["status"] for g in got], [r[0] for r in rows]), file=sys.stderr)
                continue
            with open(os.path.join(out, local), "wb") as f:
                f.write(raw)
            kept += 1
            source = "sisimai/set-of-emails@%s:maildir/bsd/%s; sisimai/p5-sisimai@%s:%s" % (
                soe_rev[:12], src, p5_rev[:12], tname)
            for r, g in zip(rows, got):
                if not r[0] or r[2] in SKIP_REASONS:
                    continue
                lines.append("\t".join([local, g["recipient"], r[0], r[2], source]))
        with open(os.path.join(out, "expected.tsv"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print("%d files, %d rows" % (kept, len(lines) - 1), file=sys.stderr)
    finally:
        shutil.rmtree(tmp)


main()
