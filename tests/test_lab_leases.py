"""Sweeps that run at the same time on one database claim their trials (issue 14): leases with owner and expiry."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rampup.lab import Store, plan_trials, run_sweep, run_trial
from rampup.lab.store import new_owner

REPO = Path(__file__).resolve().parents[1]


def _dead_pid() -> int:
    """The pid of a process of this machine that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_claims_are_exclusive_and_end_with_the_result(tmp_path: Path) -> None:
    trial = plan_trials("mlp", ["none"], [0.1], [0], steps=10)[0]
    with Store(tmp_path / "lab.db") as store:
        assert store.claim(trial.key, "a/1/x") == "claimed"
        assert store.claim(trial.key, "a/1/x") == "claimed"  # the owner's own claim is renewed
        assert store.claim(trial.key, "b/2/y") == "taken"
        assert [(key, owner) for key, owner, _ in store.leases()] == [(trial.key, "a/1/x")]
        store.record(run_trial(trial), "a/1/x")
        assert store.leases() == []  # the result and the end of the lease are one transaction
        assert store.claim(trial.key, "b/2/y") == "done"
        other = plan_trials("mlp", ["none"], [0.2], [0], steps=10)[0]
        assert store.claim(other.key, "a/1/x", lease_s=0.01) == "claimed"
        time.sleep(0.05)
        assert store.claim(other.key, "b/2/y") == "claimed"  # expired: taken over
        store.release("b/2/y")
        assert store.leases() == []


def test_a_lease_of_a_dead_process_on_this_machine_is_taken_over_at_once(tmp_path: Path) -> None:
    trial = plan_trials("mlp", ["none"], [0.1], [0], steps=10)[0]
    dead = f"{socket.gethostname()}/{_dead_pid()}/gone"
    with Store(tmp_path / "lab.db") as store:
        assert store.claim(trial.key, dead, lease_s=3600) == "claimed"
        mine = new_owner()
        assert store.claim(trial.key, mine) == "claimed"
        store.release(mine)
        # another machine's process cannot be checked: its lease holds until it expires
        assert store.claim(trial.key, "elsewhere/1/x", lease_s=3600) == "claimed"
        assert store.claim(trial.key, new_owner()) == "taken"


@pytest.mark.parametrize("workers", [1, 2])
def test_a_dead_claimants_trial_is_run_after_its_lease_expires(tmp_path: Path, workers: int) -> None:
    trials = plan_trials("mlp", ["none"], [0.1, 0.2, 0.4], [0], steps=10)
    db = tmp_path / "lab.db"
    with Store(db) as store:  # a sweep on another machine claimed the second trial, then died
        assert store.claim(trials[1].key, "elsewhere/4242/dead", lease_s=3.0) == "claimed"
    started = time.monotonic()
    summary = run_sweep(trials, db, workers=workers, progress=False)
    assert time.monotonic() - started >= 2.5  # it waited for the lease to run out
    assert (summary.ran, summary.skipped, summary.failed) == (3, 0, 0)
    with Store(db) as store:
        assert all(row.runs == 1 for row in store.rows()) and len(store.rows()) == 3
        assert store.leases() == []


def test_a_trial_another_live_sweep_finishes_is_not_run_again(tmp_path: Path) -> None:
    trials = plan_trials("mlp", ["none"], [0.1, 0.2, 0.4], [0], steps=10)
    db = tmp_path / "lab.db"
    other = "elsewhere/4242/alive"
    with Store(db) as store:
        assert store.claim(trials[1].key, other, lease_s=3600) == "claimed"

    def the_other_sweep_finishes() -> None:
        time.sleep(1.5)
        with Store(db) as store:
            store.record(run_trial(trials[1]), other)

    thread = threading.Thread(target=the_other_sweep_finishes)
    thread.start()
    try:
        summary = run_sweep(trials, db, workers=1, progress=False)
    finally:
        thread.join()
    assert (summary.ran, summary.skipped) == (2, 1)
    with Store(db) as store:
        rows = store.rows()
        assert len(rows) == 3 and all(row.runs == 1 for row in rows)
        assert store.leases() == []


