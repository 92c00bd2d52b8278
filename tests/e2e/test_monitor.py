"""The danger-sign monitor against a real Postfix (mx.picky.test) that
rejects our sender at MAIL FROM (smtpd_delay_reject=no with a sender
restriction) and our content at the end of DATA (header_checks): the sign
is reported at once, the campaign pauses itself after the configured number
of rejections, the rest stays queued, nobody is suppressed, and `sluice
campaign resume` lets it go on."""
import json
import os
import signal
import sqlite3
import subprocess

import world as W
from conftest import SLUICE, TEMPLATE, fault_records, merged, wait_for, yaml_text

MONITOR = {"monitor": {"pause_after_sender_rejections": "3"},
           "delivery": {"idle_timeout": "100ms", "initial_connections_per_site": "1",
                        "max_connections_per_site": "1"}}


def suppressed(state):
    path = os.path.join(state, "suppress.db")
    if not os.path.exists(path):
        return []
    db = sqlite3.connect(path)
    rows = db.execute("SELECT address FROM suppression").fetchall()
    db.close()
    return rows


def report(state, campaign):
    return subprocess.run([SLUICE, "report", "--campaign", campaign, "--state", state],
                          capture_output=True, text=True, timeout=30)


def check_paused(sender, r, stage, outcome="bounced", at_least=3):
    assert r.rc == 5, r.err
    assert "danger: campaign c1: sender_rejected" in r.err
    assert "paused itself" in r.err
    log = r.log()
    rejected = [x for x in log if x.get("stage") == stage and x.get("outcome") == outcome]
    assert len(rejected) >= at_least, log
    assert all(x["code"] == 554 or x["code"] == 550 for x in rejected), rejected
    signs = [x for x in log if x.get("outcome") == "danger"]
    assert [x["category"] for x in signs][:1] == ["sender_rejected"]
    assert "paused" in [x["category"] for x in signs]
    # the rest is still queued, and nobody was suppressed for the sender's fault
    db = sqlite3.connect(os.path.join(sender.state, "queue.db"))
    queued = db.execute("SELECT count(*) FROM recipient WHERE state = 0").fetchone()[0]
    db.close()
    assert queued >= 1
    assert suppressed(sender.state) == []
    p = report(sender.state, "c1")
    assert p.returncode == 0, p.stderr
    assert "sender_rejected" in p.stdout and "PAUSED" in p.stdout
    return queued


def picky_mail_rejections(world):
    """MAIL FROM rejections in the picky Postfix's own log."""
    return [l for l in world.postfix_log(world.picky_dir).splitlines()
            if "NOQUEUE: reject: MAIL from" in l]


