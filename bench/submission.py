"""The ways in (issue 11): SMTP submission and the HTTP API of `sluice serve`
against Postfix accepting and relaying, all to the world's smtp-sink.

Imported by bench/run (`bench/run --only-submission` runs this part alone).
The client is bench/loadgen.c (built here into build/bench-loadgen): one
thread per connection, blocking sockets, 50 connections opened (EHLO,
STARTTLS, AUTH PLAIN) before the clock starts, then each sends 2 KiB
messages, one recipient each (user<k>@d<k % 1000>.bench.test, whose MX is
the sink), over its connection until N are answered: MAIL, RCPT and DATA
in one write (PIPELINING), then the message and its final "." in one
write; the latency is from that write to the 250. For the API: POST
/v1/messages on 50 keep-alive connections, JSON {"from", "to", "raw"}, from
the request's write to the end of the 202.

Runs, each against a fresh `sluice serve` (fresh state directory):
  smtp        50 clients, AUTH, no TLS (submission.auth_without_tls, loopback),
              as fast as sluice answers
  smtp paced  the same at half the rate just measured: the latency there
              (target: p99 < 20 ms)
  smtp tls    STARTTLS then AUTH, as fast as sluice answers
  api         POST /v1/messages, 50 keep-alive clients
  postfix     a Postfix relay (bench/run's, durable queue, default fsync)
              on its port 25, relaying to the sink; the same client with no
              AUTH (Debian's Postfix has no SASL without Dovecot or Cyrus):
              it accepts from loopback because of mynetworks
End to end: from the clock's start until the delivery log (sluice) or the
mail log (Postfix, status=sent) shows every accepted message at the sink.
CPU: the client's (user + system, all threads), sluice's (/proc), and the
machine's (/proc/stat, in cores) during the accepting part.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "world"))
import world as W  # noqa: E402

SLUICE = os.environ.get("SLUICE_BIN") or os.path.join(ROOT, "build", "sluice")
LOADGEN = os.path.join(ROOT, "build", "bench-loadgen")
SUB_IP = "127.0.7.1"        # serve's submission and API listeners
SMTP_PORT, API_PORT, METRICS_PORT = 587, 8087, 8088
POSTFIX_IP = "127.0.4.2"    # the Postfix relay of this part
USER, PASSWORD = "bench-app", "bench password 0123456789"
FROM = "news@news.sluice.test"
CONNS = int(os.environ.get("BENCH_SUBMISSION_CONNS", "50"))  # another count, to explore
TICK = os.sysconf("SC_CLK_TCK")


def progress(msg):
    print(msg, file=sys.stderr, flush=True)


def build_loadgen():
    src = os.path.join(HERE, "loadgen.c")
    if os.path.exists(LOADGEN) and os.path.getmtime(LOADGEN) >= os.path.getmtime(src):
        return
    os.makedirs(os.path.dirname(LOADGEN), exist_ok=True)
    subprocess.run(["cc", "-std=c11", "-O2", "-Wall", "-Wextra", "-pthread", src, "-o", LOADGEN,
                    "-lssl", "-lcrypto", "-lm"], check=True)


def tenant_secrets():
    """(yescrypt hash of PASSWORD, API key, its sha256: line), from sluice itself."""
    h = subprocess.run([SLUICE, "tenant", "password"], input=PASSWORD + "\n", text=True,
                       capture_output=True, check=True).stdout.strip()
    out = subprocess.run([SLUICE, "tenant", "key"], text=True, capture_output=True,
                         check=True).stdout
    key = next(x.strip() for x in out.split("\n") if x.strip().startswith("sk_"))
    key_hash = next(x.strip().lstrip("- ").strip('"') for x in out.split("\n")
                    if "sha256:" in x)
    return h, key, key_hash


def serve_config(d, pw_hash, key_hash):
    key, crt = W.make_cert(d)
    cfg = os.path.join(d, "serve.yaml")
    with open(cfg, "w") as f:
        f.write(f"""\
dns:
  resolvers: [{W.DNS_IP}]
sources:
  - ip: {W.SOURCE_IP}
    helo: {W.SOURCE_HELO}
sender:
  envelope_from: bounces@news.sluice.test
delivery:
  max_connections_per_site: 20   # as bench/run's campaigns (Postfix's default)
  tls: off                       # smtp-sink offers none; Postfix relays in plaintext too
