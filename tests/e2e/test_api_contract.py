"""docs/api.yaml against the real API: the document is checked (every $ref
resolves, every operation answers JSON with a schema, every path parameter
is declared; openapi-spec-validator too when it is installed), then
requests of every route, successes and the main refusals, are sent to a
running `sluice serve` and each JSON response is validated against the
schema the document gives for its route, method and status. A route or a
status the document does not list fails the test, and so does an
operation of the document that no request exercised.

Recipients: user352-user359@ok.test (user357 and user358: template
messages never due). Uses test_api_campaigns' serve."""
import copy
import os
import re

import jsonschema
import pytest
import yaml

from test_api import FROM, call
from test_api_campaigns import KEY2, TEMPLATE, api, csv_call  # noqa: F401 (fixture)

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "api.yaml")


def load():
    with open(DOC) as f:
        return yaml.safe_load(f)


def resolve(doc, ref):
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        assert part in node, f"unresolved $ref {ref}"
        node = node[part]
    return node


def deref(doc, node):
    """node with every $ref inlined (components refer to each other)."""
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(doc, node["$ref"])
    return node


def to_json_schema(doc, s):
    """An OpenAPI 3.0 schema as JSON Schema: $refs inlined, nullable made
    an anyOf with null."""
    s = deref(doc, s)
    if isinstance(s, list):
        return [to_json_schema(doc, x) for x in s]
    if not isinstance(s, dict):
        return s
    out = {}
    for k, v in s.items():
        if k in ("description", "example", "nullable"):
            continue
        if k == "properties":
            out[k] = {p: to_json_schema(doc, x) for p, x in v.items()}
        elif k in ("items", "additionalProperties", "not") and isinstance(v, dict):
            out[k] = to_json_schema(doc, v)
        elif k in ("allOf", "anyOf", "oneOf"):
            out[k] = [to_json_schema(doc, x) for x in v]
        else:
            out[k] = copy.deepcopy(v)
    if s.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "delete", "put", "patch"):
                yield path, method, op


def response_schema(doc, path, method, status):
    op = doc["paths"][path][method]
    resp = op["responses"].get(str(status))
    assert resp is not None, f"{method.upper()} {path}: status {status} is not documented"
    resp = deref(doc, resp)
    return to_json_schema(doc, resp["content"]["application/json"]["schema"])


