"""POST /v1/campaigns and GET /v1/messages/{id} against a running `sluice
serve`, and kill -9 while messages are submitted through the API.

A campaign from JSON (template and recipients with fields) is delivered with
its fields merged; a CSV upload reuses an earlier campaign's template
(?template_id=, made with no recipients and its columns declared); role accounts, typo domains, suppressed addresses and
duplicates are skipped and counted as `sluice send` skips them; a bad row is
a 422 naming recipients[i] or the CSV line; a From domain that is not the
tenant's is a 403; a message's recipients are shown to its tenant and are a
404 to another. kill -9 in the middle of 40 concurrent POST /v1/messages:
every 202 is delivered, and a request that got no answer, repeated with its
Idempotency-Key, is queued once.

Recipients: user340-user351 and user360-user399@ok.test (no other test uses
them). The API listens on INBOUND_IP:8031; clients bind to 127.0.12.x."""
import hashlib
import http.client
import json
import signal
import sqlite3
import os
import threading
import time

import pytest

import world as W
from conftest import maildir_files, wait_for
from test_api import API_HOST, API_PORT, FROM, KEY, call
from test_dkim import dkim_yaml
from test_security import Served

KEY2 = "sk_test_other_tenant_0123456789"


def tenants_yaml():
    h1 = "sha256:" + hashlib.sha256(KEY.encode()).hexdigest()
    h2 = "sha256:" + hashlib.sha256(KEY2.encode()).hexdigest()
    return ("tenants:\n"
            "  - name: acme\n"
            "    sender_domains: [news.sluice.test]\n"
            f"    api_keys: [\"{h1}\"]\n"
            "  - name: other\n"
            "    sender_domains: [other.sluice.test]\n"
            f"    api_keys: [\"{h2}\"]\n")


EXTRA = {"api": {"listen": f"{API_HOST}:{API_PORT}", "max_body": "8MB", "timeout": "10s"}}


def start(sender):
    s = Served(sender, EXTRA, tenants_yaml() + dkim_yaml(world_ref[0]))
    W.wait_port(API_HOST, API_PORT)
    return s


world_ref = [None]


@pytest.fixture
def api(world, sender):
    world_ref[0] = world
    s = start(sender)
    yield s
    if s.p.poll() is None:
        s.stop()


TEMPLATE = ("From: News <app@news.sluice.test>\n"
            "To: {{email}}\n"
            "Subject: Hello {{name}}\n"
            "\n"
            "Hi {{name}}, your code is {{code}}.\n")


def csv_call(path, text, key=KEY, headers=None):
    c = http.client.HTTPConnection(API_HOST, API_PORT, timeout=30,
                                   source_address=("127.0.12.3", 0))
    h = {"Content-Type": "text/csv", "Authorization": f"Bearer {key}"}
    h.update(headers or {})
    c.request("POST", path, body=text.encode(), headers=h)
    r = c.getresponse()
    body = json.loads(r.read().decode())
    c.close()
    return r.status, body


def rcpt(n, name, code):
    return {"email": f"user{n}@ok.test", "fields": {"name": name, "code": code}}


def test_json_campaign_is_delivered_with_its_fields(world, api):
    body = {"name": "api-welcome", "template": TEMPLATE, "priority": "transactional",
            "recipients": [rcpt(340, "Ann", "A1"), rcpt(341, "Bob", 42),
                           {"email": "USER340@ok.test", "fields": {"name": "dup", "code": 1}},
                           {"email": "postmaster@ok.test"},
                           {"email": "someone@gmial.com"}]}
    st, out, _ = call("POST", "/v1/campaigns", body)
    assert st == 202, out
    assert out["id"] == "api-welcome" and out["queued"] == 2, out
    assert out["skipped"] == {"duplicate": 1, "typo": 1, "role_account": 1,
                              "suppressed": 0}, out
    raw = open(maildir_files(world, "ok.test", "user340", timeout=30)[-1], "rb").read()
    assert b"Subject: Hello Ann" in raw and b"your code is A1." in raw, raw
    raw = open(maildir_files(world, "ok.test", "user341", timeout=30)[-1], "rb").read()
    assert b"your code is 42." in raw, raw
    db = sqlite3.connect(os.path.join(api.sender.state, "queue.db"))
    row = db.execute("SELECT tenant, kind, priority FROM campaign WHERE id = 'api-welcome'"
                     ).fetchone()
    db.close()
    assert row == ("acme", 0, 10), row
    # the same request again is a resume: nothing queued twice
    st, out, _ = call("POST", "/v1/campaigns", body)
    assert st == 202 and out["queued"] == 0 and out["skipped"]["duplicate"] == 3, out


