#!/usr/bin/env python3
"""The test world: real peers for sluice, on loopback addresses only.

Started by the e2e tests, the demo and the benchmark; stopped by PID.

  unbound      127.0.53.1:53   test zones (MX, null MX, no MX, NXDOMAIN, REFUSED,
                               a zone that never answers, A and PTR records)
  postfix      127.0.1.1:25    receiver "mx.ok.test": virtual Maildirs, unknown users
                               550 5.1.1, full@ 452 4.2.2 (access map), STARTTLS
  postfix      127.0.1.2:25    receiver "mx.grey.test" for grey.test, asking
  + postgrey   127.0.5.1:10023 postgrey (real greylisting, 2 s delay) about every recipient
  postfix      127.0.1.3:25    receiver "mx.anvil.test" for anvil.test with anvil limits
                               (2 connections, 50 messages per 10 s per client IP)
  postfix      127.0.1.4:25    "mx.later.test": accepts anything for later.test, then
                               forwards it to mx.ok.test as user@ok.test; unknown users
                               there make it send a real DSN to the envelope sender,
                               and mail for bounce.sluice.test goes to 127.0.6.1:25
                               (where the tests run `sluice serve`)
  postfix      127.0.1.5:25    "mx.picky.test": rejects the sender blocked@news.sluice.test at
                               MAIL FROM (smtpd_delay_reject=no) and a Subject with FREE
                               MONEY at the end of DATA (header_checks); no SMTPUTF8
  smtp-sink    127.0.2.1:25    Postfix's sink, for speed
  faults       127.0.3.1-8:25  scripted receivers (aiosmtpd, fault_smtpd.py): faults per
                               recipient, no ESMTP, MAIL refused, silent close after 3
                               messages, 421 banner (see FAULT_LISTENERS); the one that
                               defers every MAIL FROM is also webmail.test's MX, named
                               like Gmail's (gmail-smtp-in.l.google.com, in this DNS only)

Nothing here sends or answers anything outside 127.0.0.0/8.
Usage as a program: world.py start DIR | stop DIR
"""
import base64
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DNS_IP = "127.0.53.1"
POSTFIX_IP = "127.0.1.1"
SINK_IP = "127.0.2.1"
FAULTS_IP = "127.0.3.1"
NOESMTP_IP = "127.0.3.2"
# scripted receivers: domain -> (listener IP, mode of fault_smtpd.py)
FAULT_LISTENERS = {
    "faults.test": (FAULTS_IP, "esmtp"),
    "noesmtp.test": (NOESMTP_IP, "noesmtp"),
    "mail5xx.test": ("127.0.3.3", "mail5xx"),
    "mail4xx.test": ("127.0.3.4", "mail4xx"),
    "cap.test": ("127.0.3.5", "cap3"),
    "banner.test": ("127.0.3.6", "banner421"),
    "ehlo.test": ("127.0.3.7", "ehlo421"),
    "throttle.test": ("127.0.3.8", "rp001"),
    "learn.test": ("127.0.3.12", "webmail"),  # 30 a minute, 3 connections per client
    # for a prompt stop: receivers that hold a session whatever sluice waits for
    "silent.test": ("127.0.3.9", "silent"),      # accepts, never greets
    "stalldot.test": ("127.0.3.10", "stalldot"),  # never answers the final dot
    "slowbyte.test": ("127.0.3.11", "slowbyte"),  # answers one byte a second
}
PROVIDER_DOMAIN = "webmail.test"  # its MX looks like Gmail's; it defers everything
PROVIDER_MX = "gmail-smtp-in.l.google.com"
DEAD_IP = "127.0.1.99"  # nothing listens here: connection refused
GREY_IP = "127.0.1.2"   # a Postfix receiver behind postgrey
ANVIL_IP = "127.0.1.3"  # a Postfix receiver with anvil limits for loopback clients
LATER_IP = "127.0.1.4"  # a Postfix that accepts, forwards, and bounces later (real DSNs)
PICKY_IP = "127.0.1.5"  # a Postfix that rejects a sender at MAIL FROM and content at DATA
PICKY_BLOCKED_SENDER = "blocked@news.sluice.test"
PICKY_BLOCKED_SUBJECT = "FREE MONEY"
INBOUND_IP = "127.0.6.1"  # where the tests run sluice serve (bounce domain MX)
BOUNCE_DOMAIN = "bounce.sluice.test"
BAD_SOURCE_IP = "127.0.0.12"  # only for `sluice check`: everything about it is wrong
DNSBL_ZONE = "bl.sluice.test"
URIBL_ZONE = "dbl.sluice.test"  # a URI (domain) blocklist listing LISTED_LINK_DOMAIN
LISTED_LINK_DOMAIN = "spammy.test"
ANVIL_CONNECTIONS = 2
# many business domains of one "provider": each its own MX host name
# (mx.pN.provider.test, one `providers` glob), all on the anvil Postfix
PROVIDER_TEST_DOMAINS = [f"p{i}.provider.test" for i in range(50)]
ANVIL_MESSAGES, ANVIL_UNIT_S = 50, 10  # messages per client per unit
POSTGREY_IP = "127.0.5.1"
POSTGREY_DELAY_S = 2
SOURCE_IP = "127.0.0.10"
SOURCE_HELO = "mta1.sluice.test"
SOURCE2_IP = "127.0.0.11"  # a second egress identity, for pools
SOURCE2_HELO = "mta2.sluice.test"
POSTFIX_DOMAINS = ["ok.test", "multi.test", "nomx.test", "idn.test", "xn--caf-dma.test"]
POSTFIX_USERS = ["alice", "bob", "carol", "dave", "full", "tls"] + [f"user{i}" for i in range(560)]
# source failover (tests/e2e/test_failover.py): mx.ok.test refuses these
# recipients from SOURCE_IP only, with a blocklist-style reply (a Postfix
# restriction class: check_client_access for one IP)
BLOCKLISTED_USERS = [f"user{i}@ok.test" for i in range(470, 480)]
BLOCKLIST_REPLY = "554 5.7.1 Service unavailable; Client host blocked using zen.spamhaus.org"
BENCH_DOMAINS = 1000
PYTHON = "/usr/bin/python3"  # Debian's, which has aiosmtpd


