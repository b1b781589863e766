"""Where a sweep's trials run (issue 14): the local pool and Ray Core, behind one seam.

The Ray tests run on a real local Ray instance, started once for this module with ``ray.init()``
(no address); ``rampup lab run --backend ray`` in this process uses that connection, and a driver
in another process connects to it with ``--address``. Trials are short (10-40 steps).
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray
from cli_helpers import cli_error
from cli_helpers import run_cli as cli
from lab_rows import start_sweep_and_kill_it

from rampup.lab import Store, TrialConfig, TrialResult, plan_trials, run_sweep, run_trial
from rampup.lab.backends import WORKER_DIED, InProcess, LocalPool, RayBackend, make_backend

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A local Ray instance for the module; its workers import this file's trial functions. Yields its address."""
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(REPO / "src"), *([saved] if saved else [])])
    try:
        ray.init(
            address="local",
            num_cpus=2,
            object_store_memory=100 * 1024**2,
            include_dashboard=False,
            logging_level=logging.ERROR,
            log_to_driver=False,
        )
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    yield str(ray.get_runtime_context().gcs_address)
    ray.shutdown()


def _dies_once(marks: str, config: TrialConfig) -> TrialResult:
    """Seed 1 kills its worker outright (as the OOM killer would) the first time it runs, then trains."""
    mark = Path(marks) / f"{config.key}.died"
    if config.seed == 1 and not mark.exists():
        mark.touch()
        os._exit(9)
    return run_trial(config)


def _always_dies(config: TrialConfig) -> TrialResult:
    """Seed 1 kills its worker every time."""
    if config.seed == 1:
        os._exit(9)
    return run_trial(config)


def _rows(db: Path) -> dict[str, Any]:
    with Store(db, readonly=True) as store:
        return {row.key: row for row in store.rows()}


# ------------------------------------------------------------------------------------------ bad input


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


RUN = ["lab", "run", "--task", "mlp", "--warmup", "none", "--lr", "0.1", "--steps", "10", "--quiet"]


def test_an_unreachable_ray_address_is_one_error_line_and_leaves_the_database_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"127.0.0.1:{_free_port()}"  # nothing listens there
    missing = tmp_path / "new.db"
    err = cli_error(capsys, *RUN, "--db", str(missing), "--backend", "ray", "--address", address)
    assert err.startswith(f"error: --address: got '{address}'") and "ray start --head" in err, err
    assert not missing.exists()
    existing = tmp_path / "old.db"
    Store(existing).close()
    before = (existing.read_bytes(), existing.stat().st_mtime_ns)
    err = cli_error(capsys, *RUN, "--db", str(existing), "--backend", "ray", "--address", address)
    assert "--address" in err
    assert (existing.read_bytes(), existing.stat().st_mtime_ns) == before


def test_bad_backend_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "lab.db"
    assert "--backend" in cli_error(capsys, *RUN, "--db", str(db), "--backend", "slurm")
    assert "--address" in cli_error(capsys, *RUN, "--db", str(db), "--address", "127.0.0.1:6379")
    assert "--gpus-per-trial" in cli_error(capsys, *RUN, "--db", str(db), "--gpus-per-trial", "1")
    err = cli_error(capsys, *RUN, "--db", str(db), "--backend", "ray", "--cpus-per-trial", "-1")
    assert "--cpus-per-trial" in err
    assert "--address" in cli_error(capsys, *RUN, "--db", str(db), "--backend", "ray", "--address", "nowhere")
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{_free_port()}")
    assert cli_error(capsys, *RUN, "--db", str(db), "--backend", "ray").startswith("error: RAY_ADDRESS: got")
    monkeypatch.delenv("RAY_ADDRESS")
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    err = cli_error(capsys, *RUN, "--db", str(db), "--backend", "ray")
    assert err.startswith("error: --backend: got 'ray'") and "pip install 'rampup[ray]'" in err, err
    assert not db.exists()


def test_make_backend_picks_the_backend() -> None:
    assert isinstance(make_backend("local", workers=1), InProcess)
    assert isinstance(make_backend("local", workers=3), LocalPool)
    ray_backend = make_backend("ray", workers=4, address="10.0.0.1:6379", cpus=2, gpus=0.5)
    assert isinstance(ray_backend, RayBackend)
    assert (ray_backend.workers, ray_backend.address, ray_backend.cpus, ray_backend.gpus) == (
        4,
        "10.0.0.1:6379",
        2,
        0.5,
    )
    with pytest.raises(ValueError, match="--workers"):
        make_backend("local", workers=0)
    with pytest.raises(ValueError, match="--cpus-per-trial"):
        make_backend("ray", cpus=0, gpus=0)


# ------------------------------------------------------------------------------------------ dead workers


def test_a_local_worker_that_dies_costs_only_its_trial_which_runs_again(tmp_path: Path) -> None:
    trials = plan_trials("mlp", ["none"], [0.1], 4, steps=10)
    db = tmp_path / "lab.db"
    dies_once = functools.partial(_dies_once, str(tmp_path))
    summary = run_sweep(trials, db, workers=2, progress=False, trial_fn=dies_once)
    assert (summary.ran, summary.ok) == (4, 4)
    assert len(list(tmp_path.glob("*.died"))) == 1  # seed 1's first worker died under it
    assert [row.runs for row in _rows(db).values()] == [1, 1, 1, 1]