def test_a_database_from_before_the_leases_gains_the_table(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    run_sweep(plan_trials("mlp", ["none"], [0.1], [0], steps=10), db, workers=1, progress=False)
    with sqlite3.connect(db) as con:
        con.execute("DROP TABLE leases")
    with Store(db, readonly=True) as store:
        assert store.leases() == [] and len(store.rows()) == 1
    summary = run_sweep(plan_trials("mlp", ["none"], [0.1, 0.2], [0], steps=10), db, workers=1, progress=False)
    assert (summary.ran, summary.skipped) == (1, 1)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX process handling")
def test_two_concurrent_lab_runs_on_one_database_run_every_trial_once(tmp_path: Path) -> None:
    """Two real `rampup lab run` processes on one database: every row `runs = 1`, the work split between them."""
    db = tmp_path / "lab.db"
    warmups = ["none", "linear(3)", "cosine(3)"]
    rates = "0.05,0.1,0.2,0.4,0.8,1.6"
    argv = ["lab", "run", "--task", "mlp", "--lr", rates, "--seeds", "2", "--steps", "10"]
    argv += [item for w in warmups for item in ("--warmup", w)] + ["--db", str(db), "--workers", "1", "--quiet"]
    code = f"from rampup.cli import main; main({argv!r})"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            outputs.append(out)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    planned = plan_trials("mlp", warmups, [float(r) for r in rates.split(",")], 2, steps=10)
    ran = [int(re.search(r"(\d+) run now", out).group(1)) for out in outputs]  # type: ignore[union-attr]
    assert sum(ran) == len(planned) == 36, outputs
    assert all(count > 0 for count in ran), ran  # both sweeps did part of the work
    with Store(db) as store:
        rows = store.rows()
        assert {row.key for row in rows} == {config.key for config in planned}
        assert [row.runs for row in rows] == [1] * len(planned)
        assert store.leases() == []


@pytest.mark.parametrize("workers", [1, 2])
def test_a_sweep_that_stops_hands_back_its_claims(tmp_path: Path, workers: int) -> None:
    trials = plan_trials("mlp", ["none"], [0.1, 0.2, 0.4, 0.8], [0], steps=10)
    db = tmp_path / "lab.db"

    def stop(result: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(trials, db, workers=workers, progress=False, on_result=stop)
    with Store(db) as store:
        assert store.leases() == [] and len(store.rows()) == 1
    again = run_sweep(trials, db, workers=workers, progress=False)  # nothing waits for a lease
    assert (again.ran, again.skipped) == (3, 1)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="POSIX process handling")
def test_kill_9_of_one_of_two_concurrent_runs_the_other_finishes_every_trial_once(tmp_path: Path) -> None:
    db = tmp_path / "lab.db"
    rates = "0.05,0.1,0.2,0.4,0.8,1.6"
    argv = ["lab", "run", "--task", "mlp", "--lr", rates, "--seeds", "3", "--steps", "10", "--warmup", "none"]
    argv += ["--warmup", "linear(3)", "--db", str(db), "--workers", "1", "--quiet"]
    code = f"from rampup.cli import main; main({argv!r})"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    victim, survivor = (
        subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and victim.poll() is None:
            time.sleep(0.05)
            try:
                with sqlite3.connect(db) as con:
                    if con.execute("SELECT count(*) FROM trials").fetchone()[0] >= 4:
                        break
            except sqlite3.Error:
                continue
        assert victim.poll() is None, "the sweep finished before it could be killed"
        victim.kill()  # SIGKILL: its claim on the trial it was running stays in the table
        victim.wait(timeout=10)
        out, err = survivor.communicate(timeout=300)
        assert survivor.returncode == 0 and "run now" in out, err
    finally:
        for proc in (victim, survivor):
            if proc.poll() is None:
                proc.kill()
    planned = plan_trials("mlp", ["none", "linear(3)"], [float(r) for r in rates.split(",")], 3, steps=10)
    with Store(db) as store:
        rows = store.rows()
        assert {row.key for row in rows} == {config.key for config in planned}
        assert [row.runs for row in rows] == [1] * len(planned)
        assert store.leases() == []