def test_the_document_is_well_formed():
    doc = load()
    assert doc["openapi"].startswith("3.0.")
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                resolve(doc, node["$ref"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(doc)
    for path, method, op in operations(doc):
        assert op.get("operationId") and op.get("responses"), (path, method)
        params = [deref(doc, p) for p in op.get("parameters", [])]
        for name in re.findall(r"{(\w+)}", path):
            assert any(p["in"] == "path" and p["name"] == name for p in params), (path, name)
        for status, resp in op["responses"].items():
            resp = deref(doc, resp)
            schema = to_json_schema(doc, resp["content"]["application/json"]["schema"])
            jsonschema.Draft7Validator.check_schema(schema)
            if not status.startswith("2"):
                assert schema == to_json_schema(doc, {"$ref": "#/components/schemas/Error"})
    try:
        from openapi_spec_validator import validate
    except ImportError:
        return
    validate(doc)


def route_of(doc, method, path):
    """The document's path template for a concrete path."""
    bare = path.split("?")[0]
    for tpl in doc["paths"]:
        rx = "^" + re.sub(r"{\w+}", "[^/]+", tpl) + "$"
        if re.match(rx, bare) and method.lower() in doc["paths"][tpl]:
            return tpl
    return None


def test_every_route_answers_as_documented(world, api):  # noqa: F811
    doc = load()
    seen = set()

    def check(method, path, body=None, status=None, csv=None, **kw):
        if csv is not None:
            st, out = csv_call(path, csv, **kw)
        else:
            st, out, _ = call(method, path, body, **kw)
        assert status is None or st == status, (method, path, st, out)
        tpl = route_of(doc, method, path)
        if tpl is None:
            schema = to_json_schema(doc, {"$ref": "#/components/schemas/Error"})
        else:
            schema = response_schema(doc, tpl, method.lower(), st)
            seen.add((tpl, method.lower(), st // 100))
        jsonschema.validate(out, schema)
        return out

    msg = {"from": FROM, "to": ["user352@ok.test"], "subject": "contract", "text": "x"}
    out = check("POST", "/v1/messages", msg, 202, headers={"Idempotency-Key": "contract-1"})
    qid = out["id"]
    check("POST", "/v1/messages", msg, 202, headers={"Idempotency-Key": "contract-1"})
    check("POST", "/v1/messages", dict(msg, subject="other"), 409,
          headers={"Idempotency-Key": "contract-1"})
    check("POST", "/v1/messages", raw="{", status=400)
    check("POST", "/v1/messages", msg, 401, key="sk_wrong")
    check("POST", "/v1/messages", dict(msg, **{"from": "a@elsewhere.test"}), 403)
    check("POST", "/v1/messages", msg, 415, headers={"Content-Type": "text/plain"})
    check("POST", "/v1/messages", dict(msg, to=["not an address"]), 422)
    check("GET", f"/v1/messages/{qid}", status=200)
    check("GET", f"/v1/messages/{qid}", status=404, key=KEY2)

    later = {"name": "contract-c", "template": TEMPLATE, "send_at": "2099-01-01T00:00:00Z",
             "recipients": [{"email": "user353@ok.test", "fields": {"name": "N", "code": 1}},
                            {"email": "abuse@ok.test"}]}
    check("POST", "/v1/campaigns", later, 202)
    # a message from the campaign's stored template (never due: not delivered)
    tpl = {"template_id": "contract-c", "to": ["user357@ok.test", "user358@ok.test"],
           "fields": {"name": "T", "code": 3}, "send_at": "2099-01-01T00:00:00Z"}
    request = to_json_schema(doc, {"$ref": "#/components/schemas/MessageRequest"})
    jsonschema.validate(tpl, request)
    out = check("POST", "/v1/messages", tpl, 202)
    assert len(out["ids"]) == 2 and out["id"] == out["ids"][0], out
    check("GET", f"/v1/messages/{out['ids'][1]}", status=200)
    check("POST", "/v1/messages", dict(tpl, fields={"name": "T"}), 422)
    check("POST", "/v1/messages", dict(tpl, fields={"name": "T", "code": 3, "x": 1}), 422)
    check("POST", "/v1/messages", dict(tpl, text="x"), 400)
    check("POST", "/v1/messages", dict(tpl, template_id="nope"), 404)
    check("POST", "/v1/messages", tpl, 404, key=KEY2)
    check("POST", "/v1/campaigns?template_id=contract-c&name=contract-csv&send_at=2099-01-01"
          "T00:00:00Z", status=202, csv="email,name,code\nuser354@ok.test,M,2\n")
    check("POST", "/v1/campaigns?template_id=contract-c", status=422,
          csv="email,name,code\nbad address,M,2\n")
    check("POST", "/v1/campaigns?template_id=nope", status=404, csv="email\n")
    check("POST", "/v1/campaigns", dict(later, template=TEMPLATE + "changed"), 409)
    check("POST", "/v1/campaigns", {"template": TEMPLATE}, 400)
    check("POST", "/v1/campaigns", dict(later, name="x", template=TEMPLATE.replace(
        "news.sluice.test", "elsewhere.test")), 403)
    check("POST", "/v1/campaigns", dict(later, name="x", template="x" * ((1 << 20) + 1)), 413)
    check("POST", "/v1/campaigns", later, 415, headers={"Content-Type": "text/plain"})
    check("POST", "/v1/campaigns", later, 401, key=None)

    check("POST", "/v1/campaigns/contract-c/pause", {"reason": "contract"}, 200)
    check("POST", "/v1/campaigns/contract-c/resume", None, 200)
    check("POST", "/v1/campaigns/contract-c/resume", None, 409)
    check("POST", "/v1/campaigns/contract-csv/cancel", {}, 202)
    check("POST", "/v1/campaigns/contract-c/pause", {"reason": 5}, 400)
    check("POST", "/v1/campaigns/contract-c/pause", None, 404, key=KEY2)
    check("POST", "/v1/campaigns/nope/resume", None, 404)
    check("POST", "/v1/campaigns/nope/cancel", None, 404)
    check("POST", "/v1/campaigns/nope/pause", None, 401, key=None)
    check("POST", "/v1/campaigns/nope/resume", None, 401, key=None)
    check("POST", "/v1/campaigns/nope/cancel", None, 401, key=None)
    check("POST", "/v1/campaigns/contract-c/move", {"pool": "default", "reason": "contract"},
          202)
    out = check("POST", "/v1/campaigns/contract-c/move", {"pool": "nowhere"}, 422)
    assert out["error"]["code"] == "unknown_pool" and "default" in out["error"]["message"], out
    check("POST", "/v1/campaigns/contract-c/move", {}, 400)
    check("POST", "/v1/campaigns/contract-c/move", {"pool": 5}, 400)
    check("POST", "/v1/campaigns/contract-c/move", {"pool": "default"}, 404, key=KEY2)
    check("POST", "/v1/campaigns/nope/move", {"pool": "default"}, 404)
    check("POST", "/v1/campaigns/nope/move", {"pool": "default"}, 401, key=None)
    check("POST", "/v1/campaigns/contract-c/move", {"pool": "default"}, 415,
          headers={"Content-Type": "text/plain"})
    check("POST", "/v1/campaigns/contract-c/cancel", {"reason": "done"}, 202)

    out = check("POST", "/v1/pause", {"for": "2h", "reason": "contract"}, 200)
    assert out["status"] == "paused" and out["until"], out
    check("POST", "/v1/pause", {"for": "soon"}, 400)
    check("POST", "/v1/pause", {"reason": "x"}, 401, key=None)
    check("POST", "/v1/resume", None, 200)
    check("POST", "/v1/resume", None, 409)
    check("POST", "/v1/resume", None, 401, key=None)

    check("GET", "/v1/recipients/user353%40ok.test", status=200)
    check("GET", "/v1/recipients/not%20an%20address", status=422)
    check("GET", "/v1/recipients/user353%40ok.test", status=401, key=None)

    check("POST", "/v1/suppressions", {"address": "user355@ok.test", "note": "c"}, 201)
    check("POST", "/v1/suppressions", {"address": "user355@ok.test"}, 200)
    check("POST", "/v1/suppressions", {"address": "user355@ok.test", "scope": "x.test"}, 403)
    check("POST", "/v1/suppressions", {"address": "nope"}, 422)
    check("POST", "/v1/suppressions", {"scope": "x"}, 400)
    check("POST", "/v1/suppressions", {"address": "user355@ok.test"}, 401, key=None)
    check("GET", "/v1/suppressions", status=200)
    check("GET", "/v1/suppressions?limit=0", status=400)
    check("GET", "/v1/suppressions", status=401, key=None)
    check("GET", "/v1/suppressions/user355%40ok.test", status=200)
    check("GET", "/v1/suppressions/user356%40ok.test", status=404)
    check("GET", "/v1/suppressions/bad%20address", status=422)
    check("GET", "/v1/suppressions/user355%40ok.test", status=401, key=None)
    check("DELETE", "/v1/suppressions/user355%40ok.test", status=200)
    check("DELETE", "/v1/suppressions/user355%40ok.test", status=404)
    check("DELETE", "/v1/suppressions/bad%20address", status=422)
    check("DELETE", "/v1/suppressions/user355%40ok.test", status=401, key=None)
    check("GET", "/v1/messages/x", status=401, key=None)

    check("PUT", "/v1/messages", msg, 405)
    check("GET", "/v1/nothing", status=404)

    for path, method, _ in operations(doc):
        for cls in (2, 4):
            assert (path, method, cls) in seen, f"{method.upper()} {path}: no {cls}xx tried"
