"""sluice serve as a system service (docs/operations.md, "Running as a
service"), against the real peers of tests/world:

  - SIGHUP after logrotate moved delivery.log away: the records of the
    attempts before the signal are in the moved file, those after it in a
    new delivery.log, every attempt of a campaign delivered across the
    signal (and a second one) in exactly one of them, each line whole;
  - SIGHUP reloads the config: a broken one is refused with its
    file:line:column and serve goes on with the old one; a good one is in
    force for the next campaign (a classification rule added), and a
    setting that needs a restart is named in a warning;
  - `make install DESTDIR=...` installs the binary, the man pages, the
    unit, the logrotate file and the example config, the unit pointing at
    the installed binary;
  - `make deb` builds a package that dpkg installs (creating the sluice
    user), whose unit's own ExecStart, run as that user with only the
    unit's capability, listens on port 25 and answers; purged afterwards.

The recipients are at sink.test (Postfix's smtp-sink: any address) and
reload-*@ok.test (unknown there: a real 5.1.1), used by no other test.
"""
import configparser
import glob
import json
import os
import pathlib
import shlex
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time

import pytest

import world as W
from conftest import SLUICE, merged, wait_for, yaml_text
from test_inbound import INBOUND

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class Served:
    """sluice serve with its stderr in a file (read while it runs)."""

    def __init__(self, sender, extra=None, extra_yaml=""):
        self.sender = sender
        self.cfg_path = os.path.join(sender.d, "serve.yaml")
        self.write_config(extra, extra_yaml)
        self.err_path = os.path.join(sender.d, "serve.err")
        self.errf = open(self.err_path, "w")
        self.p = subprocess.Popen([SLUICE, "serve", "--config", self.cfg_path, "--state",
                                   sender.state, "--force"], stdout=subprocess.DEVNULL,
                                  stderr=self.errf, stdin=subprocess.DEVNULL)
        assert wait_for(lambda: "inbound SMTP on" in self.err() or self.p.poll() is not None,
                        timeout=15), self.err()
        assert self.p.poll() is None, self.err()

    def write_config(self, extra=None, extra_yaml="", text=None):
        cfg = merged(INBOUND)
        for k, v in (extra or {}).items():
            cfg.setdefault(k, {}).update(v)
        tmp = self.cfg_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text if text is not None else yaml_text(cfg, extra_yaml))
        os.rename(tmp, self.cfg_path)

    def err(self):
        with open(self.err_path) as f:
            return f.read()

    def hup(self, expect):
        """Sends SIGHUP and waits for the line that says it was handled."""
        n = self.err().count(expect)
        self.p.send_signal(signal.SIGHUP)
        assert wait_for(lambda: self.err().count(expect) > n, timeout=10), self.err()

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            self.p.wait(timeout=30)
        self.errf.close()
        assert self.p.returncode == 0, self.err()


@pytest.fixture
def served(world, sender):
    s = []
    yield lambda **kw: s.append(Served(sender, **kw)) or s[-1]
    for x in s:
        if x.p.poll() is None:
            x.p.kill()
            x.p.wait()


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        text = f.read()
    assert text == "" or text.endswith("\n"), "a cut line at the end of " + path
    return [json.loads(line) for line in text.splitlines()]


def hand_over(sender, rows, campaign, config=None, extra_yaml=""):
    sender.rows(rows)
    r = sender.run(config=config or INBOUND, extra_yaml=extra_yaml,
                   extra_args=("--campaign", campaign))
    assert r.rc == 4, r.err  # handed to the running serve
    return r


def test_sighup_reopens_the_delivery_log_none_lost(world, sender, served):
    # slow enough that the signal comes while the campaign is being delivered
    slow = {"delivery": {"message_rate": "40/s", "max_connections_per_site": "2"}}
    s = served(extra=slow)
    log = os.path.join(sender.state, "delivery.log")
    moved = log + ".1"
    n = 200
    rcpts = [f"rotate{i}@sink.test" for i in range(n)]
    hand_over(sender, [[r, "R", str(i)] for i, r in enumerate(rcpts)], "rotate")
    assert wait_for(lambda: len(lines(log)) >= 40, timeout=30)
    os.rename(log, moved)  # logrotate's move ...
    s.hup("reload: delivery log reopened")  # ... then its postrotate
    # a second reload while sessions opened under the first config's
    # successor are open (the previous config is freed): nothing changes
    assert wait_for(lambda: len(lines(log)) >= 20, timeout=30)
    s.hup("reload: config")
    assert wait_for(lambda: len(lines(moved)) + len(lines(log)) >= n, timeout=60)
    time.sleep(0.5)  # nothing more may come
    s.stop()
    old, new = lines(moved), lines(log)
    assert 40 <= len(old) < n and len(new) > 0, (len(old), len(new))
    got = [x["recipient"] for x in old + new]
    assert sorted(got) == sorted(rcpts)  # every attempt once: none lost, none twice
    assert all(x["outcome"] == "delivered" for x in old + new)
    assert max(x["time"] for x in old) <= min(x["time"] for x in new)
    assert "delivery log reopened" in s.err()