def zone_lines():
    """unbound local-data for every test zone."""
    L = []

    def a(name, ip):
        L.append(f'local-data: "{name}. 300 IN A {ip}"')

    def mx(name, pref, host):
        L.append(f'local-data: "{name}. 300 IN MX {pref} {host}."')

    a("mx.ok.test", POSTFIX_IP)
    mx("ok.test", 10, "mx.ok.test")
    # two MX hosts: the preferred one refuses connections
    a("mx-dead.multi.test", DEAD_IP)
    mx("multi.test", 10, "mx-dead.multi.test")
    mx("multi.test", 20, "mx.ok.test")
    # the only MX refuses connections
    a("mx.dead.test", DEAD_IP)
    mx("dead.test", 10, "mx.dead.test")
    # no MX at all: the domain's own A record (RFC 5321 5.1)
    a("nomx.test", POSTFIX_IP)
    L.append('local-data: "nomx.test. 300 IN TXT \\"no mx here\\""')
    # RFC 7505 null MX
    L.append('local-data: "nullmx.test. 300 IN MX 0 ."')
    # an MX host with no address
    mx("noaddr.test", 10, "nothing.noaddr.test")
    # IDN domain café.test in A-labels
    mx("xn--caf-dma.test", 10, "mx.ok.test")
    mx("idn.test", 10, "mx.ok.test")
    a("mx.anvil.test", ANVIL_IP)
    mx("anvil.test", 10, "mx.anvil.test")
    for dom in PROVIDER_TEST_DOMAINS:
        a(f"mx.{dom}", ANVIL_IP)
        mx(dom, 10, f"mx.{dom}")
    a("mx.grey.test", GREY_IP)
    mx("grey.test", 10, "mx.grey.test")
    a("mx.picky.test", PICKY_IP)
    mx("picky.test", 10, "mx.picky.test")
    a("mx.later.test", LATER_IP)
    mx("later.test", 10, "mx.later.test")
    a(f"mx.{BOUNCE_DOMAIN}", INBOUND_IP)
    mx(BOUNCE_DOMAIN, 10, f"mx.{BOUNCE_DOMAIN}")
    a("mx.sink.test", SINK_IP)
    mx("sink.test", 10, "mx.sink.test")
    for dom, (ip, _mode) in FAULT_LISTENERS.items():
        a(f"mx.{dom}", ip)
        mx(dom, 10, f"mx.{dom}")
    # a "large provider" by its MX name (mail/providers.c knows *.google.com):
    # only this test DNS says so, and it points at the scripted receiver
    # that defers every MAIL FROM
    a(PROVIDER_MX, FAULT_LISTENERS["mail4xx.test"][0])
    mx(PROVIDER_DOMAIN, 10, PROVIDER_MX)
    # more sites on the same scripted receiver (other MX host names)
    for n in range(2, 7):
        a(f"mx{n}.faults.test", FAULTS_IP)
        mx(f"faults{n}.test", 10, f"mx{n}.faults.test")
    for i in range(BENCH_DOMAINS):
        mx(f"d{i}.bench.test", 10, "mx.sink.test")
    # the egress identity: forward and reverse agree
    for ip, helo in ((SOURCE_IP, SOURCE_HELO), (SOURCE2_IP, SOURCE2_HELO)):
        a(helo, ip)
        L.append(f'local-data-ptr: "{ip} {helo}"')
        L.append(f"local-data: '{helo}. 300 IN TXT \"v=spf1 a -all\"'")
    # the sender's domains as `sluice check` wants them: SPF for both
    # sources, DMARC (the DKIM keys are added by make_dkim_keys)
    spf = f"v=spf1 ip4:{SOURCE_IP} ip4:{SOURCE2_IP} -all"
    for dom in ("news.sluice.test", BOUNCE_DOMAIN, "app.sluice.test"):
        L.append(f"local-data: '{dom}. 300 IN TXT \"{spf}\"'")
    L.append("local-data: '_dmarc.news.sluice.test. 300 IN TXT "
             "\"v=DMARC1; p=quarantine; rua=mailto:dmarc@news.sluice.test\"'")
    mx("news.sluice.test", 10, "mx.ok.test")
    # a bad source: a dynamic-looking PTR that does not resolve back, not in
    # SPF, and listed on the test blocklist
    L.append(f'local-data-ptr: "{BAD_SOURCE_IP} 127-0-0-12.dyn.pool.example.test"')
    rev = ".".join(reversed(BAD_SOURCE_IP.split(".")))
    a(f"{rev}.{DNSBL_ZONE}", "127.0.0.2")
    L.append(f"local-data: '{rev}.{DNSBL_ZONE}. 300 IN TXT \"listed: seen sending spam\"'")
    a(f"{LISTED_LINK_DOMAIN}.{URIBL_ZONE}", "127.0.1.2")
    L.append(f"local-data: '{LISTED_LINK_DOMAIN}.{URIBL_ZONE}. 300 IN TXT "
             f"\"{LISTED_LINK_DOMAIN} is a spam domain (test listing)\"'")
    return L


