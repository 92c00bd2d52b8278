"""Bad input on every path: a clear message naming the place, exit status 2
for what stops the run, and bad rows skipped with their line while the rest
go on."""
import os
import re
import subprocess

from conftest import TEMPLATE, fault_records


def test_config_errors_name_file_line_and_column(sender):
    sender.rows([["ok-cfg@faults.test", "A", "1"]])
    r = sender.run(extra_yaml="delivery_typo: 1\n")
    assert r.rc == 2
    assert re.search(r"sluice\.yaml:\d+:1: unknown section 'delivery_typo'", r.err), r.err
    r = sender.run(config={"delivery": {"max_connections_per_site": "lots"}})
    assert r.rc == 2
    assert re.search(r"sluice\.yaml:\d+:\d+: 'max_connections_per_site' must be a whole number",
                     r.err), r.err
    r = sender.run(config={"retry": {"min_backoff": "5 minutes"}})
    assert r.rc == 2 and "bad duration '5 minutes'" in r.err
    r = sender.run(extra_yaml="oops: [unclosed\n")
    assert r.rc == 2 and re.search(r"sluice\.yaml:\d+:\d+:", r.err), r.err


def test_helo_must_be_a_fqdn(sender):
    sender.rows([["ok-cfg@faults.test", "A", "1"]])
    cfg = sender.write("bad.yaml", "sources:\n  - ip: 127.0.0.10\n    helo: 127.0.0.10\n"
                       "sender:\n  envelope_from: b@x.test\n")
    argv = sender.args()
    argv[argv.index("--config") + 1] = cfg
    p = subprocess.run(argv, capture_output=True, text=True)
    assert p.returncode == 2
    assert "bad.yaml:2:" in p.stderr and "fully qualified host name" in p.stderr


def test_template_errors_name_file_line_and_column(sender):
    sender.rows([["ok-tpl@faults.test", "A", "1"]])
    cases = [
        (TEMPLATE.replace("{{code}}", "{{coupon}}"),
         r"template\.eml:6:\d+: unknown placeholder 'coupon'"),
        (TEMPLATE + "x" * 999 + "\n", r"template\.eml:7:999: line longer than 998 octets"),
        (TEMPLATE.replace("From:", "From"), r"template\.eml:1:\d+: malformed header field"),
        ("To: {{email}}\nSubject: x\n\nbody\n", r"template\.eml:\d+:1: the template has no From"),
        (TEMPLATE.replace("{{code}}", "{{code"), r"template\.eml:6:\d+: placeholder '\{\{' is never closed"),
        ("From: a@b.test\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\n\nx\n",
         r"multipart boundary 'zz' is never closed"),
    ]
    for text, pattern in cases:
        r = sender.run(template=text)
        assert r.rc == 2, (pattern, r.err)
        assert re.search(pattern, r.err), (pattern, r.err)
    assert not os.path.exists(sender.state)  # nothing was queued


def test_bad_rows_are_skipped_with_their_line_the_rest_goes(world, sender):
    text = ("email,name,code\n"
                 "ok-rows-1@faults.test,A,1\n"
                 "not-an-address,B,2\n"
                 "ok-rows-3@faults.test,C\n"             # line 4: too few fields
                 "ok-rows-4@faults.test,\"q\"x,4\n"       # line 5: text after a quote
                 "OK-rows-5@FAULTS.test,D,5\n"
                 "OK-rows-5@faults.TEST,D again,5\n"      # duplicate (domain case-insensitive)
                 "ok-rows-6@faults.test,\"multi\nline\",6\n"  # lines 8-9: one record
                 "ok-rows-7@faults.test,\xff\xfe,7\n"      # line 10: not UTF-8
                 "ok-rows-8@faults.test,\"never closed,8\n")  # line 11
    sender.write("list.csv", text.encode().replace("\xff\xfe".encode(), b"\xff\xfe"), "wb")
    r = sender.run()
    assert r.rc == 0, r.err
    assert "list.csv:3: address 'not-an-address': no @ in address" in r.err
    assert "list.csv:4: 2 fields, the header has 3" in r.err
    assert "list.csv: line 5, column 26: text after a closing quote" in r.err
    assert "list.csv: line 10, column 23: field is not valid UTF-8" in r.err
    assert "list.csv: line 11, column 23: quoted field never closed" in r.err
    assert "3 queued, 1 duplicates, 5 bad rows skipped" in r.err, r.err
    got = {x["rcpt_tos"][0] for x in fault_records(world) if "rows" in x["rcpt_tos"][0].lower()}
    assert got == {"ok-rows-1@faults.test", "OK-rows-5@faults.test", "ok-rows-6@faults.test"}


def test_missing_email_column_is_an_error(sender):
    sender.write("list.csv", "mail,name\nx@y.test,X\n")
    r = sender.run()
    assert r.rc == 2 and "list.csv:1: no 'email' column" in r.err


def test_dry_run_prints_the_first_message_and_sends_nothing(world, sender):
    sender.rows([["ok-dry-1@faults.test", "Dry", "D1"], ["ok-dry-2@faults.test", "Dry2", "D2"]])
    r = sender.run(extra_args=["--dry-run"])
    assert r.rc == 0, r.err
    assert "MAIL FROM:<bounces@news.sluice.test> RCPT TO:<ok-dry-1@faults.test>" in r.out
    assert "Subject: Hello Dry\n" in r.out and "your code is D1.\n" in r.out  # text mode folds CRLF
    assert "Message-ID: <dry-run@news.sluice.test>" in r.out
    assert "dry run: 2 recipients, 0 bad rows, 0 duplicates; nothing sent" in r.err
    assert not [x for x in fault_records(world) if "dry" in x["rcpt_tos"][0]]


def test_header_injection_through_a_field_is_neutralised(world, sender):
    sender.rows([["ok-inj@faults.test", "\"Eve\r\nBcc: victim@x.test\"", "1"]])
    r = sender.run()
    assert r.rc == 0, r.err
    data = [x["data"] for x in fault_records(world) if x["rcpt_tos"] == ["ok-inj@faults.test"]][0]
    headers = data.split("\r\n\r\n", 1)[0]
    assert "\r\nBcc:" not in headers
    assert 'To: "Eve  Bcc: victim@x.test" <ok-inj@faults.test>' in headers


def test_a_campaign_keeps_its_envelope_domain(world, sender):
    sender.rows([["user90@ok.test", "A", "1"]])
    r = sender.run(extra_args=("--campaign", "env1"))
    assert r.rc == 0, r.err
    r = sender.run(config={"sender": {"envelope_from": "bounces@elsewhere.test",
                                      "from_domain": "news.sluice.test"}},
                   extra_args=("--campaign", "env1"))
    assert r.rc == 2, r.err
    assert "keeps one envelope domain" in r.err and "bounces@elsewhere.test" in r.err