def test_csv_upload_reuses_a_template_and_screens_suppressions(world, api):
    st, out, _ = call("POST", "/v1/suppressions", {"address": "user344@ok.test"})
    assert st in (200, 201), out
    st, out, _ = call("POST", "/v1/campaigns", {"name": "tpl-only", "template": TEMPLATE,
                                                "columns": ["name", "code"],
                                                "recipients": []})
    assert st == 202 and out["queued"] == 0, out
    csv = "email,name,code\nuser342@ok.test,Cy,C3\n\"user343@ok.test\",\"Di, Jr\",D4\n" \
          "user344@ok.test,Ed,E5\n"
    st, out = csv_call("/v1/campaigns?template_id=tpl-only&name=csv-1&priority=bulk", csv)
    assert st == 202, out
    assert out["queued"] == 2 and out["skipped"]["suppressed"] == 1, out
    raw = open(maildir_files(world, "ok.test", "user343", timeout=30)[-1], "rb").read()
    assert b"Hi Di, Jr, your code is D4." in raw, raw
    # errors of the list name its line
    st, out = csv_call("/v1/campaigns?template_id=tpl-only", "email,name,code\n"
                       "user345@ok.test,Fa,F6\nnot-an-address,x,y\n")
    assert st == 422 and out["error"]["code"] == "invalid_recipient", out
    assert out["error"]["line"] == 3, out
    st, out = csv_call("/v1/campaigns?template_id=tpl-only", "name,code\nx,y\n")
    assert st == 422 and out["error"]["line"] == 1, out
    st, out = csv_call("/v1/campaigns?template_id=nope", "email,name,code\n")
    assert st == 404 and out["error"]["field"] == "template_id", out
    # another tenant's template is as absent as a missing one
    st, out = csv_call("/v1/campaigns?template_id=tpl-only", "email,name,code\n", key=KEY2)
    assert st == 404, out
    st, out = csv_call("/v1/campaigns", "email\n")
    assert st == 400 and out["error"]["field"] == "template_id", out


def test_campaign_refusals(api):
    good = {"template": TEMPLATE, "recipients": [rcpt(346, "Ga", "G7")]}
    cases = [
        (dict(good, recipients=[rcpt(346, "Ga", "G7"), {"email": "bad address"}]), 422,
         "invalid_recipient", "recipients[1]"),
        (dict(good, recipients=[{"fields": {}}]), 400, "missing_field", "recipients[0]"),
        (dict(good, recipients=[{"email": "user346@ok.test", "colour": 1}]), 400,
         "unknown_field", "recipients[0]"),
        (dict(good, template=TEMPLATE.replace("news.sluice.test", "other.test")), 403,
         "sender_domain", "template"),
        (dict(good, template="From: app@news.sluice.test\nSubject: {{nope}}\n\nx\n"), 422,
         "invalid_template", "template"),
        (dict(good, template="Subject: x\n\nno from\n"), 422, "invalid_template", "template"),
        (dict(good, template="From: {{name}}\nSubject: x\n\nx\n"), 422, "no_from", "template"),
        (dict(good, priority="urgent"), 422, "invalid_value", "priority"),
        (dict(good, send_at="soonish"), 400, "invalid_time", "send_at"),
        (dict(good, name="submit-acme"), 422, "invalid_value", "name"),
        (dict(good, pool="nowhere"), 422, "invalid_value", "pool"),
        ({"recipients": []}, 400, "missing_field", "template"),
        (dict(good, template="x" * (1024 * 1024 + 1)), 413, "template_too_big", "template"),
        (dict(good, recipients=[{"email": f"u{i}@ok.test"} for i in range(100001)]), 413,
         "too_many_recipients", "recipients"),
    ]
    for body, status, code, field in cases:
        st, out, _ = call("POST", "/v1/campaigns", body)
        assert (st, out["error"]["code"], out["error"].get("field")) == (status, code, field), \
            (body.get("name"), out)
    # a name taken by another tenant, or with another template, is a conflict
    st, out, _ = call("POST", "/v1/campaigns", dict(good, name="taken"))
    assert st == 202, out
    st, out, _ = call("POST", "/v1/campaigns", dict(good, name="taken", template=TEMPLATE + "x"))
    assert st == 409 and out["error"]["code"] == "campaign_conflict", out
    other = dict(good, name="taken", template=TEMPLATE.replace("news.", "other."))
    st, out, _ = call("POST", "/v1/campaigns", other, key=KEY2)
    assert st == 409, out