def test_sender_rejected_at_mail_from_pauses_the_campaign(world, sender):
    """A receiver that refuses the sender at MAIL FROM sees it once per
    campaign (a probe), not once per recipient or connection; the recipients
    stay queued; rejections at two receivers add up to the pause."""
    before_picky = len(picky_mail_rejections(world))
    sender.rows([[f"user{i}@picky.test", "P", str(i)] for i in range(1, 9)]
                + [[f"m{i}@mail5xx.test", "M", str(i)] for i in range(1, 9)])
    cfg = dict(MONITOR, sender={"envelope_from": W.PICKY_BLOCKED_SENDER,
                                "from_domain": "news.sluice.test"},
               monitor={"pause_after_sender_rejections": "2"},
               delivery={"idle_timeout": "100ms"},
               retry={"min_backoff": "1s", "max_backoff": "1s", "max_lifetime": "60s"})
    r = sender.run(config=cfg, extra_args=("--campaign", "c1"))
    check_paused(sender, r, "mail", outcome="deferred", at_least=2)
    assert not [x for x in r.log() if x.get("outcome") == "bounced"]
    assert len(picky_mail_rejections(world)) - before_picky == 1, picky_mail_rejections(world)
    refused = [x for x in fault_records(world, "mail5xx") if x["outcome"] == "mail_refused"
               and x["mail_from"] == W.PICKY_BLOCKED_SENDER]
    assert len(refused) == 1, refused
    # a paused campaign is not sent until resumed
    again = sender.run(config=cfg, extra_args=("--campaign", "c1"))
    assert again.rc == 5 and "is paused" in again.err
    p = subprocess.run([SLUICE, "campaign", "resume", "c1", "--state", sender.state],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "resumed" in p.stdout, p.stderr


def test_content_rejected_at_data_pauses_the_campaign(world, sender):
    sender.rows([[f"user{i}@picky.test", "P", str(i)] for i in range(10, 18)])
    tpl = TEMPLATE.replace("Subject: Hello {{name}}",
                           f"Subject: {W.PICKY_BLOCKED_SUBJECT} for {{{{name}}}}")
    r = sender.run(config=MONITOR, template=tpl, extra_args=("--campaign", "c1"))
    check_paused(sender, r, "dot")


def test_deferrals_at_a_large_provider_are_a_sign(world, sender):
    sender.rows([[f"user{i}@{W.PROVIDER_DOMAIN}", "P", str(i)] for i in range(12)])
    r = sender.run(config={"monitor": {"min_messages": "10"}}, extra_args=("--campaign", "c1"))
    assert r.rc == 1, r.err  # every one expired
    assert "danger: campaign c1: deferral_rate: google: 100.0% of" in r.err, r.err
    assert "DANGER 1 (last: deferral_rate" in r.err  # the progress line says so too
    signs = [x for x in r.log() if x.get("outcome") == "danger"]
    assert [x["category"] for x in signs] == ["deferral_rate"]
    p = report(sender.state, "c1")
    assert "provider (by MX)" in p.stdout, p.stdout
    google = [line.split() for line in p.stdout.splitlines() if line.startswith("google ")]
    assert google == [["google", "0", "0", "0", "12"]], p.stdout  # all 12 expired there
    assert "deferral_rate" in p.stdout
    # at an unknown provider the same deferrals are no sign (no per-provider rate)
    sender2_rows = [[f"u{i}@mail4xx.test", "P", str(i)] for i in range(12)]
    sender.rows(sender2_rows)
    r = sender.run(config={"monitor": {"min_messages": "10"}},
                   extra_args=("--campaign", "c2"))
    assert "deferral_rate" not in r.err, r.err


def test_a_rcpt_failure_spike_against_earlier_campaigns(world, sender):
    # an earlier campaign: 1 of 20 addresses unknown (5%)
    # (users 260-294 of ok.test are this test's alone: other tests count theirs)
    rows = [[f"user{i}@ok.test", "A", str(i)] for i in range(260, 279)] + \
        [["ghost@ok.test", "G", "x"]]
    sender.rows(rows)
    r = sender.run(config={"monitor": {"min_messages": "10"}}, extra_args=("--campaign", "old"))
    assert r.rc == 1, r.err
    assert "rcpt_failure_spike" not in r.err
    # now a list from elsewhere: 4 of 20 unknown (20%, 4x the usual 5%)
    rows = [[f"user{i}@ok.test", "A", str(i)] for i in range(279, 295)] + \
        [[f"nobody{i}@ok.test", "N", "x"] for i in range(4)]
    sender.rows(rows)
    r = sender.run(config={"monitor": {"min_messages": "10", "rcpt_failure_warn": "50%"}},
                   extra_args=("--campaign", "new"))
    assert r.rc == 1, r.err
    assert "danger: campaign new: rcpt_failure_spike" in r.err, r.err
    assert "this sender's usual 5.00%" in r.err


def test_sender_rejections_add_up_across_campaigns_per_source(world, sender):
    """Two campaigns in one serve, each under its own pause threshold: the
    source they share crosses it, and that is a sign of its own."""
    cfg = {"inbound": {"listen": f"{W.INBOUND_IP}:25"},
           "sender": {"envelope_from": W.PICKY_BLOCKED_SENDER, "from_domain": "news.sluice.test"},
           "monitor": {"pause_after_sender_rejections": "3"},
           "retry": {"min_backoff": "1s", "max_backoff": "1s", "max_lifetime": "60s"}}
    path = sender.write("serve.yaml", yaml_text(merged(cfg)))
    serve = subprocess.Popen([SLUICE, "serve", "--config", path, "--state", sender.state,
                              "--force"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert W.wait_port(W.INBOUND_IP, 25) is not False
        for name, users in (("a", (1, 2)), ("b", (3, 4))):
            sender.rows([[f"user{u}@picky.test", name, str(u)] for u in users])
            r = sender.run(config=cfg, extra_args=("--campaign", name))
            assert r.rc == 4, r.err

        def signs():
            log = os.path.join(sender.state, "delivery.log")
            if not os.path.exists(log):
                return []
            with open(log) as f:
                return [json.loads(x) for x in f if '"danger"' in x and x.endswith("\n")]
        assert wait_for(lambda: any(x["category"] == "source_rejected" for x in signs()), 30), \
            open(os.path.join(sender.state, "delivery.log")).read() + str(\
            signs())
    finally:
        serve.send_signal(signal.SIGTERM)
        out, err = serve.communicate(timeout=20)
    row = [x for x in signs() if x["category"] == "source_rejected"][0]
    assert f"source {W.SOURCE_IP}" in row["reply"], row
    assert "3 permanent sender rejections" in row["reply"], row
    assert not any(x["category"] == "paused" for x in signs())  # each stayed under 3
