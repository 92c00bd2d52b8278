"""A message's shelf life (sluice send --expires-in, --expires-at, --send-at and
the list's send_at, expires_at and tz columns) against the real receivers:
Postfix behind postgrey (greylisting, 2 s) and the plain Postfix receiver.
Recipients used only here: user287@grey.test, user244..user247@ok.test."""
import datetime
import os
import time

from conftest import maildir_files


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_expiry_before_the_greylisting_retry_expires_instead_of_delivering_late(world, sender):
    rcpt = "user287@grey.test"
    sender.rows([[rcpt, "G", "1"]])
    t0 = time.time()
    # postgrey would take the retry after 2 s, sluice retries after 8 s:
    # the 5 s expiry comes first, so the retry never happens
    r = sender.run(config={"retry": {"min_backoff": "5m", "max_backoff": "5m",
                                     "greylist_delay": "8s", "max_lifetime": "1h"}},
                   extra_args=["--expires-in", "5s"], timeout=60)
    elapsed = time.time() - t0
    assert r.rc == 1, r.err  # some expired
    recs = [x for x in r.log() if x["recipient"] == rcpt]
    assert [(x["outcome"], x["stage"]) for x in recs] == [("deferred", "rcpt"), ("expired", "expiry")], recs
    first, last = recs
    assert first["category"] == "greylisted" and "Greylisted" in first["reply"]
    assert last["category"] == "expired"
    assert last["reply"].startswith("expired before delivery (expires-at 20"), last
    assert last["mx_host"] is None and last["attempt"] == 1  # no second connection
    assert last["list_action"] is None  # the sender's deadline is not the address's fault
    # it expired at its expiry, not at the retry it would have had
    expires = datetime.datetime.strptime(last["reply"].split("expires-at ")[1].rstrip(")"),
                                         "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    assert expires.timestamp() - t0 < 7
    assert elapsed < 8 + 2, elapsed
    md = world.maildir("grey.test", "user287")
    assert not (os.path.isdir(md) and os.listdir(md))  # never delivered
    assert "expired" in r.out  # the summary counts it


def test_send_at_leaves_at_its_time_not_before(world, sender, monkeypatch):
    monkeypatch.setenv("SLUICE_PROGRESS_MS", "200")
    sender.rows([["user244@ok.test", "S", "1"], ["user245@ok.test", "S", "2"]])
    send_at = int(time.time()) + 4
    r = sender.run(extra_args=["--send-at", rfc3339(send_at)], timeout=60)
    assert r.rc == 0, r.err
    assert time.time() >= send_at  # the command waited for it
    assert "2 wait for their send time" in r.err
    assert "sending in" in r.err  # the progress line while waiting
    for x in r.log():
        assert x["outcome"] == "delivered"
        sent = datetime.datetime.strptime(x["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        assert sent >= send_at, (x["time"], send_at)
    for user in ("user244", "user245"):
        files = maildir_files(world, "ok.test", user)
        assert len(files) == 1
        assert os.stat(files[0]).st_mtime >= send_at  # the receiver got it at its time


def test_list_columns_give_each_row_its_time(world, sender):
    now = int(time.time())
    local = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now + 3))
    sender.rows([
        ["user246@ok.test", "A", "1", "", rfc3339(now - 3600), ""],     # already expired
        ["user247@ok.test", "B", "2", local, "", "UTC"],               # in 3 s, UTC local time
        ["user246@ok.test", "C", "3", "08:00", "", "Europe/Berln"],    # a bad zone: a bad row
    ], header="email,name,code,send_at,expires_at,tz")
    r = sender.run(timeout=60)
    assert r.rc == 1, r.err
    assert "list.csv:4: column tz: unknown time zone 'Europe/Berln'" in r.err
    last = r.last_by_recipient()
    a, b = last["user246@ok.test"], last["user247@ok.test"]
    assert (a["outcome"], a["stage"], a["mx_host"], a["attempt"]) == ("expired", "expiry", None, 0), a
    assert b["outcome"] == "delivered"
    sent = datetime.datetime.strptime(b["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    assert sent >= now + 3
    assert len(maildir_files(world, "ok.test", "user247")) == 1