def test_reload_keeps_the_old_config_on_error_and_applies_a_good_one(world, sender, served):
    s = served()
    log = os.path.join(sender.state, "delivery.log")

    def category(rcpt):
        recs = [x for x in lines(log) if x["recipient"] == rcpt]
        return recs[-1]["category"] if recs else None

    hand_over(sender, [["reload-a@ok.test", "A", "1"]], "reload-a")
    assert wait_for(lambda: category("reload-a@ok.test") is not None, timeout=30)
    assert category("reload-a@ok.test") == "invalid_recipient"

    # A broken config (a bad value on line 3 of a section): refused whole,
    # named by file:line:column, the old one stays in force.
    good = open(s.cfg_path).read()
    broken = good.replace("delivery:\n", "delivery:\n  max_connections: lots\n", 1)
    assert broken != good
    s.write_config(text=broken)
    s.hup("still running with the config loaded before")
    err = s.err()
    line = broken.splitlines().index("  max_connections: lots") + 1
    assert f"reload: config: {s.cfg_path}:{line}:" in err, err
    hand_over(sender, [["reload-b@ok.test", "B", "2"]], "reload-b")
    assert wait_for(lambda: category("reload-b@ok.test") is not None, timeout=30)
    assert category("reload-b@ok.test") == "invalid_recipient"
    assert s.p.poll() is None

    # A good one: a classification rule added is in force for the next
    # campaign; a listener limit changed waits for a restart, and says so.
    rule = ('classify:\n  - {stage: rcpt, code: 5xx, text: "user unknown", '
            'category: policy_other}\n')
    s.write_config(extra={"inbound": {"max_connections": "77"}}, extra_yaml=rule)
    s.hup("reload: config")
    err = s.err()
    assert "inbound.max_connections changed" in err and "restarts" in err, err
    assert "max_message_size changed" not in err
    hand_over(sender, [["reload-c@ok.test", "C", "3"]], "reload-c")
    assert wait_for(lambda: category("reload-c@ok.test") is not None, timeout=30)
    assert category("reload-c@ok.test") == "policy_other"
    s.stop()


# ---- make install, make deb ----

def make(*args, timeout=600):
    p = subprocess.run(["make", "--no-print-directory", "-C", REPO, *args], capture_output=True,
                       text=True, timeout=timeout)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return p.stdout


def unit_service(path):
    """The [Service] section of a unit file: {key: [values]}."""
    out = {}
    section = None
    with open(path) as f:
        for raw in f:
            s = raw.strip()
            if not s or s.startswith("#"):
                continue
            if s.startswith("["):
                section = s
            elif section == "[Service]":
                k, v = s.split("=", 1)
                out.setdefault(k, []).append(v)
    return out


