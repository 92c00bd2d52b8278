"""The HTTP API (src/api, docs/api.yaml) against a running `sluice serve`:
a message sent through POST /v1/messages arrives at the test world's
Postfix signed with DKIM; every refusal is a JSON error with its status and
code; an Idempotency-Key replays (same request: same answer, one message)
or conflicts (409); 50 concurrent keep-alive clients are all answered; a
slowloris client is cut off at the timeout while others are served; a body
over api.max_body gets 413 from its head alone.

Recipients: user300-user330@ok.test (no other test uses them). The API
listens on INBOUND_IP:8031; clients bind to 127.0.12.x."""
import hashlib
import http.client
import json
import socket
import threading
import time

import dkim
import pytest

import world as W
from conftest import fault_records, maildir_files
from test_dkim import dkim_yaml, txt
from test_security import Served

API_HOST, API_PORT = W.INBOUND_IP, 8031
KEY = "sk_test_api_0123456789abcdef"
KEY_HASH = "sha256:" + hashlib.sha256(KEY.encode()).hexdigest()
FROM = "app@news.sluice.test"


def tenants_yaml():
    return ("tenants:\n"
            "  - name: acme\n"
            "    sender_domains: [news.sluice.test]\n"
            f"    api_keys: [\"{KEY_HASH}\"]\n")


@pytest.fixture
def api(world, sender):
    extra = {"api": {"listen": f"{API_HOST}:{API_PORT}", "max_body": "64KB", "timeout": "2s"}}
    s = Served(sender, extra, tenants_yaml() + dkim_yaml(world))
    W.wait_port(API_HOST, API_PORT)
    yield s
    if s.p.poll() is None:
        s.stop()


def conn(src="127.0.12.1", timeout=10.0):
    return http.client.HTTPConnection(API_HOST, API_PORT, timeout=timeout,
                                      source_address=(src, 0))


def call(method, path, body=None, key=KEY, headers=None, c=None, raw=None):
    """(status, json body, headers); c: a kept connection to reuse."""
    own = c is None
    c = c or conn()
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = f"Bearer {key}"
    h.update(headers or {})
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    text = r.read().decode()
    if own:
        c.close()
    return r.status, (json.loads(text) if text else None), dict(r.getheaders())


def message(to, subject="API test", **kw):
    m = {"from": FROM, "to": to, "subject": subject, "text": "Hello from the API.\nÇa va ?"}
    m.update(kw)
    return m


def test_message_is_delivered_signed(world, api):
    st, body, _ = call("POST", "/v1/messages", message(["user300@ok.test"], "Grüße"))
    assert st == 202, body
    assert body["status"] == "queued" and body["id"]
    files = maildir_files(world, "ok.test", "user300", timeout=30)
    raw = open(files[-1], "rb").read()
    assert b"DKIM-Signature:" in raw
    assert dkim.verify(raw, dnsfunc=txt)
    assert b"Subject: =?UTF-8?B?" in raw or b"Subject: =?utf-8?b?" in raw.lower()


def test_errors_are_json_with_codes(api):
    m = message(["user301@ok.test"])
    cases = [
        (dict(key=None), 401, "unauthorized"),
        (dict(key="sk_wrong"), 401, "unauthorized"),
        (dict(raw="{\"from\": "), 400, "invalid_json"),
        (dict(body=dict(m, colour="blue")), 400, "unknown_field"),
        (dict(body={k: v for k, v in m.items() if k != "from"}), 400, "missing_field"),
        (dict(body=dict(m, to=["not an address"])), 422, "invalid_address"),
        (dict(body=dict(m, headers={"Bcc": "x@ok.test"})), 422, "invalid_header"),
        (dict(body=m, headers={"Content-Type": "text/plain"}), 415, "unsupported_media_type"),
        (dict(body=dict(m, send_at="tomorrow-ish")), 400, "invalid_time"),
    ]
    for kw, status, code in cases:
        body = kw.pop("body", m)
        st, out, hdrs = call("POST", "/v1/messages", body, **kw)
        assert st == status, (kw, out)
        assert out["error"]["code"] == code, (kw, out)
        assert hdrs["Content-Type"] == "application/json"
    st, out, _ = call("POST", "/v1/messages", raw="{\n  \"from\": ,}")
    assert "line 2" in out["error"]["message"]
    st, out, _ = call("POST", "/v1/messages", dict(m, colour="blue"))
    assert out["error"]["field"] == "colour"
    st, out, _ = call("POST", "/v1/messages", message(["user301@ok.test"], **{"from": "x@other.test"}))
    assert st == 403 and out["error"]["code"] == "sender_domain", out
    st, out, _ = call("GET", "/v1/nothing")
    assert st == 404 and out["error"]["code"] == "not_found"
    # the parser's message quotes the client's invalid UTF-8: still a JSON
    # answer, and serve goes on (found by fuzz/fuzz_api.c)
    st, out, _ = call("POST", "/v1/messages",
                      raw=b'{"from":"a@news.sluice.test","subject":"Caf\\u0\xd0\x989"}')
    assert st == 400 and out["error"]["code"] == "invalid_json", out
    assert api.p.poll() is None