def test_message_lookup_is_scoped_to_its_tenant(world, api):
    st, out, _ = call("POST", "/v1/messages", {"from": FROM, "to": ["user347@ok.test"],
                                               "subject": "look", "text": "up"})
    assert st == 202, out
    qid = out["id"]
    maildir_files(world, "ok.test", "user347", timeout=30)

    got = []

    def delivered():
        st, m, _ = call("GET", f"/v1/messages/{qid}")
        got[:] = [m]
        return st == 200 and m["recipients"][0]["state"] == "delivered"
    assert wait_for(delivered, timeout=20), got
    m = got[0]
    assert m["id"] == qid and m["from"] == FROM and m["created_at"].endswith("Z"), m
    r = m["recipients"][0]
    assert r["address"] == "user347@ok.test" and r["attempts"] == 1, r
    assert r["last_reply"]["code"] == 250 and r["last_mx"], r
    assert r["next_attempt_at"] is None, r
    st, out, _ = call("GET", f"/v1/messages/{qid}", key=KEY2)
    assert st == 404 and out["error"]["code"] == "not_found", out
    st, out2, _ = call("GET", "/v1/messages/NOSUCHQUEUEID000")
    assert st == 404 and out2 == out, out2


def test_kill_9_during_api_submission(world, sender):
    """Every 202 is delivered; a request without an answer, repeated with its
    Idempotency-Key after the restart, is delivered exactly once."""
    world_ref[0] = world
    s = start(sender)
    users = list(range(360, 400))
    answers = {}
    lock = threading.Lock()
    go = threading.Event()

    def send(u):
        go.wait()
        body = {"from": FROM, "to": [f"user{u}@ok.test"], "subject": f"k{u}", "text": "x"}
        try:
            st, out, _ = call("POST", "/v1/messages", body,
                              headers={"Idempotency-Key": f"kill-{u}"})
        except (OSError, http.client.HTTPException, json.JSONDecodeError):
            return
        with lock:
            answers[u] = (st, out)

    threads = [threading.Thread(target=send, args=(u,)) for u in users]
    for t in threads:
        t.start()
    go.set()
    wait_for(lambda: len(answers) >= 8, timeout=20, step=0.001)
    s.p.send_signal(signal.SIGKILL)
    s.p.wait()
    for t in threads:
        t.join(timeout=20)
    acked = [u for u, (st, _) in answers.items() if st == 202]
    assert acked, answers
    s = start(sender)
    try:
        for u in users:
            if u in acked:
                continue
            body = {"from": FROM, "to": [f"user{u}@ok.test"], "subject": f"k{u}", "text": "x"}
            st, out, _ = call("POST", "/v1/messages", body,
                              headers={"Idempotency-Key": f"kill-{u}"})
            assert st == 202, (u, out)
        for u in users:
            assert maildir_files(world, "ok.test", f"user{u}", timeout=60), u
        time.sleep(3)
        for u in users:
            files = maildir_files(world, "ok.test", f"user{u}")
            assert len(files) == 1, (u, len(files), u in acked)
    finally:
        s.stop()
