"""Durability: kill -9 at any moment, a clean stop, a full disk, a broken
state directory. Nothing queued is lost; nothing delivered is sent again,
except what was in flight at a kill."""
import collections
import os
import signal
import subprocess

import pytest

from conftest import fault_records, wait_for

N = 2000


def delivered_counts(world, tag):
    return collections.Counter(x["rcpt_tos"][0] for x in fault_records(world)
                               if x["outcome"] == "250" and tag in x["rcpt_tos"][0])


def test_kill_9_then_resume_delivers_everyone_once(world, sender):
    tag = "kill9"
    sender.rows([[f"ok-{tag}-{i}@faults.test", "K", str(i)] for i in range(N)])
    # A known pace makes the window countable: unpaced, this receiver takes
    # ~6,000 msg/s, and one group-commit period (5 ms) plus its fsync is then
    # ~50 messages; at 500 msg/s it is a handful. Killed past the first
    # second's burst, so the pace holds at the kill.
    cfg = {"delivery": {"max_connections_per_site": 4, "message_rate": "500/s"},
           "retry": {"max_lifetime": "1h"}}
    p = sender.start(config=cfg)
    assert wait_for(lambda: sum(delivered_counts(world, tag).values()) >= N // 2, timeout=60)
    p.send_signal(signal.SIGKILL)
    p.wait()
    before = sum(delivered_counts(world, tag).values())
    assert before < N, "the kill came too late to test anything"
    r = sender.run(config=cfg, timeout=120)
    assert r.rc == 0, r.err
    counts = delivered_counts(world, tag)
    assert set(counts) == {f"ok-{tag}-{i}@faults.test" for i in range(N)}
    duplicates = sum(counts.values()) - N
    # only what was in flight (4 connections) or delivered but not yet
    # group-committed (a few milliseconds' worth) may go twice
    assert duplicates <= 40, duplicates
    states = collections.Counter(rec["outcome"] for rec in r.last_by_recipient().values())
    assert states == {"delivered": N}


def test_sigterm_stops_cleanly_and_resumes(world, sender):
    tag = "term"
    n = 600
    sender.rows([[f"ok-{tag}-{i}@faults.test", "T", str(i)] for i in range(n)])
    cfg = {"delivery": {"max_connections_per_site": 2}}
    p = sender.start(config=cfg)
    assert wait_for(lambda: sum(delivered_counts(world, tag).values()) >= 50, timeout=60)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    if p.returncode == 0:
        pytest.skip("the run finished before the signal")
    assert p.returncode == 3, err
    assert "run the same command to resume" in err
    r = sender.run(config=cfg, timeout=120)
    assert r.rc == 0, r.err
    counts = delivered_counts(world, tag)
    assert len(counts) == n and set(counts.values()) == {1}  # a clean stop sends nothing twice


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], check=True)
    yield mnt
    subprocess.run(["umount", str(mnt)], check=False)


def test_full_disk_is_a_clear_error_and_resumable(world, sender, small_fs):
    tag = "full"
    n = 3000
    sender.rows([[f"ok-{tag}-{i}@faults.test", "F" * 40, str(i)] for i in range(n)])
    sender.state = str(small_fs / "state")
    r = sender.run()
    assert r.rc == 2
    assert ("database or disk is full" in r.err or "No space left" in r.err
            or "filesystem is full" in r.err), r.err
    assert delivered_counts(world, tag) == {}
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_fs)], check=True)
    r = sender.run(timeout=120)
    assert r.rc == 0, r.err
    counts = delivered_counts(world, tag)
    assert len(counts) == n and set(counts.values()) == {1}


def test_full_disk_during_delivery_stops_cleanly_and_resumes(world, sender, small_fs):
    tag = "fullrun"
    n = 300
    sender.rows([[f"ok-{tag}-{i}@faults.test", "F", str(i)] for i in range(n)])
    sender.state = str(small_fs / "state")
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_fs)], check=True)
    # queue everything while DNS does not answer (nothing is tried), then stop
    p = sender.start(config={"dns": {"resolvers": "[127.0.53.99]", "timeout": "1s"},
                             "retry": {"max_lifetime": "1h"}})
    assert wait_for(lambda: os.path.exists(os.path.join(sender.state, "delivery.log")))
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=30)
    assert p.returncode == 3
    # fill the disk but for a little (SQLite's shared memory file must fit),
    # then deliver: writing the log or committing outcomes fails
    filler = small_fs / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
    os.truncate(filler, os.path.getsize(filler) - 96 * 1024)
    r = sender.run(config={"retry": {"min_backoff": "0s", "max_lifetime": "1h"}})
    sent_while_full = sum(delivered_counts(world, tag).values())
    assert r.rc == 2, r.err
    assert "disk is full" in r.err or "No space left" in r.err or "filesystem is full" in r.err, \
        r.err
    assert "run the same command again to resume" in r.err
    assert "delivery log" in r.err or "commit" in r.err, r.err  # it failed while delivering
    filler.unlink()
    r = sender.run(config={"retry": {"min_backoff": "0s", "max_lifetime": "1h"}}, timeout=120)
    assert r.rc == 0, r.err
    counts = delivered_counts(world, tag)
    assert set(counts) == {f"ok-{tag}-{i}@faults.test" for i in range(n)}
    # only what reached the receiver while no outcome could be committed may
    # go twice: nothing whose delivery was committed is sent again
    assert sum(counts.values()) - n <= sent_while_full


def test_state_directory_that_is_a_file_is_a_clear_error(sender):
    sender.rows([["ok-x@faults.test", "X", "1"]])
    sender.state = sender.write("not-a-dir", "x")
    r = sender.run()
    assert r.rc == 2
    assert "state directory" in r.err and "not-a-dir: not a directory" in r.err