def test_a_ray_worker_that_dies_costs_only_its_trial_which_runs_again(ray_cluster: str, tmp_path: Path) -> None:
    trials = plan_trials("mlp", ["none"], [0.1], 4, steps=10)
    db = tmp_path / "lab.db"
    summary = run_sweep(
        trials, db, backend="ray", progress=False, trial_fn=functools.partial(_dies_once, str(tmp_path))
    )
    assert (summary.ran, summary.ok) == (4, 4)
    assert len(list(tmp_path.glob("*.died"))) == 1
    assert [row.runs for row in _rows(db).values()] == [1, 1, 1, 1]


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_a_trial_whose_worker_dies_every_time_is_failed_and_the_next_sweep_runs_it(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "ray":
        request.getfixturevalue("ray_cluster")
    trials = plan_trials("mlp", ["none"], [0.1], 3, steps=10)
    db = tmp_path / "lab.db"
    workers = 2 if backend == "local" else None
    summary = run_sweep(trials, db, workers=workers, backend=backend, progress=False, trial_fn=_always_dies)
    assert (summary.ran, summary.ok, summary.failed) == (3, 2, 1)
    rows = _rows(db)
    [dead] = [row for row in rows.values() if row.status == "failed"]
    assert dead.seed == 1 and dead.error is not None and dead.error.startswith(WORKER_DIED)
    again = run_sweep(trials, db, workers=workers, backend=backend, progress=False)
    assert (again.ran, again.ok, again.skipped) == (1, 1, 2)


# ------------------------------------------------------------------------------------------ the same trials


def test_the_example_gives_the_same_final_loss_on_ray_and_local_and_reruns_run_nothing(
    ray_cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)  # the reference as a user types it, relative to the checkout
    args = ["lab", "run", "--task", "examples/lab_task.py:TASK", "--warmup", "none", "--warmup", "linear(20%)"]
    args += ["--lr", "normal,high", "--seeds", "2", "--steps", "40", "--quiet"]
    dbs = {backend: tmp_path / f"{backend}.db" for backend in ("local", "ray")}
    for backend, db in dbs.items():
        code, out, err = cli(capsys, *args, "--db", str(db), "--backend", backend, "--workers", "2")
        assert code == 0, err
        assert "8 run now (8 ok, 0 diverged, 0 failed)" in out, out
    local, on_ray = _rows(dbs["local"]), _rows(dbs["ray"])
    assert set(local) == set(on_ray) and len(local) == 8
    for key, row in local.items():
        assert (row.seed, row.final_loss, row.train_losses) == (
            on_ray[key].seed,
            on_ray[key].final_loss,
            on_ray[key].train_losses,
        )
    for backend, db in dbs.items():  # a rerun of either runs nothing new
        code, out, err = cli(capsys, *args, "--db", str(db), "--backend", backend)
        assert code == 0 and "8 trials: 8 already in" in out and "0 run now" in out, (out, err)
    assert _rows(dbs["local"]) == local and _rows(dbs["ray"]) == on_ray


# ------------------------------------------------------------------------------------------ SIGKILL


def _in_group(group: int) -> list[int]:
    """Live processes of a process group (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] != "Z":
                found.append(int(entry))
    return found


def test_sigkill_of_a_ray_driver_then_a_rerun_stores_every_trial_once(ray_cluster: str, tmp_path: Path) -> None:
    """A `lab run --backend ray --address` driver killed part way; the rerun loses nothing and repeats nothing."""
    db = tmp_path / "lab.db"
    warmups = ["none", "linear(5)", "cosine(5)"]
    rates = [0.05, 0.1, 0.2, 0.4]
    argv = ["lab", "run", "--task", "mlp", "--lr", ",".join(map(str, rates)), "--seeds", "2", "--steps", "30"]
    argv += [item for w in warmups for item in ("--warmup", w)]
    argv += ["--db", str(db), "--backend", "ray", "--address", ray_cluster, "--quiet"]
    planned = plan_trials("mlp", warmups, rates, 2, steps=30)
    proc = start_sweep_and_kill_it(argv, db)
    for pid in _in_group(proc.pid):  # whatever the killed driver left behind in its session
        os.kill(pid, signal.SIGKILL)
    before = _rows(db)
    assert 3 <= len(before) < len(planned)
    assert all(row.runs == 1 and row.status == "ok" for row in before.values())

    summary = run_sweep(planned, db, backend="ray", progress=False)
    assert summary.skipped == len(before) and summary.ran == len(planned) - len(before)
    after = _rows(db)
    assert set(after) == {config.key for config in planned}
    assert all(row.runs == 1 and row.status == "ok" for row in after.values())
    for key, row in before.items():  # nothing finished was lost or rewritten
        assert (after[key].finished_at, after[key].final_loss) == (row.finished_at, row.final_loss)
    with Store(db) as store:
        assert store.leases() == []
    assert run_sweep(planned, db, backend="ray", progress=False).ran == 0
