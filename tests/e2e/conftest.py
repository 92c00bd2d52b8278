"""Fixtures for the end-to-end tests: the real peers (tests/world) and a helper
that runs the real sluice binary against them."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "world"))
import world as W  # noqa: E402

SLUICE = os.environ.get("SLUICE_BIN") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "build", "sluice"))


@pytest.fixture(scope="session")
def world():
    d = tempfile.mkdtemp(prefix="sluice-world-")
    w = W.World(d).start(stop_leftovers=True)
    yield w
    w.stop()
    shutil.rmtree(d, ignore_errors=True)


BASE_CONFIG = {
    "dns": {"resolvers": f"[{W.DNS_IP}]", "timeout": "1s", "tries": "1"},
    "sender": {"envelope_from": "bounces@news.sluice.test", "from_domain": "news.sluice.test"},
    "delivery": {"idle_timeout": "100ms"},
    "retry": {"min_backoff": "1s", "max_backoff": "1s", "max_lifetime": "3s"},
    "timeouts": {"rcpt": "2s", "dot": "3s", "banner": "3s", "connect": "2s"},
}


def yaml_text(cfg, extra=""):
    """Writes the config dict (two levels) as YAML."""
    out = [f"sources:\n  - ip: {W.SOURCE_IP}\n    helo: {W.SOURCE_HELO}"]
    for section, kv in cfg.items():
        if isinstance(kv, dict):
            out.append(f"{section}:")
            out.extend(f"  {k}: {v}" for k, v in kv.items())
        else:
            out.append(f"{section}: {kv}")
    return "\n".join(out) + "\n" + extra


def merged(overrides):
    cfg = {k: dict(v) if isinstance(v, dict) else v for k, v in BASE_CONFIG.items()}
    for section, kv in (overrides or {}).items():
        if isinstance(kv, dict):
            cfg.setdefault(section, {}).update(kv)
        else:
            cfg[section] = kv
    return cfg


TEMPLATE = """\
From: "Sluice News" <news@news.sluice.test>
To: "{{name}}" <{{email}}>
Subject: Hello {{name}}

Hi {{name}},
your code is {{code}}.
"""


class Run:
    def __init__(self, proc, out, err, state):
        self.rc = proc.returncode
        self.out = out
        self.err = err
        self.state = state

    def log(self):
        path = os.path.join(self.state, "delivery.log")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]

    def last_by_recipient(self):
        return {r["recipient"]: r for r in self.log()}


class Sender:
    """Writes the inputs of a campaign in a directory and runs sluice on them."""

    def __init__(self, d):
        self.d = d
        self.state = os.path.join(d, "state")

    def write(self, name, text, mode="w"):
        path = os.path.join(self.d, name)
        with open(path, mode) as f:
            f.write(text)
        return path

    def rows(self, rows, header="email,name,code"):
        lines = [header] + [",".join(r) if isinstance(r, (list, tuple)) else r for r in rows]
        return self.write("list.csv", "\n".join(lines) + "\n")

    def args(self, config=None, template=TEMPLATE, extra_yaml="", extra_args=()):
        cfg = self.write("sluice.yaml", yaml_text(merged(config), extra_yaml))
        tpl = self.write("template.eml", template)
        # --force: the test identities are not all set up for the preflight
        # check (tests/e2e/test_check.py covers it)
        return [SLUICE, "send", "--config", cfg, "--template", tpl, "--recipients",
                os.path.join(self.d, "list.csv"), "--state", self.state, "--force", *extra_args]

    def run(self, timeout=60, **kw):
        argv = self.args(**kw)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        return Run(p, p.stdout, p.stderr, self.state)

    def start(self, **kw):
        return subprocess.Popen(self.args(**kw), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, stdin=subprocess.DEVNULL)


@pytest.fixture
def sender(tmp_path):
    return Sender(str(tmp_path))


def fault_records(world, mode="esmtp"):
    path = world.fault_log(mode)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        # a line without its newline is still being written by the receiver
        return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]


def maildir_files(world, domain, user, at_least=1, timeout=10.0):
    """The files of a Maildir, waiting up to timeout for at_least of them:
    Postfix delivers to the Maildir a moment after its 250, not before."""
    import glob as _glob
    pattern = os.path.join(world.maildir(domain, user), "*")
    wait_for(lambda: len(_glob.glob(pattern)) >= at_least, timeout=timeout)
    return sorted(_glob.glob(pattern))


def wait_for(pred, timeout=20.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def pytest_configure(config):
    # slow: a test whose length is the receiver's own window (minutes of
    # waiting, not of work); `make asan` leaves these out, their code runs
    # under the sanitizers in the unit tests (tests/unit/shape)
    config.addinivalue_line("markers", "slow: waits out a receiver's minute-long window")