DKIM_DOMAIN = "news.sluice.test"
DKIM_SELECTORS = {"rsa2048": "RSA", "ed": "ED25519"}
# a second tenant's sender domain with its own key (selector APP_SELECTOR):
# keys["app"] signs for it
APP_DOMAIN = "app.sluice.test"
APP_SELECTOR = "app"


def make_dkim_keys(d):
    """A DKIM key pair per selector of DKIM_DOMAIN, made fresh for each world:
    {selector: private key file}, and the TXT records that publish them."""
    keys, lines = {}, []
    for sel, alg, dom in [(s, a, DKIM_DOMAIN) for s, a in DKIM_SELECTORS.items()] + [
            (APP_SELECTOR, "RSA", APP_DOMAIN)]:
        key = os.path.join(d, f"dkim-{sel}.pem")
        opts = ["-pkeyopt", "rsa_keygen_bits:2048"] if alg == "RSA" else []
        subprocess.run(["openssl", "genpkey", "-algorithm", alg, *opts, "-out", key],
                       check=True, capture_output=True)
        der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                             check=True, capture_output=True).stdout
        # RSA: the SubjectPublicKeyInfo; Ed25519 (RFC 8463): the raw 32 bytes
        pub = base64.b64encode(der if alg == "RSA" else der[-32:]).decode()
        txt = f"v=DKIM1; k={'rsa' if alg == 'RSA' else 'ed25519'}; p={pub}"
        parts = " ".join(f'"{txt[i:i + 200]}"' for i in range(0, len(txt), 200))
        lines.append(f"local-data: '{sel}._domainkey.{dom}. 300 IN TXT {parts}'")
        keys[sel] = key
    return keys, lines