inbound:
  listen: {SUB_IP}:25            # serve needs one; nothing is sent to it here
  http_listen: {SUB_IP}:{METRICS_PORT}
http:
  metrics_public: true           # the group commit histogram, read after each run
submission:
  listen: {SUB_IP}:{SMTP_PORT}
  tls_cert: {crt}
  tls_key: {key}
  auth_without_tls: true         # loopback only: the no-TLS run
api:
  listen: {SUB_IP}:{API_PORT}
tenants:
  - name: bench
    sender_domains: [news.sluice.test]
    smtp_users:
      - user: {USER}
        password_hash: "{pw_hash}"
    api_keys: ["{key_hash}"]
""")
    return cfg


def proc_cpu(pid):
    """user + system seconds of a process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy():
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


class Counter:
    """Counts lines with a marker in a growing log file."""

    def __init__(self, path, marker):
        self.path, self.marker = path, marker
        self.offset, self.rest, self.n = 0, b"", 0

    def count(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return self.n
        self.offset += len(chunk)
        lines = (self.rest + chunk).split(b"\n")
        self.rest = lines.pop()
        self.n += sum(1 for x in lines if self.marker in x)
        return self.n


def wait_delivered(counter, n, t0, label, limit_s=300):
    """Seconds from t0 (CLOCK_MONOTONIC) until counter reaches n."""
    last = time.monotonic()
    while counter.count() < n:
        time.sleep(0.05)
        if time.monotonic() - last > 10:
            progress(f"  {label}: {counter.n}/{n} at the sink")
            last = time.monotonic()
        if time.monotonic() - t0 > limit_s:
            raise SystemExit(f"{label}: only {counter.n}/{n} at the sink after {limit_s} s")
    return time.monotonic() - t0


def group_commits():
    """(count, seconds) of serve's group commits so far, from /metrics."""
    import http.client
    c = http.client.HTTPConnection(SUB_IP, METRICS_PORT, timeout=5)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    got = {}
    for line in text.split("\n"):
        for k in ("sluice_group_commit_seconds_count", "sluice_group_commit_seconds_sum"):
            if line.startswith(k + " "):
                got[k] = float(line.split()[1])
    return (got.get("sluice_group_commit_seconds_count", float("nan")),
            got.get("sluice_group_commit_seconds_sum", float("nan")))


class Serve:
    def __init__(self, d, cfg, name):
        self.state = os.path.join(d, f"state-{name}")
        shutil.rmtree(self.state, ignore_errors=True)
        self.err = open(os.path.join(d, f"serve-{name}.err"), "w+")
        self.p = subprocess.Popen([SLUICE, "serve", "--config", cfg, "--state", self.state,
                                   "--force"], stdout=subprocess.DEVNULL, stderr=self.err)
        try:
            W.wait_port(SUB_IP, SMTP_PORT)
            W.wait_port(SUB_IP, API_PORT)
        except RuntimeError:
            self.stop()
            raise
        self.delivered = Counter(os.path.join(self.state, "delivery.log"),
                                 b'"outcome":"delivered"')

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.err.seek(0)
        text = self.err.read()
        self.err.close()
        if self.p.returncode not in (0, -signal.SIGTERM):
            progress(text[-3000:])
            raise SystemExit(f"sluice serve exited with {self.p.returncode}")
        return text


def loadgen(mode, host, port, n, rate=0.0, extra=()):
    argv = [LOADGEN, mode, "--host", host, "--port", str(port), "--conns", str(CONNS),
            "--n", str(n), "--from", FROM, *extra]
    if rate:
        argv += ["--rate", f"{rate:.1f}"]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def loadgen_t0(p):
    """Waits for the client's clock to start (its first line, t0=)."""
    line = p.stdout.readline()
    if not line.startswith("t0="):
        return None
    return float(line.split("=", 1)[1])


def loadgen_result(p, label, t0):
    out, err = p.communicate()
    r = {"t0": t0}
    for line in out.split("\n"):
        if "=" in line:
            k, v = line.split("=", 1)
            r[k] = float(v)
    if err.strip():
        progress(f"  {label}: client said: {err.strip()[:1500]}")
    if p.returncode != 0 or not r.get("ok"):
        raise SystemExit(f"{label}: the client failed ({p.returncode})")
    return r


def measured(label, start_client, server_pid, delivered, perf_out=None):
    """Runs one load: the client's numbers, CPU shares, end to end."""
    p = start_client()
    t0 = loadgen_t0(p)  # every connection is open (and authenticated)
    busy0 = machine_busy()
    cpu0 = proc_cpu(server_pid) if server_pid else 0.0
    gc0 = group_commits() if server_pid else None
    perf = None
    if perf_out and server_pid:
        perf = subprocess.Popen(["perf", "record", "--call-graph", "dwarf,16384", "-F", "300",
                                 "-o", perf_out, "-p", str(server_pid)],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    r = loadgen_result(p, label, t0)
    if perf:
        perf.send_signal(signal.SIGINT)
        perf.wait()
    cpu1 = proc_cpu(server_pid) if server_pid else 0.0
    busy1 = machine_busy()
    if gc0:
        gc1 = group_commits()
        r["commits"] = gc1[0] - gc0[0]
        r["commit_ms"] = (gc1[1] - gc0[1]) * 1e3 / max(r["commits"], 1)
    # CPU shares over the accepting part only (not the connections' setup)
    r["client_cores"] = r["cpu_s"] / r["seconds"]
    r["server_cores"] = (cpu1 - cpu0) / r["seconds"] if server_pid else float("nan")
    r["machine_cores"] = (busy1[0] - busy0[0]) / max(busy1[1] - busy0[1], 1) * os.cpu_count()
    r["e2e_s"] = wait_delivered(delivered, int(r["ok"]), r["t0"], label)
    r["e2e_rate"] = r["ok"] / r["e2e_s"]
    progress(f"  {label}: {r['ok']:.0f} accepted in {r['seconds']:.2f} s ({r['rate']:.0f}/s), "
             f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms (whole transaction "
             f"{r['txn_p50_ms']:.2f}, {r['txn_p99_ms']:.2f}); setup {r['setup_s']:.2f} s; "
             f"at the sink after "
             f"{r['e2e_s']:.1f} s; client {r['client_cores']:.2f} cores, "
             f"sluice {r['server_cores']:.2f}, machine {r['machine_cores']:.2f}"
             + (f"; {r['commits']:.0f} group commits, {r['commit_ms']:.2f} ms each"
                if "commits" in r else ""))
    return r


def sluice_run(d, cfg, name, label, mode, port, n, rate=0.0, extra=(), perf_out=None):
    progress(f"{label}: {n} messages, {CONNS} connections"
             + (f", paced at {rate:.0f}/s" if rate else "") + " ...")
    s = Serve(d, cfg, name)
    try:
        r = measured(label, lambda: loadgen(mode, SUB_IP, port, n, rate, extra), s.p.pid,
                     s.delivered, perf_out)
    finally:
        s.stop()
    return r


def postfix_run(d, n):
    pd = os.path.join(d, "postfix-submission")
    W.start_postfix_relay(pd, POSTFIX_IP, W.SINK_IP)
    progress(f"postfix: {n} messages, {CONNS} connections, relayed to the sink ...")
    try:
        counter = Counter(os.path.join(pd, "maillog"), b"status=sent")
        r = measured("postfix", lambda: loadgen("smtp", POSTFIX_IP, 25, n), None, counter)
    finally:
        W.stop_postfix(pd)
    return r


def perf_top(perf_file, n=10):
    """From a perf recording: the top functions by self time, and the
    functions of sluice and its libraries by inclusive time (3% to 60%: below
    the event loop's own frames), as text lines."""
    def report(children):
        p = subprocess.run(["perf", "report", "-i", perf_file, "--stdio", "--sort", "symbol",
                            "-g", "none", "--percent-limit", "1",
                            "--children" if children else "--no-children"],
                           capture_output=True, text=True)
        return [x.split() for x in p.stdout.split("\n") if x.strip() and not x.startswith("#")]
    out = ["self time:"]
    for f in report(False)[:n]:
        out.append(f"  {f[0]:>7} {f[1]} {f[2]}")
    out.append("inclusive (callees counted), user space:")
    k = 0
    for f in report(True):
        incl = float(f[0].rstrip("%"))
        name = f[3]
        if f[2] == "[.]" and 3 <= incl <= 60 and not name.startswith("0x") and k < 2 * n:
            out.append(f"  {f[0]:>7} {name}")
            k += 1
    return out


def run(d, n=20000, api_n=None, postfix_n=None, tls_n=None, paced_s=8.0, perf=False):
    """Every run of this part; returns their results for table()."""
    build_loadgen()
    d = os.path.join(d, "submission")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    pw_hash, key, key_hash = tenant_secrets()
    cfg = serve_config(d, pw_hash, key_hash)
    auth = ("--user", USER, "--pass", PASSWORD)
    res = {"n": n}
    perf_file = os.path.join(d, "perf-smtp.data") if perf else None
    res["smtp"] = sluice_run(d, cfg, "smtp", "sluice smtp", "smtp", SMTP_PORT, n, extra=auth,
                             perf_out=perf_file)
    if perf:
        res["perf"] = perf_top(perf_file)
    half = res["smtp"]["rate"] / 2
    res["paced_rate"] = half
    res["paced"] = sluice_run(d, cfg, "paced", "sluice smtp paced", "smtp", SMTP_PORT,
                              min(n, int(half * paced_s)), rate=half, extra=auth)
    res["tls"] = sluice_run(d, cfg, "tls", "sluice smtp STARTTLS", "smtp", SMTP_PORT,
                            tls_n or n, extra=auth + ("--starttls",))
    res["api"] = sluice_run(d, cfg, "api", "sluice HTTP API", "http", API_PORT, api_n or n,
                            extra=("--key", key))
    res["postfix"] = postfix_run(d, postfix_n or n)
    return res


def table(res):
    """The section's lines for bench/last.md."""
    rows = [
        ("sluice, SMTP AUTH, no TLS", res["smtp"]),
        (f"sluice, SMTP AUTH, no TLS, paced at {res['paced_rate']:.0f}/s (half)", res["paced"]),
        ("sluice, SMTP STARTTLS + AUTH", res["tls"]),
        ("sluice, HTTP API POST /v1/messages", res["api"]),
        ("postfix, SMTP port 25, no AUTH (mynetworks)", res["postfix"]),
    ]
    out = [f"SMTP submission and HTTP API: {CONNS} concurrent connections, 2 KiB messages, "
           f"one recipient each, accepted (durable) and relayed to smtp-sink on loopback; "
           f"p50/p99 from the final \".\" (API: the request) to the 250 (202); "
           f"end to end: until all are at the sink",
           "",
           "| run | messages | accepted msg/s | p50 ms | p99 ms | p99 MAIL to 250, ms | "
           "end to end msg/s | client CPU (cores) | sluice CPU (cores) |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in rows:
        sv = "-" if r["server_cores"] != r["server_cores"] else f"{r['server_cores']:.2f}"
        out.append(f"| {name} | {r['ok']:.0f} | {r['rate']:.0f} | {r['p50_ms']:.2f} | "
                   f"{r['p99_ms']:.2f} | {r['txn_p99_ms']:.2f} | {r['e2e_rate']:.0f} | {r['client_cores']:.2f} | "
                   f"{sv} |")
    s, p, pc = res["smtp"], res["postfix"], res["paced"]
    out += ["",
            f"ratio sluice/postfix, accepted: {s['rate'] / p['rate']:.1f}x (target: at least 4x); "
            f"end to end: {s['e2e_rate'] / p['e2e_rate']:.1f}x",
            f"p99 from the final \".\" to the 250 at half sluice's rate "
            f"({res['paced_rate']:.0f} msg/s): {pc['p99_ms']:.2f} ms (target: under 20 ms)",
            "failed or refused: " + ", ".join(f"{k} {res[k]['failed']:.0f}"
                                              for k in ("smtp", "paced", "tls", "api",
                                                        "postfix")),
            "sluice's group commits (on its event loop): " + ", ".join(
                f"{k} {res[k]['commits'] / res[k]['seconds']:.0f}/s of "
                f"{res[k]['commit_ms']:.2f} ms" for k in ("smtp", "paced", "tls", "api")),
            f"the machine ({os.cpu_count()} cores) during the accepting part: "
            + ", ".join(f"{k} {res[k]['machine_cores']:.2f}"
                        for k in ("smtp", "paced", "tls", "api", "postfix")) + " cores busy"]
    if res.get("perf"):
        out += ["", "perf record of sluice serve in the SMTP run without TLS:", "", "```"]
        out += res["perf"]
        out += ["```"]
    return out
