"""sluice serve as a system service (docs/operations.md, "Running as a
service"), against the real peers of tests/world:

  - SIGHUP after logrotate moved delivery.log away: the records of the
    attempts before the signal are in the moved file, those after it in a
    new delivery.log, every attempt of a campaign delivered across the
    signal in exactly one of them, each line whole;
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
import shlex
import shutil
import signal
import smtplib
import subprocess
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