def write_unbound_conf(d, extra=()):
    conf = os.path.join(d, "unbound.conf")
    lines = [
        "server:",
        f"  interface: {DNS_IP}",
        "  port: 53",
        "  do-ip6: no",
        "  do-daemonize: no",
        '  chroot: ""',
        '  username: ""',
        f'  directory: "{d}"',
        f'  pidfile: "{d}/unbound.pid"',
        "  use-syslog: no",
        f'  logfile: "{d}/unbound.log"',
        "  access-control: 127.0.0.0/8 allow",
        "  module-config: \"iterator\"",
        "  do-not-query-localhost: no",
        "  num-threads: 1",
        "  verbosity: 1",
        # everything is local: nothing is ever asked of the Internet
        '  local-zone: "." static',
        '  local-zone: "refused.test." refuse',
        '  local-zone: "timeout.test." deny',
    ] + ["  " + l for l in zone_lines() + list(extra)] + [
        # on a socket in the world's directory: tests change records at
        # runtime (World.dns_control)
        "remote-control:",
        "  control-enable: yes",
        f'  control-interface: "{d}/unbound.ctl"',
    ]
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    return conf


def wait_port(ip, port, timeout=15.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection((ip, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {ip}:{port} after {timeout}s")


def wait_dns(timeout=15.0):
    """Waits until unbound answers a query on DNS_IP:53 (UDP)."""
    q = bytes.fromhex("12340100000100000000000002" "6f6b04746573740000010001")  # ok.test A
    end = time.time() + timeout
    while time.time() < end:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.3)
        try:
            s.sendto(q, (DNS_IP, 53))
            s.recvfrom(512)
            return
        except OSError:
            time.sleep(0.05)
        finally:
            s.close()
    raise RuntimeError("unbound does not answer")


def make_cert(d):
    key, crt = os.path.join(d, "tls.key"), os.path.join(d, "tls.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=mx.ok.test", "-keyout", key, "-out", crt],
                   check=True, capture_output=True)
    return key, crt


POSTFIX_MASTER_CF = """\
{ip}:25   inet  n - n - - smtpd
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def postfix_common_cf(d, ip, hostname):
    """main.cf lines every test instance shares: its own directories and log,
    listening on ip only, no local delivery, no DNS lookups of clients."""
    return f"""\
compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
inet_interfaces = loopback-only
proxy_interfaces = {ip}
inet_protocols = ipv4
myhostname = {hostname}
mydestination =
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
biff = no
alias_maps =
alias_database =
local_recipient_maps =
"""


def postfix_main_cf(d, ip, tls_key, tls_crt, hostname="mx.ok.test", domains=None,
                    policy="", extra=""):
    nobody = pwd.getpwnam("nobody")
    domains = domains or POSTFIX_DOMAINS
    return postfix_common_cf(d, ip, hostname) + f"""\
mydomain = {hostname.split(".", 1)[1]}
smtpd_banner = $myhostname ESMTP
smtputf8_enable = yes
virtual_mailbox_domains = {" ".join(domains)}
virtual_mailbox_base = {d}/mail
virtual_mailbox_maps = texthash:{d}/etc/vmailbox
virtual_uid_maps = static:{nobody.pw_uid}
virtual_gid_maps = static:{nobody.pw_gid}
smtpd_recipient_restrictions = check_recipient_access texthash:{d}/etc/rcpt_access,
    {policy} reject_unauth_destination
smtpd_tls_security_level = may
smtpd_tls_cert_file = {tls_crt}
smtpd_tls_key_file = {tls_key}
smtpd_tls_received_header = yes
""" + extra


def start_postfix_dirs(d):
    """Fresh directories for a Postfix instance in d; returns its TLS key and cert."""
    if os.path.exists(d):
        shutil.rmtree(d)
    for sub in ("etc", "queue", "data", "mail"):
        os.makedirs(os.path.join(d, sub))
    nobody = pwd.getpwnam("nobody")
    os.chown(os.path.join(d, "mail"), nobody.pw_uid, nobody.pw_gid)
    pf = pwd.getpwnam("postfix")
    os.chown(os.path.join(d, "data"), pf.pw_uid, pf.pw_gid)
    return make_cert(d)


def start_postfix(d, ip):
    """Starts the instance whose main.cf is in d/etc, listening on ip:25."""
    etc = os.path.join(d, "etc")
    with open(os.path.join(etc, "master.cf"), "w") as f:
        f.write(POSTFIX_MASTER_CF.format(ip=ip))
    env = dict(os.environ, MAIL_CONFIG=etc)
    p = subprocess.run(["postfix", "-c", etc, "start"], env=env, capture_output=True)
    if p.returncode != 0:
        # Postfix tells why only to syslog or a terminal: ask again with one.
        why = subprocess.run(["script", "-qc", f"postfix -c {etc} start", "/dev/null"],
                             env=env, capture_output=True, text=True).stdout
        raise RuntimeError(f"postfix did not start: {why.strip()}")
    pidfile = os.path.join(d, "queue", "pid", "master.pid")
    end = time.time() + 10
    while not os.path.exists(pidfile) and time.time() < end:
        time.sleep(0.05)
    wait_port(ip, 25)


def start_postfix_relay(d, ip, relayhost):
    """A Postfix instance that relays everything from loopback to relayhost
    (the benchmark's peer). Returns nothing; stop it with stop_postfix(d)."""
    start_postfix_dirs(d)
    with open(os.path.join(d, "etc", "main.cf"), "w") as f:
        f.write(postfix_common_cf(d, ip, "relay.sluice.test") + f"""\
relayhost = [{relayhost}]:25
smtp_tls_security_level = none
""")
    start_postfix(d, ip)


class World:
    """Starts the peers in directory d; stop() kills them by PID."""

    def __init__(self, d):
        self.d = os.path.abspath(d)
        self.procs = []  # (name, Popen)
        self.postfix_dir = os.path.join(self.d, "postfix")
        self.grey_dir = os.path.join(self.d, "postfix-grey")
        self.anvil_dir = os.path.join(self.d, "postfix-anvil")
        self.later_dir = os.path.join(self.d, "postfix-later")
        self.picky_dir = os.path.join(self.d, "postfix-picky")
        assert sorted(postfix_dirs(self.d)) == sorted(
            [self.postfix_dir, self.grey_dir, self.anvil_dir, self.later_dir, self.picky_dir])

    def start(self, stop_leftovers=False):
        """Starts every peer; on any failure (or Ctrl-C) stops what started.
        stop_leftovers: first stop the worlds an earlier, killed run left
        behind (only for a caller holding /tmp/sluice-e2e.lock, as the tests
        and 'make bench' do: then no other world can be live)."""
        if stop_leftovers:
            stop_leftover_worlds(self.d)
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        os.makedirs(self.d, exist_ok=True)
        os.chmod(self.d, 0o755)  # Postfix's daemons run as postfix and nobody
        self._start_unbound()
        pd = self.postfix_dir
        self._start_postfix(extra=(
            "smtpd_restriction_classes = blocklisted_mta1\n"
            f"blocklisted_mta1 = check_client_access texthash:{pd}/etc/client_blocklist\n"),
            files={"client_blocklist": f"{SOURCE_IP} {BLOCKLIST_REPLY}\n"})
        self._start_greylisting()
        # anvil limits loopback clients too once the exceptions list is empty
        self._start_postfix(self.anvil_dir, ANVIL_IP, "mx.anvil.test",
                            ["anvil.test"] + PROVIDER_TEST_DOMAINS, extra=(
            f"smtpd_client_connection_count_limit = {ANVIL_CONNECTIONS}\n"
            f"smtpd_client_message_rate_limit = {ANVIL_MESSAGES}\n"
            f"anvil_rate_time_unit = {ANVIL_UNIT_S}s\n"
            "smtpd_client_event_limit_exceptions =\n"))
        self._start_later()
        pd = self.picky_dir
        self._start_postfix(pd, PICKY_IP, "mx.picky.test", ["picky.test"], extra=(
            "smtputf8_enable = no\n"  # like many receivers: 8BITMIME, no SMTPUTF8
            "smtpd_delay_reject = no\n"
            f"smtpd_sender_restrictions = check_sender_access texthash:{pd}/etc/senders\n"
            f"header_checks = regexp:{pd}/etc/header_checks\n"), files={
            "senders": f"{PICKY_BLOCKED_SENDER} REJECT 5.7.1 Sender address rejected: "
                       "blocked by local policy\n",
            "header_checks": f"/^Subject:.*{PICKY_BLOCKED_SUBJECT}/ REJECT 5.7.1 Message "
                             "content rejected as spam\n"})
        self._start_sink()
        self._start_faults()
        wait_dns()
        for ip in [POSTFIX_IP, SINK_IP] + [ip for ip, _ in FAULT_LISTENERS.values()]:
            wait_port(ip, 25)
        return self

    def _spawn(self, name, argv, **kw):
        log = open(os.path.join(self.d, f"{name}.out"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, **kw)
        self.procs.append((name, p))
        # at once, so that 'world.py stop' finds it even if the start fails later
        with open(os.path.join(self.d, "world.pids"), "a") as f:
            f.write(f"{name} {p.pid}\n")
        return p

    def _start_unbound(self):
        self.dkim_keys, txt = make_dkim_keys(self.d)
        conf = write_unbound_conf(self.d, txt)
        self._spawn("unbound", ["unbound", "-d", "-c", conf])

    def dns_control(self, *args):
        """unbound-control on the world's resolver, e.g. ("local_data", RR)
        or ("local_data_remove", NAME): records change at once."""
        conf = os.path.join(self.d, "unbound.conf")
        r = subprocess.run(["unbound-control", "-c", conf, *args], capture_output=True,
                           text=True, timeout=10)
        if r.returncode != 0 or "ok" not in r.stdout:
            raise RuntimeError(f"unbound-control {args}: {r.stdout}{r.stderr}")

    def _start_postfix(self, d=None, ip=POSTFIX_IP, hostname="mx.ok.test",
                       domains=POSTFIX_DOMAINS, policy="", extra="", files=None):
        d = d or self.postfix_dir
        key, crt = start_postfix_dirs(d)
        etc = os.path.join(d, "etc")
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(postfix_main_cf(d, ip, key, crt, hostname, domains, policy, extra))
        with open(os.path.join(etc, "vmailbox"), "w") as f:
            for dom in domains:
                for u in POSTFIX_USERS:
                    f.write(f"{u}@{dom} {dom}/{u}/\n")
        with open(os.path.join(etc, "rcpt_access"), "w") as f:
            for dom in domains:
                f.write(f"full@{dom} 452 4.2.2 Mailbox full\n")
            if ip == POSTFIX_IP:  # source failover: a blocklist for one client IP
                f.writelines(f"{u} blocklisted_mta1\n" for u in BLOCKLISTED_USERS)
        for name, text in (files or {}).items():
            with open(os.path.join(etc, name), "w") as f:
                f.write(text)
        start_postfix(d, ip)

    def _start_greylisting(self):
        db = os.path.join(self.d, "postgrey")
        os.makedirs(db, exist_ok=True)
        pg = pwd.getpwnam("postgrey")
        os.chown(db, pg.pw_uid, pg.pw_gid)
        self._spawn("postgrey", ["postgrey", f"--inet={POSTGREY_IP}:10023", f"--dbdir={db}",
                                 f"--delay={POSTGREY_DELAY_S}", "--max-age=1",
                                 "--user=postgrey", "--group=postgrey"])
        wait_port(POSTGREY_IP, 10023)
        self._start_postfix(self.grey_dir, GREY_IP, "mx.grey.test", ["grey.test"],
                            f"check_policy_service inet:{POSTGREY_IP}:10023,")

    def _start_later(self):
        """Accepts any later.test recipient, then relays it to mx.ok.test
        renamed to @ok.test: unknown users bounce there, after acceptance, so
        this Postfix writes a real DSN to the envelope sender."""
        d = self.later_dir
        start_postfix_dirs(d)
        etc = os.path.join(d, "etc")
        with open(os.path.join(etc, "valias"), "w") as f:
            f.write("/^(.*)@later\\.test$/ ${1}@ok.test\n")
        with open(os.path.join(etc, "transport"), "w") as f:
            f.write(f"ok.test smtp:[{POSTFIX_IP}]:25\n{BOUNCE_DOMAIN} smtp:[{INBOUND_IP}]:25\n")
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(postfix_common_cf(d, LATER_IP, "mx.later.test") + f"""\
relay_domains = later.test
virtual_alias_maps = regexp:{etc}/valias
transport_maps = texthash:{etc}/transport
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
smtp_tls_security_level = none
bounce_queue_lifetime = 0
delay_warning_time = 0
""")
        start_postfix(d, LATER_IP)

    def _start_sink(self):
        # -c: count; -u: run as postfix; backlog 1024
        self._spawn("smtp-sink", ["smtp-sink", "-u", "postfix", f"{SINK_IP}:25", "1024"])

    def _start_faults(self):
        script = os.path.join(HERE, "fault_smtpd.py")
        for dom, (ip, mode) in FAULT_LISTENERS.items():
            self._spawn(f"faults-{mode}", [PYTHON, script, ip, "25", mode, self.fault_log(mode)])

    def fault_log(self, mode):
        """The JSON-lines transaction log of a scripted receiver."""
        return os.path.join(self.d, f"faults-{mode}.jsonl")

    def maildir(self, domain, user):
        base = {"grey.test": self.grey_dir, "anvil.test": self.anvil_dir,
                "picky.test": self.picky_dir}.get(domain, self.postfix_dir)
        if domain in PROVIDER_TEST_DOMAINS:
            base = self.anvil_dir
        return os.path.join(base, "mail", domain, user, "new")

    def postfix_log(self, d=None):
        try:
            with open(os.path.join(d or self.postfix_dir, "maillog"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for name, p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs = []
        for d in postfix_dirs(self.d):
            stop_postfix(d)
        try:
            os.remove(os.path.join(self.d, "world.pids"))
        except FileNotFoundError:
            pass


def kill_pid(pid, sig=signal.SIGTERM):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stop_postfix(d):
    pidfile = os.path.join(d, "queue", "pid", "master.pid")
    try:
        pid = int(open(pidfile).read().split()[0])
    except (OSError, ValueError, IndexError):
        return
    kill_pid(pid)
    end = time.time() + 10
    while time.time() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    kill_pid(pid, signal.SIGKILL)


def postfix_dirs(d):
    """Every Postfix instance a world in d runs (one list: start and stop agree)."""
    return [os.path.join(d, n) for n in ("postfix", "postfix-grey", "postfix-anvil",
                                         "postfix-later", "postfix-picky")]


def stop_dir(d):
    """Stops a world started by 'world.py start d' (another process), also one
    whose start failed half-way."""
    pids = os.path.join(d, "world.pids")
    if os.path.exists(pids):
        for line in open(pids):
            kill_pid(int(line.split()[1]))
        os.remove(pids)
    for pd in postfix_dirs(d):
        stop_postfix(pd)


def stop_leftover_worlds(keep):
    """A killed test run leaves its Postfix instances (they daemonize) on the
    world's addresses, where they take the next run's mail. Stops every world
    under the temp directory but keep, and says so."""
    tmp = tempfile.gettempdir()
    dirs = [os.path.join(tmp, n) for n in os.listdir(tmp) if n.startswith("sluice-world-")]
    dirs += [os.path.join(tmp, n, "world") for n in os.listdir(tmp)
             if n.startswith("sluice-bench-")]
    for d in dirs:
        if os.path.abspath(d) == os.path.abspath(keep) or not os.path.isdir(d):
            continue
        live = os.path.exists(os.path.join(d, "world.pids")) or any(
            os.path.exists(os.path.join(pd, "queue", "pid", "master.pid"))
            for pd in postfix_dirs(d))
        if live and any(_runs_in(pid, d) for pid in _world_pids(d)):
            print(f"world: stopping a leftover world in {d}", file=sys.stderr)
            stop_dir(d)


def _world_pids(d):
    pids = []
    try:
        pids += [int(line.split()[1]) for line in open(os.path.join(d, "world.pids"))]
    except (OSError, ValueError, IndexError):
        pass
    for pd in postfix_dirs(d):
        try:
            pids.append(int(open(os.path.join(pd, "queue", "pid", "master.pid")).read().split()[0]))
        except (OSError, ValueError, IndexError):
            pass
    return pids


def _runs_in(pid, d):
    """1 if pid is still one of the world's own processes (its command line or
    environment names the world's directory, or it is a Postfix master whose
    queue is there), not a later process that got the same number."""
    try:
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
        env = open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace")
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    return d in cmd or d in env or cwd.startswith(d)


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        print(__doc__)
        return 2
    if argv[1] == "start":
        w = World(argv[2]).start()
        # The children outlive us; world.pids has their PIDs for 'stop'.
        w.procs = []
        print(f"world started in {w.d}")
    else:
        stop_dir(os.path.abspath(argv[2]))
        print("world stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
