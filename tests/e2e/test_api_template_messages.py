"""POST /v1/messages with a stored template ("template_id": a campaign of the
tenant) against a running `sluice serve`: each recipient gets its own message,
rendered with its address and the given fields, DKIM-signed and delivered to
the test world's Postfix; the answer lists one queue id per recipient; the
same request with its Idempotency-Key is queued once; a missing or unknown
field, {{unsubscribe_url}}, another tenant's template and a suppressed
recipient are refused as documented in docs/api.yaml.

Recipients: user450-user460@ok.test (no other test uses them). The API
listens on INBOUND_IP:8031; clients bind to 127.0.12.x (test_api.call)."""
import dkim

from conftest import maildir_files
from test_api import FROM, call
from test_api_campaigns import KEY2, TEMPLATE, api  # noqa: F401 (the fixture)
from test_dkim import txt


def stored(name, template=TEMPLATE, columns=("name", "code")):
    st, out, _ = call("POST", "/v1/campaigns", {"name": name, "template": template,
                                                "columns": list(columns),
                                                "recipients": []})
    assert st == 202 and out["queued"] == 0, out
    return name


def delivered(world, user):
    raw = open(maildir_files(world, "ok.test", user, timeout=30)[-1], "rb").read()
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_template_message_is_delivered_per_recipient_and_signed(world, api):
    tid = stored("tplmsg-welcome")
    body = {"template_id": tid, "to": ["user450@ok.test", "user451@ok.test"],
            "fields": {"Name": "Ann", "code": 7}}
    st, out, _ = call("POST", "/v1/messages", body, headers={"Idempotency-Key": "tpl-1"})
    assert st == 202, out
    assert out["status"] == "queued" and len(out["ids"]) == 2, out
    assert out["id"] == out["ids"][0] and out["ids"][0] != out["ids"][1], out
    assert "refused" not in out, out
    for user in ("user450", "user451"):
        msg = delivered(world, user)
        assert b"Subject: Hello Ann\r\n" in msg, msg
        assert b"Hi Ann, your code is 7." in msg, msg
        assert f"To: {user}@ok.test\r\n".encode() in msg, msg
        assert b"Message-ID: <" in msg and b"@news.sluice.test>" in msg, msg
        assert msg.count(b"DKIM-Signature:") == 2, msg
        d = dkim.DKIM(msg)
        assert d.verify(idx=0, dnsfunc=txt) and d.verify(idx=1, dnsfunc=txt)
    # each id is a submitted message of its own, seen by its tenant
    st, m, _ = call("GET", f"/v1/messages/{out['ids'][1]}")
    assert st == 200 and m["from"] == FROM, m
    assert [r["address"] for r in m["recipients"]] == ["user451@ok.test"], m
    # the same request again is the same answer, nothing queued twice
    st, again, h = call("POST", "/v1/messages", body, headers={"Idempotency-Key": "tpl-1"})
    assert st == 202 and again == out, again
    assert len(maildir_files(world, "ok.test", "user450")) == 1


def test_template_message_envelope_from_and_partial_refusal(world, api):
    tid = stored("tplmsg-partial")
    st, out, _ = call("POST", "/v1/suppressions", {"address": "user453@ok.test"})
    assert st in (200, 201), out
    body = {"template_id": tid, "from": "bounces@news.sluice.test",
            "to": ["user452@ok.test", "user453@ok.test", "user454@ok.test"],
            "fields": {"name": "Bo", "code": "B2"}}
    st, out, _ = call("POST", "/v1/messages", body)
    assert st == 202, out
    assert len(out["ids"]) == 2, out
    assert out["refused"] == [{"to": "user453@ok.test", "code": "suppressed",
                               "message": out["refused"][0]["message"]}], out
    msg = delivered(world, "user454")
    assert b"Hi Bo, your code is B2." in msg, msg
    assert b"Return-Path: <bounces@news.sluice.test>" in msg, msg
    # the first recipient refused: the answer is its refusal, nothing queued
    body["to"] = ["user453@ok.test", "user455@ok.test"]
    st, out, _ = call("POST", "/v1/messages", body)
    assert st == 422 and out["error"]["code"] == "suppressed", out


def test_template_message_refusals(api):
    tid = stored("tplmsg-refusals")
    stored("tplmsg-unsub", template=TEMPLATE + "Leave: {{unsubscribe_url}}\n")
    good = {"template_id": tid, "to": ["user456@ok.test"],
            "fields": {"name": "Cy", "code": "C3"}}
    cases = [
        (dict(good, fields={"name": "Cy"}), 422, "missing_field", "fields.code"),
        (dict(good, fields={"name": "Cy", "code": 1, "colour": "red"}), 422,
         "unknown_field", "fields.colour"),
        (dict(good, fields={"name": "Cy", "code": 1, "email": "x@ok.test"}), 422,
         "unknown_field", "fields.email"),
        (dict(good, fields={"name": ["Cy"], "code": 1}), 400, "invalid_type", "fields"),
        (dict(good, fields="name=Cy"), 400, "invalid_type", "fields"),
        (dict(good, text="hi"), 400, "conflicting_fields", "text"),
        (dict(good, template_id="no-such-campaign"), 404, "not_found", "template_id"),
        (dict(good, template_id="tplmsg-unsub"), 422, "invalid_template", "template_id"),
        (dict(good, to=[]), 400, "invalid_type", "to"),
        ({"from": FROM, "to": ["user456@ok.test"], "text": "x", "fields": {}}, 400,
         "conflicting_fields", "fields"),
    ]
    for body, status, code, field in cases:
        st, out, _ = call("POST", "/v1/messages", body)
        assert (st, out["error"]["code"], out["error"].get("field")) == (status, code, field), \
            (body, out)
    # an envelope sender that is not the tenant's is refused by submission's checks
    st, out, _ = call("POST", "/v1/messages", dict(good, **{"from": "app@other.sluice.test"}))
    assert st == 403 and out["error"]["code"] == "sender_domain", out
    # another tenant's template is as absent as a missing one
    st, out, _ = call("POST", "/v1/messages", good, key=KEY2)
    assert st == 404 and out["error"]["field"] == "template_id", out