def test_make_install_tree(tmp_path):
    dest = str(tmp_path / "root")
    make("install", f"DESTDIR={dest}", "PREFIX=/usr/local")
    want = {"usr/local/bin/sluice": 0o755,
            "usr/local/share/man/man1/sluice.1": 0o644,
            "usr/local/share/man/man5/sluice.yaml.5": 0o644,
            "usr/local/lib/systemd/system/sluice.service": 0o644,
            "etc/logrotate.d/sluice": 0o644,
            "etc/sluice/sluice.yaml": 0o640,
            "usr/local/share/doc/sluice/examples/sluice.yaml": 0o644,
            "usr/local/share/doc/sluice/operations.md": 0o644,
            "usr/local/share/doc/sluice/configuration.md": 0o644}
    for rel, mode in want.items():
        st = os.stat(os.path.join(dest, rel))
        assert st.st_mode & 0o777 == mode, (rel, oct(st.st_mode))
    p = subprocess.run([os.path.join(dest, "usr/local/bin/sluice"), "--version"],
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("sluice "), p
    svc = unit_service(os.path.join(dest, "usr/local/lib/systemd/system/sluice.service"))
    assert svc["ExecStart"] == ["/usr/local/bin/sluice serve --config /etc/sluice/sluice.yaml "
                                "--state /var/lib/sluice"]
    assert svc["User"] == ["sluice"] and svc["StateDirectory"] == ["sluice"]
    assert svc["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
    assert svc["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    # an installed config is never overwritten
    with open(os.path.join(dest, "etc/sluice/sluice.yaml"), "w") as f:
        f.write("# mine\n")
    make("install", f"DESTDIR={dest}", "PREFIX=/usr/local")
    assert open(os.path.join(dest, "etc/sluice/sluice.yaml")).read() == "# mine\n"
    # the man pages: sluice.yaml(5) is what docs/configuration.md gives, and
    # both format without a warning
    p = subprocess.run([os.path.join(REPO, "scripts", "man-yaml"), "--check"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    for page in ("man1/sluice.1", "man5/sluice.yaml.5"):
        p = subprocess.run(["groff", "-man", "-ww", "-z",
                            os.path.join(dest, "usr/local/share/man", page)],
                           capture_output=True, text=True)
        assert p.returncode == 0 and p.stderr == "", (page, p.stderr)
    # (the logrotate snippet names the sluice user: the package test runs it)


def listening(pid, ip, port):
    """Whether process pid has a listening TCP socket on ip:port."""
    p = subprocess.run(["ss", "-Htlnp", f"src {ip}:{port}"], capture_output=True, text=True)
    return f"pid={pid}," in p.stdout


def cap_eff(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)


def test_deb_installs_and_runs_as_its_unit_says(world, tmp_path):
    if subprocess.run(["dpkg-query", "-W", "sluice"], capture_output=True).returncode == 0:
        pytest.skip("a sluice package is installed on this machine already")
    out = make("deb")
    deb = [w for w in out.split() if w.endswith(".deb") and os.path.exists(os.path.join(REPO, w))]
    assert deb, out
    deb = os.path.join(REPO, deb[-1])
    info = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], capture_output=True, text=True)
    for lib in ("libevent", "libc-ares", "libssl", "libsqlite3", "libyaml", "libjansson"):
        assert lib in info.stdout, info.stdout
    serve = None
    err_path = str(tmp_path / "serve.err")
    inputs = tempfile.mkdtemp(prefix="sluice-service-")
    os.chmod(inputs, 0o755)
    try:
        p = subprocess.run(["dpkg", "-i", deb], capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr
        for f in ("/usr/bin/sluice", "/lib/systemd/system/sluice.service",
                  "/etc/logrotate.d/sluice", "/etc/sluice/sluice.yaml",
                  "/usr/share/man/man1/sluice.1.gz", "/usr/share/man/man5/sluice.yaml.5.gz"):
            assert os.path.exists(f), f
        import grp
        import pwd
        user = pwd.getpwnam("sluice")
        st = os.stat("/var/lib/sluice")
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (user.pw_uid, user.pw_gid, 0o750)
        assert grp.getgrgid(os.stat("/etc/sluice/sluice.yaml").st_gid).gr_name == "sluice"
        if shutil.which("systemd-analyze"):
            p = subprocess.run(["systemd-analyze", "verify", "/lib/systemd/system/sluice.service"],
                               capture_output=True, text=True)
            assert p.returncode == 0 and "sluice.service" not in p.stderr, p.stderr

        # What the operator does before starting it: the example config
        # (which speaks to the test world) gets a DKIM key, readable by the
        # service's group only, or the preflight check FAILs.
        key = "/etc/sluice/dkim-ed.pem"
        shutil.copy(world.dkim_keys["ed"], key)
        os.chown(key, 0, user.pw_gid)
        os.chmod(key, 0o640)
        with open("/etc/sluice/sluice.yaml", "a") as f:
            f.write(f"dkim:\n  - {{domain: {W.DKIM_DOMAIN}, selector: ed, key: {key}}}\n")

        # systemd is not PID 1 here: the unit's own ExecStart, as its User and
        # Group, with its one capability and no other
        svc = unit_service("/lib/systemd/system/sluice.service")
        assert svc["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
        argv = shlex.split(svc["ExecStart"][0])
        wrap = ["setpriv", f"--reuid={svc['User'][0]}", f"--regid={svc['Group'][0]}",
                "--init-groups", "--inh-caps=-all,+net_bind_service",
                "--ambient-caps=-all,+net_bind_service",
                "--bounding-set=-all,+net_bind_service", "--no-new-privs", "--"]
        errf = open(err_path, "w")
        serve = subprocess.Popen(wrap + argv, cwd=svc["WorkingDirectory"][0], stdout=errf,
                                 stderr=errf, stdin=subprocess.DEVNULL,
                                 env={"PATH": "/usr/bin:/bin"})

        def err():
            return open(err_path).read()

        assert wait_for(lambda: listening(serve.pid, W.INBOUND_IP, 25) or serve.poll() is not None,
                        timeout=20), err()
        assert serve.poll() is None, err()
        assert cap_eff(serve.pid) == 1 << 10, hex(cap_eff(serve.pid))  # CAP_NET_BIND_SERVICE
        with open(f"/proc/{serve.pid}/status") as f:
            uids = [l.split()[1:] for l in f if l.startswith("Uid:")][0]
        assert set(uids) == {str(user.pw_uid)}
        with smtplib.SMTP(W.INBOUND_IP, 25, timeout=10) as s:  # it answers
            code, _ = s.ehlo("client.example")
            assert code == 250
        assert listening(serve.pid, W.INBOUND_IP, 8025)

        # A campaign handed to the service, run as its user, is delivered.
        d = pathlib.Path(inputs)  # readable by the sluice user
        (d / "list.csv").write_text("email,name\n" +
                                    "".join(f"svc{i}@sink.test,S\n" for i in range(5)))
        (d / "t.eml").write_text("From: News <news@news.sluice.test>\nTo: {{email}}\n"
                                 "Subject: hi {{name}}\n\nHello {{name}}.\n"
                                 "Unsubscribe: {{unsubscribe_url}}\n")

        def send(campaign):
            return subprocess.run(
                ["runuser", "-u", "sluice", "--", "/usr/bin/sluice", "send", "--config",
                 "/etc/sluice/sluice.yaml", "--state", "/var/lib/sluice", "--template",
                 str(d / "t.eml"), "--recipients", str(d / "list.csv"), "--campaign", campaign,
                 "--force"], capture_output=True, text=True, timeout=60)

        r = send("svc1")
        assert r.returncode == 4, r.stderr
        log = "/var/lib/sluice/delivery.log"
        assert wait_for(lambda: len(lines(log)) >= 5, timeout=30), err()

        # logrotate's snippet, as cron would run it (no systemd: the pid of
        # deliver.lock gets the SIGHUP)
        if shutil.which("logrotate") and not os.path.isdir("/run/systemd/system"):
            p = subprocess.run(["logrotate", "-f", "-s", str(tmp_path / "lr.state"),
                                "/etc/logrotate.d/sluice"], capture_output=True, text=True)
            assert p.returncode == 0, p.stderr
            assert wait_for(lambda: "delivery log reopened" in err(), timeout=10), err()
            rotated = glob.glob("/var/lib/sluice/delivery.log-*")
            assert len(rotated) == 1 and len(lines(rotated[0])) == 5, rotated
            (d / "list.csv").write_text("email,name\n" +
                                        "".join(f"svc{i}@sink.test,S\n" for i in range(5, 8)))
            r = send("svc2")
            assert r.returncode == 4, r.stderr
            assert wait_for(lambda: len(lines(log)) >= 3, timeout=30), err()
            assert {x["campaign"] for x in lines(log)} == {"svc2"}
            assert len(lines(rotated[0])) == 5
            st = os.stat(log)
            assert (st.st_uid, st.st_mode & 0o777) == (user.pw_uid, 0o640)

        # SIGTERM, as systemctl stop sends it: done well within TimeoutStopSec
        t0 = time.monotonic()
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) == 0, err()
        assert time.monotonic() - t0 < int(svc["TimeoutStopSec"][0])
    finally:
        if serve and serve.poll() is None:
            serve.kill()
            serve.wait()
        subprocess.run(["dpkg", "--purge", "sluice"], capture_output=True)
        shutil.rmtree(inputs, ignore_errors=True)
    assert subprocess.run(["id", "sluice"], capture_output=True).returncode != 0
    assert not os.path.exists("/var/lib/sluice") and not os.path.exists("/usr/bin/sluice")
