"""sluice send against scripted receivers (aiosmtpd): faults at every stage,
broken and rude servers. The receiver's own log is the witness."""
import collections

from conftest import fault_records


def outcomes(run):
    return {rcpt: (rec["outcome"], rec["stage"], rec["code"]) for rcpt, rec in
            run.last_by_recipient().items()}


def attempts(run, rcpt):
    return [r for r in run.log() if r["recipient"] == rcpt]


def test_replies_at_every_stage(world, sender):
    tag = "stages"
    sender.rows([[f"ok-{tag}@faults.test", "A", "1"],
                 [f"rcpt451-{tag}@faults.test", "B", "2"],
                 [f"rcpt550-{tag}@faults.test", "C", "3"],
                 [f"data451-{tag}@faults.test", "D", "4"],
                 [f"data554-{tag}@faults.test", "E", "5"],
                 [f"multi550-{tag}@faults.test", "F", "6"],
                 [f"multi250-{tag}@faults.test", "G", "7"]])
    r = sender.run()
    assert r.rc == 1
    o = outcomes(r)
    assert o[f"ok-{tag}@faults.test"] == ("delivered", "dot", 250)
    assert o[f"rcpt451-{tag}@faults.test"] == ("expired", "rcpt", 451)
    assert o[f"rcpt550-{tag}@faults.test"] == ("bounced", "rcpt", 550)
    assert o[f"data451-{tag}@faults.test"] == ("expired", "dot", 451)
    assert o[f"data554-{tag}@faults.test"] == ("bounced", "dot", 554)
    assert o[f"multi550-{tag}@faults.test"] == ("bounced", "rcpt", 550)
    assert o[f"multi250-{tag}@faults.test"] == ("delivered", "dot", 250)
    multi = r.last_by_recipient()[f"multi550-{tag}@faults.test"]
    # the whole multi-line reply, joined, with its enhanced code
    assert multi["enhanced"] == "5.1.1"
    assert multi["reply"] == ("The email account that you tried to reach does not exist. "
                              "Please try double-checking the recipient's email address "
                              "for typos or unnecessary spaces.")
    # deferrals were retried (backoff 1s) until the lifetime (3s) ran out
    assert len(attempts(r, f"rcpt451-{tag}@faults.test")) >= 2
    # a 4xx for one recipient held back no other: the good one went on the first try
    assert len(attempts(r, f"ok-{tag}@faults.test")) == 1
    # the receiver got exactly the messages whose RCPT it accepted
    got = collections.Counter(x["rcpt_tos"][0] for x in fault_records(world)
                              if tag in x["rcpt_tos"][0] and x["outcome"] == "250")
    assert got == {f"ok-{tag}@faults.test": 1, f"multi250-{tag}@faults.test": 1}


def test_data_command_refused_and_deferred(world, sender):
    sender.rows([["datacmd554-1@faults.test", "A", "1"], ["datacmd451-1@faults.test", "B", "2"]])
    r = sender.run(config={"retry": {"max_lifetime": "1s"}})
    o = outcomes(r)
    assert o["datacmd554-1@faults.test"] == ("bounced", "data", 554)
    assert o["datacmd451-1@faults.test"] == ("expired", "data", 451)


def test_ehlo_421_and_refused_connections_defer(world, sender):
    sender.rows([["x@ehlo.test", "E", "1"], ["y@dead.test", "D", "2"]])
    r = sender.run(config={"retry": {"max_lifetime": "1s"}})
    ehlo = attempts(r, "x@ehlo.test")
    assert (ehlo[0]["stage"], ehlo[0]["code"]) == ("ehlo", 421)
    dead = attempts(r, "y@dead.test")
    assert (dead[0]["stage"], dead[0]["code"], dead[0]["enhanced"]) == ("connect", 421, "4.4.1")
    assert "cannot connect to mx.dead.test[127.0.1.99]" in dead[0]["reply"]
    assert ehlo[-1]["outcome"] == "expired" and dead[-1]["outcome"] == "expired"


def test_tls_required_without_starttls_defers(world, sender):
    sender.rows([["ok-tlsreq@faults.test", "T", "1"]])
    r = sender.run(config={"delivery": {"tls": "required"}, "retry": {"max_lifetime": "1s"}})
    recs = attempts(r, "ok-tlsreq@faults.test")
    assert (recs[0]["stage"], recs[0]["enhanced"]) == ("starttls", "4.7.10")
    assert recs[-1]["outcome"] == "expired"
    assert not [x for x in fault_records(world) if x["rcpt_tos"] == ["ok-tlsreq@faults.test"]]


def test_mail_from_refused_and_deferred(world, sender):
    sender.rows([["a@mail5xx.test", "A", "1"], ["b@mail4xx.test", "B", "2"]])
    r = sender.run()
    assert r.rc == 1
    o = outcomes(r)
    # a sender refused at MAIL FROM is the sender's problem, not the
    # recipient's: it stays queued (until it expires), never bounced
    assert o["a@mail5xx.test"] == ("expired", "mail", 550)
    assert o["b@mail4xx.test"] == ("expired", "mail", 451)
    assert all(x["outcome"] != "bounced" for x in r.log()), r.log()


