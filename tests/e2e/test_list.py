"""sluice list check and sluice suppress, against the test DNS server."""
import csv
import os
import subprocess

from conftest import SLUICE, merged, yaml_text


def run(*args):
    return subprocess.run([SLUICE, *args], capture_output=True, text=True, timeout=60)


def counts(out):
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[-1].isdigit():
            rows[" ".join(parts[:-1])] = int(parts[-1])
    return rows


def test_list_check_reports_every_reason(world, sender, tmp_path):
    cfg = sender.write("c.yaml", yaml_text(merged({})))
    state = str(tmp_path / "state")
    assert run("suppress", "add", "gone@ok.test", "--state", state).returncode == 0
    lst = sender.write("list.csv", "\n".join([
        "email,name",
        "user40@ok.test,A",
        "user40@OK.Test,dup",          # a duplicate (domain case-insensitive)
        "not an address,x",
        "someone@gmial.com,typo",
        "postmaster@ok.test,role",
        "x@nullmx.test,nullmx",
        "y@no-such-domain.test,nx",
        "gone@ok.test,suppressed",
        "user41@ok.test,B",
    ]) + "\n")
    p = run("list", "check", lst, "--config", cfg, "--state", state)
    assert p.returncode == 1, p.stderr
    c = counts(p.stdout)
    assert c["rows read"] == 9
    assert (c["invalid"], c["duplicate"], c["typo"], c["role_account"], c["suppressed"],
            c["no_mail_server"], c["to send"]) == (1, 1, 1, 1, 1, 2, 2), p.stdout
    with open(lst[:-4] + ".skipped.csv") as f:
        skipped = {r["email"] or r["line"]: r for r in csv.DictReader(f)}
    assert skipped["someone@gmial.com"]["detail"] == "did you mean gmail.com?"
    assert skipped["x@nullmx.test"]["reason"] == "no_mail_server"
    assert "null MX" in skipped["x@nullmx.test"]["detail"]
    assert "does not exist" in skipped["y@no-such-domain.test"]["detail"]
    assert skipped["4"]["reason"] == "invalid" and "list.csv:4" in skipped["4"]["detail"]
    # without DNS the domains are not looked up
    p = run("list", "check", lst, "--no-dns", "--state", state, "--skipped",
            str(tmp_path / "s.csv"))
    assert counts(p.stdout)["no_mail_server"] == 0


def test_suppress_commands(tmp_path):
    state = str(tmp_path / "state")
    assert run("suppress", "add", "A@Example.ORG", "b@example.org", "--state", state,
               "--reason", "manual").returncode == 0
    p = run("suppress", "add", "a@example.org", "--state", state)
    assert "already suppressed" in p.stdout
    p = run("suppress", "list", "--state", state)
    assert "a@example.org" in p.stdout and "2 suppressed" in p.stdout
    out = str(tmp_path / "export.csv")
    assert run("suppress", "export", out, "--state", state).returncode == 0
    rows = list(csv.DictReader(open(out)))
    assert {r["email"] for r in rows} == {"a@example.org", "b@example.org"}
    assert run("suppress", "remove", "b@example.org", "--state", state).returncode == 0
    # import into a fresh state directory, with a bad row named by its line
    imp = tmp_path / "imp.csv"
    imp.write_text("email,reason\nc@example.org,complaint\nnot-an-address,manual\n")
    state2 = str(tmp_path / "state2")
    p = run("suppress", "import", str(imp), "--state", state2)
    assert p.returncode == 0, p.stderr
    assert "imp.csv:3" in p.stderr
    assert counts(p.stdout)["added"] == 1
    p = run("suppress", "list", "--state", state2)
    assert "complaint" in p.stdout
    assert run("suppress", "add", "not an address", "--state", state).returncode == 2
