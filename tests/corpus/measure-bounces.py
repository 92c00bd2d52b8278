#!/usr/bin/python3
"""Measures how often sluice reads the right DSN status from real bounces.

For every row of tests/corpus/bounces/expected.tsv (file, recipient, status,
reason, source; see the README there) runs `sluice bounces parse FILE` and
checks, for the expected recipient: is it found at all (as `final` or
`original`), is its `status` exactly the expected one, and are its class and
subject equal (5.1.x). Prints a table per MTA (the file name without its
number), the overall rate, and every miss.

usage: measure-bounces.py [--min PERCENT] [--dir DIR] [--quiet]
The binary is $SLUICE_BIN, else build/sluice under the project root.
Exits 0, or 1 when --min is given and the rate is below it.
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


# Sisimai's own codes (x.0.9xx) for a reason it found without any code in
# the message: no DSN reader can give them, so they are also left out of a
# second rate.
PSEUDO = re.compile(r"^[245]\.0\.9\d\d$")


def norm(addr):
    addr = (addr or "").strip().lower()
    addr = re.sub(r"^rfc822\s*;\s*", "", addr)
    return addr.strip("<> ")


def class_subject(status):
    return ".".join((status or "").split(".")[:2])


def parse(binary, path):
    try:
        p = subprocess.run([binary, "bounces", "parse", path], capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        return {"error": "timeout"}
    if p.returncode != 0:
        err = p.stderr.decode("utf-8", "replace").strip().splitlines()
        return {"error": "exit %d: %s" % (p.returncode, err[-1] if err else "")}
    try:
        return json.loads(p.stdout.decode("utf-8", "replace"))
    except ValueError as e:
        return {"error": "bad JSON: %s" % e}


def excerpt(path, recipient, status, limit=110):
    """A short line of the message that carries the reply for this recipient."""
    try:
        text = open(path, "rb").read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [l.strip() for l in text.splitlines()]
    local = recipient.split("@")[0].lower()
    pats = [
        lambda l: l.lower().startswith("diagnostic-code:") ,
        lambda l: status in l and re.search(r"\b[245]\d\d\b", l),
        lambda l: status in l and not l.lower().startswith("status:"),
        lambda l: re.search(r"\b[45]\d\d[ -]", l) and local and local in l.lower(),
        lambda l: re.search(r"^[45]\d\d[ -]", l),
    ]
    for pat in pats:
        for i, l in enumerate(lines):
            if pat(l):
                s = l
                if l.lower().startswith("diagnostic-code:") and i + 1 < len(lines) \
                        and text.splitlines()[i + 1][:1] in (" ", "\t"):
                    s += " " + lines[i + 1]
                return s[:limit]
    return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--min", type=float, help="exit 1 if the rate is below PERCENT")
    ap.add_argument("--min-real", type=float,
                    help="exit 1 if the rate among rows with a real status (not Sisimai's "
                         "own x.0.9xx) is below PERCENT")
    ap.add_argument("--dir", default=os.path.join(HERE, "bounces"))
    ap.add_argument("-q", "--quiet", action="store_true", help="do not list the misses")
    args = ap.parse_args()
    binary = os.environ.get("SLUICE_BIN") or os.path.join(ROOT, "build", "sluice")
    if not os.access(binary, os.X_OK):
        sys.exit("measure-bounces: no sluice binary at %s (build it, or set SLUICE_BIN)" % binary)

    rows = []
    with open(os.path.join(args.dir, "expected.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            rows.append(dict(zip(["file", "recipient", "status", "reason", "source"], fields)))

    reports = {}
    for r in rows:
        if r["file"] not in reports:
            reports[r["file"]] = parse(binary, os.path.join(args.dir, r["file"]))

    per = collections.OrderedDict()
    misses = []
    tot = collections.Counter()
    for r in sorted(rows, key=lambda r: r["file"]):
        group = re.sub(r"-\d+\.eml$", "", r["file"])
        c = per.setdefault(group, collections.Counter())
        rep = reports[r["file"]]
        want = norm(r["recipient"])
        got = None
        for g in rep.get("recipients") or []:
            if want in (norm(g.get("final")), norm(g.get("original"))):
                got = g
                break
        found = got is not None
        status = (got or {}).get("status") or ""
        exact = found and status == r["status"]
        near = found and class_subject(status) == class_subject(r["status"])
        for k, v in (("rcpts", 1), ("found", found), ("exact", exact), ("class", near)):
            c[k] += int(v)
            tot[k] += int(v)
        if not PSEUDO.match(r["status"]):
            tot["real"] += 1
            tot["real_exact"] += int(exact)
        c["files"] = len({x["file"] for x in rows if re.sub(r"-\d+\.eml$", "", x["file"]) == group})
        if not exact:
            if "error" in rep:
                saw = "error: " + rep["error"]
            elif not found:
                others = [norm(g.get("final") or g.get("original")) or "?" for g in rep.get("recipients") or []]
                saw = "not found (kind=%s; recipients: %s)" % (rep.get("kind"), ", ".join(others) or "none")
                if rep.get("why"):
                    saw += "; why: " + rep["why"]
            else:
                saw = "status=%s enhanced=%s kind=%s" % (status or "-", got.get("enhanced") or "-", rep.get("kind"))
            diag = (got or {}).get("diagnostic") or excerpt(
                os.path.join(args.dir, r["file"]), r["recipient"], r["status"])
            misses.append((r["file"], r["recipient"], r["status"], r["reason"], saw, diag[:110]))

    print("%-26s %5s %5s %6s %6s %6s" % ("mta", "files", "rcpts", "found", "exact", "x.y"))
    for group, c in per.items():
        print("%-26s %5d %5d %6d %6d %6d" % (group, c["files"], c["rcpts"], c["found"], c["exact"], c["class"]))
    m = tot["rcpts"]
    pct = lambda n: 100.0 * n / m if m else 0.0
    print("%-26s %5d %5d %6d %6d %6d" % ("total", len(reports), m, tot["found"], tot["exact"], tot["class"]))
    print()
    print("recipient found: %d of %d = %.1f%%" % (tot["found"], m, pct(tot["found"])))
    print("found with the right class/subject (x.y): %d of %d = %.1f%%" % (tot["class"], m, pct(tot["class"])))
    print("found with the right status: %d of %d = %.1f%%" % (tot["exact"], m, pct(tot["exact"])))
    r = tot["real"]
    print("  without Sisimai's own x.0.9xx codes: %d of %d = %.1f%%" % (
        tot["real_exact"], r, 100.0 * tot["real_exact"] / r if r else 0.0))
    if not args.quiet and misses:
        print("\nmisses (file, recipient, expected status/reason, sluice, diagnostic):")
        for f, rc, st, rs, saw, diag in misses:
            print("%s\t%s\t%s %s\t%s\t%s" % (f, rc, st, rs, saw, diag))
    if args.min is not None and pct(tot["exact"]) < args.min:
        return 1
    if args.min_real is not None and (100.0 * tot["real_exact"] / r if r else 0.0) < args.min_real:
        return 1
    return 0


sys.exit(main())