def test_no_bare_cr_or_lf_reaches_the_receiver(world, api):
    """SMTP smuggling outbound: a raw message whose lines end in bare CRs
    (a receiver that takes CR as a line end would see "<CR>.<CR>" end it and
    run the forged commands after it, as if from our IP) arrives as one
    message, every line end a CRLF, the "." line dot-stuffed on the wire."""
    rcpt = "smuggle@faults.test"
    forged = "MAIL FROM:<ceo@bank.test>\rRCPT TO:<victim@faults.test>\rDATA\r"
    raw = (f"From: {FROM}\r\nTo: {rcpt}\r\nSubject: smuggle\r\n\r\n"
           f"hello\r.\r{forged}Subject: forged\r\rpay now\r.\rQUIT\r")
    st, body, _ = call("POST", "/v1/messages", {"from": FROM, "to": [rcpt], "raw": raw})
    assert st == 202, body
    got = []
    deadline = time.time() + 30
    while not got and time.time() < deadline:
        got = [r for r in fault_records(world) if rcpt in r.get("rcpt_tos", [])]
        time.sleep(0.2)
    assert len(got) == 1, got
    assert not [r for r in fault_records(world) if "victim@faults.test" in r.get("rcpt_tos", [])]
    data = got[0]["data"]
    assert "\r" not in data.replace("\r\n", ""), repr(data)
    assert "\r\n.\r\nMAIL FROM:<ceo@bank.test>\r\n" in data, repr(data)


def test_body_over_max_body_gets_413_from_the_head(api):
    s = socket.create_connection((API_HOST, API_PORT), timeout=5, source_address=("127.0.12.2", 0))
    s.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Authorization: Bearer " + KEY.encode() + b"\r\nContent-Length: 10000000\r\n\r\n")
    reply = s.recv(4096)
    s.close()
    assert reply.startswith(b"HTTP/1.1 413"), reply


def test_idempotency_key(world, api):
    m = message(["user302@ok.test"], "once")
    h = {"Idempotency-Key": "order-302"}
    st1, b1, _ = call("POST", "/v1/messages", m, headers=h)
    st2, b2, h2 = call("POST", "/v1/messages", m, headers=h)
    assert st1 == st2 == 202 and b1 == b2
    assert h2.get("Idempotent-Replayed") == "true"
    st3, b3, _ = call("POST", "/v1/messages", dict(m, subject="twice"), headers=h)
    assert st3 == 409 and b3["error"]["code"] == "idempotency_conflict"
    maildir_files(world, "ok.test", "user302", timeout=30)
    time.sleep(3)
    assert len(maildir_files(world, "ok.test", "user302")) == 1


def test_fifty_concurrent_keep_alive_clients(api):
    results = []

    def client(i):
        c = conn(src=f"127.0.12.{10 + i}")
        for _ in range(3):
            st, body, hdrs = call("GET", "/v1/suppressions", c=c)
            results.append((st, hdrs.get("Connection")))
        c.close()

    ts = [threading.Thread(target=client, args=(i,)) for i in range(50)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    assert len(results) == 150
    assert all(st == 200 and conn_h == "keep-alive" for st, conn_h in results), results[:5]


def test_slowloris_is_cut_off_while_others_are_served(api):
    s = socket.create_connection((API_HOST, API_PORT), source_address=("127.0.12.3", 0))
    s.sendall(b"GET /v1/suppressions HTTP/1.1\r\nHost: x\r\n")
    t0 = time.time()
    for _ in range(3):
        st, _, _ = call("GET", "/v1/suppressions")
        assert st == 200
    s.settimeout(10)
    try:
        while s.recv(4096):
            s.sendall(b"X-Slow: 1\r\n")
    except (ConnectionResetError, BrokenPipeError):
        pass
    took = time.time() - t0
    assert 1.5 < took < 6, took  # api.timeout is 2s


def test_suppressions_round_trip(api):
    st, out, _ = call("POST", "/v1/suppressions", {"address": "User303@ok.test", "note": "asked"})
    assert st == 201 and out["added"] is True and out["scope"] == "news.sluice.test", out
    st, out, _ = call("GET", "/v1/suppressions/user303@ok.test")
    assert st == 200 and out["suppressions"][0]["reason"] == "manual"
    st, out, _ = call("POST", "/v1/messages", message(["user303@ok.test"]))
    assert st == 422 and out["error"]["code"] == "suppressed", out
    st, out, _ = call("DELETE", "/v1/suppressions/user303%40ok.test")
    assert st == 200 and out["removed"] == 1
    st, out, _ = call("GET", "/v1/suppressions/user303@ok.test")
    assert st == 404