def test_stall_past_the_timeout_defers(world, sender):
    sender.rows([["stall-1@faults.test", "S", "1"]])
    r = sender.run(config={"timeouts": {"rcpt": "1s"}, "retry": {"max_lifetime": "1s"}})
    recs = attempts(r, "stall-1@faults.test")
    assert recs[0]["outcome"] in ("deferred", "expired")
    assert recs[0]["stage"] == "rcpt" and recs[0]["code"] == 451
    assert "timeout" in recs[0]["reply"]
    assert recs[-1]["outcome"] == "expired"


def test_connection_dropped_in_data_is_retried(world, sender):
    sender.rows([["drop-1@faults.test", "D", "1"]])
    r = sender.run(config={"retry": {"max_lifetime": "2s"}})
    recs = attempts(r, "drop-1@faults.test")
    assert recs[0]["outcome"] == "deferred" and recs[0]["stage"] == "dot"
    assert "connection closed by the server" in recs[0]["reply"]
    assert len(recs) >= 2  # retried, never bounced


def test_server_without_esmtp_gets_helo(world, sender):
    sender.rows([["user1@noesmtp.test", "H", "1"]])
    r = sender.run()
    assert r.rc == 0, r.err
    recs = [x for x in fault_records(world, "noesmtp") if x["rcpt_tos"] == ["user1@noesmtp.test"]]
    assert len(recs) == 1 and recs[0]["helo"] == "mta1.sluice.test"
    assert recs[0]["mail_options"] == []  # no ESMTP parameters to a HELO server


def test_8bit_message_to_a_server_without_8bitmime_bounces_clearly(world, sender):
    sender.rows([["user2@noesmtp.test", "Zoë", "1"]])
    r = sender.run()
    assert r.rc == 1
    rec = r.last_by_recipient()["user2@noesmtp.test"]
    assert rec["outcome"] == "bounced" and rec["enhanced"] == "5.6.3"
    assert "8BITMIME" in rec["reply"]


def test_smtputf8_address_uses_the_extension(world, sender):
    sender.rows([["üser-utf8@faults.test", "U", "1"]])
    r = sender.run()
    assert r.rc == 0, r.err
    recs = [x for x in fault_records(world) if x["rcpt_tos"] == ["üser-utf8@faults.test"]]
    assert len(recs) == 1
    assert "SMTPUTF8" in recs[0]["mail_options"] and "BODY=8BITMIME" in recs[0]["mail_options"]


def test_banner_421_defers(world, sender):
    sender.rows([["x@banner.test", "B", "1"]])
    r = sender.run(config={"retry": {"max_lifetime": "1s"}})
    recs = attempts(r, "x@banner.test")
    assert recs[0]["stage"] == "banner" and recs[0]["code"] == 421
    assert recs[-1]["outcome"] == "expired"


def test_connections_are_reused_within_limits(world, sender):
    tag = "reuse"
    sender.rows([[f"ok-{tag}-{i}@faults.test", "R", str(i)] for i in range(30)])
    r = sender.run(config={"delivery": {"max_messages_per_connection": 10,
                                        "max_connections_per_site": 2}})
    assert r.rc == 0, r.err
    recs = [x for x in fault_records(world) if tag in x["rcpt_tos"][0]]
    assert len(recs) == 30
    per_conn = collections.Counter(x["conn"] for x in recs)
    assert max(per_conn.values()) <= 10
    assert len(per_conn) <= 4  # 30 messages at up to 10 per connection


def test_concurrency_caps_seen_at_the_receiver(world, sender):
    tag = "caps"
    sender.rows([[f"ok-{tag}-{i}@faults.test", "C", str(i)] for i in range(120)])
    r = sender.run(config={"delivery": {"max_connections_per_site": 3,
                                        "max_messages_per_connection": 10}})
    assert r.rc == 0, r.err
    recs = [x for x in fault_records(world) if tag in x["rcpt_tos"][0]]
    assert len(recs) == 120
    assert max(x["open"] for x in recs) <= 3      # the per-site cap
    assert max(x["open"] for x in recs) >= 2      # and the site was served in parallel


def test_global_cap_across_sites(world, sender):
    tag = "global"
    sender.rows([[f"ok-{tag}-{i}@{dom}", "G", str(i)] for i in range(40)
                 for dom in ("faults.test", "faults2.test")])
    r = sender.run(config={"delivery": {"max_connections": 2, "max_connections_per_site": 5,
                                        "max_messages_per_connection": 5}})
    assert r.rc == 0, r.err
    recs = [x for x in fault_records(world) if tag in x["rcpt_tos"][0]]
    assert len(recs) == 80
    assert max(x["open"] for x in recs) <= 2  # both sites together
    sites = {x["site"] for x in r.log()}
    assert sites == {"mx.faults.test", "mx2.faults.test"}


def test_silent_close_after_n_messages_retries_only_the_one_in_flight(world, sender):
    sender.rows([[f"cap-{i}@cap.test", "C", str(i)] for i in range(10)])
    r = sender.run(config={"delivery": {"max_connections_per_site": 1}})
    assert r.rc == 0, r.err
    got = collections.Counter(x["rcpt_tos"][0] for x in fault_records(world, "cap3")
                              if x["outcome"] == "250")
    assert got == {f"cap-{i}@cap.test": 1 for i in range(10)}  # each exactly once
    retried = [x for x in r.log() if x["outcome"] == "deferred"]
    assert 1 <= len(retried) <= 3  # one per dropped connection, none with backoff
    assert all(x["stage"] == "mail" for x in retried)
    last = r.last_by_recipient()
    assert all(last[f"cap-{i}@cap.test"]["outcome"] == "delivered" for i in range(10))
