"""The warmup lab: trials, resumable sweeps, metrics, report, demo and the lab's command line.

Every training run here is tiny (10-30 steps) so that the whole file runs in about a minute, except
one pair of full-length Post-LN trials that checks the calibrated effect on one seed.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_cli as cli
from lab_rows import start_sweep_and_kill_it, trial_row

import rampup
from rampup.lab import (
    TASKS,
    Store,
    TrialConfig,
    TrialResult,
    get_task,
    plan_trials,
    run_sweep,
    run_trial,
    schedule_for,
)
from rampup.lab.demo import CLEAR_GAP, run_demo, verdict
from rampup.lab.metrics import cells, clamped_final, lr_sensitivity, summarize
from rampup.lab.report import write_report
from rampup.lab.train import count_spikes, lr_trace

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------ tasks, specs


def test_builtin_tasks_and_unknown_task() -> None:
    assert {"postln", "preln", "mlp"} <= set(TASKS)
    assert TASKS["postln"].model["norm"] == "post" and TASKS["preln"].model["norm"] == "pre"
    assert TASKS["postln"].high_lr > TASKS["postln"].normal_lr > 0
    with pytest.raises(rampup.RampupError, match="postln"):
        get_task("gpt5")


def test_warmup_convention_every_warmup_is_followed_by_the_same_decay() -> None:
    task = get_task("postln")
    assert str(schedule_for(task, "none", 400)) == "cosine(400, to=0.1)"
    assert str(schedule_for(task, "linear(5%)", 400)) == "linear(20) -> cosine(380, to=0.1)"
    assert str(schedule_for(task, "exponential(50)", 400)) == "exponential(50) -> cosine(350, to=0.1)"
    # the advisor's warmup for a 400-step Post-LN Adam(beta2=0.98) pretraining run, then the task's decay
    advisor = schedule_for(task, "advisor", 400)
    expected = rampup.recommend(
        total_steps=400, regime="pretrain", architecture="post-ln", optimizer="adam", betas=(0.9, 0.98)
    ).warmup_steps
    assert advisor.warmup_steps == expected > 0
    assert str(advisor) == f"linear({expected}) -> cosine({400 - expected}, to=0.1)"
    # a whole schedule is used as it is
    assert str(schedule_for(task, "linear(10) -> constant", 400)) == "linear(10) -> constant(390)"
    none = schedule_for(task, "none", 400)
    assert none(0) == 1.0 and none.warmup_steps == 0


@pytest.mark.parametrize("bad", ["linaer(10)", "linear(10", "cosine(10, to=0.5)", "", "linear(500)"])
def test_bad_warmup_spec_is_a_rampup_error(bad: str) -> None:
    with pytest.raises(rampup.RampupError):
        plan_trials("postln", [bad], [0.01], 1, steps=400)


@pytest.mark.parametrize("lr", [0.0, -0.1, math.nan, math.inf])
def test_bad_rates_are_rejected_before_anything_runs(lr: float) -> None:
    with pytest.raises(rampup.RampupError, match="--lr"):
        plan_trials("mlp", ["none"], [lr], 1)


def test_bad_seeds_steps_workers_beta2() -> None:
    with pytest.raises(rampup.RampupError, match="--seeds"):
        plan_trials("mlp", ["none"], [0.1], 0)
    with pytest.raises(rampup.RampupError, match="--steps"):
        plan_trials("mlp", ["none"], [0.1], 1, steps=3)
    with pytest.raises(rampup.RampupError, match="--beta2"):
        plan_trials("postln", ["none"], [0.1], 1, beta2=1.5)
    with pytest.raises(rampup.RampupError, match="--beta2"):
        plan_trials("mlp", ["none"], [0.1], 1, beta2=0.99)
    with pytest.raises(rampup.RampupError, match="--workers"):
        run_sweep([], ":memory:", workers=0)


def test_trial_key_is_a_hash_of_the_whole_config() -> None:
    a, b = plan_trials("mlp", ["none"], [0.1, 0.2], 1, steps=10)
    assert a.key != b.key and len(a.key) == 20
    again = plan_trials("mlp", ["none"], [0.1], 1, steps=10)[0]
    assert again.key == a.key
    assert TrialConfig.from_dict(a.to_dict()) == a
    assert dataclasses.replace(a, seed=1).key != a.key
    assert (
        plan_trials("postln", ["none"], [0.1], 1, beta2=0.99)[0].key != plan_trials("postln", ["none"], [0.1], 1)[0].key
    )


def test_spikes_are_counted_on_the_smoothed_loss() -> None:
    assert count_spikes([3.0] * 50, 50) == 0
    assert count_spikes([3.0] * 20 + [6.0] * 10 + [3.0] * 20, 50) == 1
    assert count_spikes([3.0] * 20 + [6.0] * 10 + [3.0] * 20, 20) == 0  # outside the window
    assert count_spikes([3.0, 2.0, math.nan], 10) == 1


# ------------------------------------------------------------------------------------------ trials


def test_trial_is_deterministic_for_a_seed_and_uses_the_engine_rates() -> None:
    config = plan_trials("postln", ["advisor"], [0.01], 2, steps=12)
    first, again, other = run_trial(config[0]), run_trial(config[0]), run_trial(config[1])
    assert first.status == "ok", first.error
    assert first.train_losses == again.train_losses and first.final_loss == again.final_loss
    assert other.train_losses != first.train_losses
    assert first.initial_loss is not None and abs(first.initial_loss - math.log(98)) < 0.3
    assert first.max_grad_norm is not None and first.max_grad_norm > 0
    assert len(first.train_losses) == 12 and first.eval_steps[0] == 0 and first.eval_steps[-1] == 12
    # the rate of every step is peak * the engine's multiplier
    schedule = rampup.as_schedule(config[0].schedule)
    expected = [0.01 * schedule(step) for step in range(12)]
    np.testing.assert_allclose(lr_trace(config[0], 12), expected, rtol=1e-12, atol=0)


def test_a_trial_runs_on_one_thread_whatever_the_callers_setting() -> None:
    import torch

    # seed 2 at the high rate: with two threads splitting a step, the loss differs from step 3 on
    config = plan_trials("postln", ["none"], [0.02], [2], steps=10)[0]
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        two = run_trial(config)
        assert torch.get_num_threads() == 2  # the caller's setting is restored
        torch.set_num_threads(1)
        one = run_trial(config)
    finally:
        torch.set_num_threads(threads)
    assert one.status == two.status == "ok", (one.error, two.error)
    assert two.train_losses == one.train_losses and two.final_loss == one.final_loss


def test_postln_at_the_high_rate_needs_the_advisors_warmup(tmp_path: Path) -> None:
    """The must-show claim on seed 0 with the task's full length (docs/lab.md: all 3 seeds, both rates)."""
    task = get_task("postln")
    db = tmp_path / "lab.db"
    summary = run_sweep(plan_trials("postln", ["none", "advisor"], [task.high_lr], [0]), db, workers=2, progress=False)
    assert summary.failed == 0 and summary.ran == 2
    with Store(db) as store:
        rows = {row.warmup: row for row in store.rows()}
    assert rows["advisor"].warmup_steps == 200 and rows["none"].warmup_steps == 0  # half of 400 (docs/advisor.md)
    assert not rows["advisor"].diverged
    gap = clamped_final(rows["none"]) - clamped_final(rows["advisor"])
    assert gap >= CLEAR_GAP, (rows["none"].final_loss, rows["advisor"].final_loss)


def test_a_trial_that_raises_is_recorded_as_failed_and_the_sweep_goes_on(tmp_path: Path) -> None:
    good = plan_trials("mlp", ["none"], [0.1], 1, steps=10)[0]
    broken = dataclasses.replace(good, model={"width": "wide", "depth": 3})
    db = tmp_path / "lab.db"
    summary = run_sweep([broken, good], db, workers=1, progress=False)
    assert (summary.failed, summary.ok) == (1, 1)
    with Store(db) as store:
        rows = {row.key: row for row in store.rows()}
        assert rows[broken.key].status == "failed" and rows[broken.key].error
        assert rows[good.key].status == "ok"
    # a failed trial is tried again on the next run; the finished one is not
    again = run_sweep([broken, good], db, workers=1, progress=False)
    assert (again.skipped, again.ran) == (1, 1)
    with Store(db) as store:
        runs = {row.key: row.runs for row in store.rows()}
    assert runs == {broken.key: 2, good.key: 1}


@pytest.mark.parametrize("workers", [1, 2])  # in this process, and in the worker pool
def test_divergence_is_recorded_and_never_stops_the_sweep(tmp_path: Path, workers: int) -> None:
    trials = plan_trials("mlp", ["none", "linear(5)"], [0.1, 1e4], 1, steps=12)
    db = tmp_path / "lab.db"
    summary = run_sweep(trials, db, workers=workers, progress=False)
    assert summary.ran == 4 and summary.failed == 0
    with Store(db) as store:
        rows = store.rows()
    assert len(rows) == 4
    for row in rows:
        assert row.diverged == (row.peak_lr == 1e4), row
        assert row.status == ("diverged" if row.diverged else "ok")
    by_cell = {(c.warmup, c.peak_lr): c for c in cells(rows)}
    # a diverged trial counts as its initial loss
    assert by_cell[("none", 1e4)].mean_final == pytest.approx(rows[0].initial_loss, abs=1e-6)
    summaries = {s.warmup: s for s in summarize(rows)}
    assert summaries["none"].divergence_rate == 0.5 and summaries["none"].best_lr == 0.1


def _dies_on_seed_1(config: TrialConfig) -> TrialResult:
    """A trial function for the workers: seed 1 kills its worker outright, as a segfault or the OOM killer would."""
    if config.seed == 1:
        os._exit(9)
    return run_trial(config)


def test_a_worker_that_dies_costs_its_trial_not_the_sweep(tmp_path: Path) -> None:
    from rampup.lab.runner import WORKER_DIED

    trials = plan_trials("mlp", ["none"], [0.1], 4, steps=10)
    db = tmp_path / "lab.db"
    started = time.monotonic()
    summary = run_sweep(trials, db, workers=2, progress=False, trial_fn=_dies_on_seed_1)
    assert time.monotonic() - started < 120  # a plain multiprocessing.Pool would wait here forever
    assert summary.ran == 4
    with Store(db) as store:
        rows = store.rows()
    died = [row for row in rows if row.status == "failed"]
    assert {row.seed for row in died} >= {1}  # the killer, and at most the trial that shared the pool's fate
    assert all(row.error == WORKER_DIED for row in died)
    assert all(row.status == "ok" for row in rows if row not in died) and len(died) <= 2
    again = run_sweep(trials, db, workers=2, progress=False)  # the next run tries the lost ones again
    assert again.ran == len(died) and again.failed == 0


# ------------------------------------------------------------------------------------------ SIGKILL


def _group_alive(group: int) -> list[int]:
    alive = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] != "Z":
                alive.append(int(entry))
    return alive


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc (Linux)")
def test_sigkill_part_way_then_rerun_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    db = tmp_path / "lab.db"
    warmups = ["none", "linear(5)", "cosine(5)"]
    argv = ["lab", "run", "--task", "mlp", "--lr", "0.05,0.1,0.2,0.4", "--seeds", "2", "--steps", "10"]
    argv += [item for w in warmups for item in ("--warmup", w)] + ["--db", str(db), "--workers", "2", "--quiet"]
    planned = plan_trials("mlp", warmups, [0.05, 0.1, 0.2, 0.4], 2, steps=10)
    proc = start_sweep_and_kill_it(argv, db)
    # the workers notice that their parent is gone and exit
    deadline = time.monotonic() + 15
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _group_alive(proc.pid) == []
    with Store(db) as store:
        before = {row.key: row for row in store.rows()}
    assert 3 <= len(before) < len(planned)
    assert all(row.runs == 1 and row.status == "ok" for row in before.values())

    summary = run_sweep(planned, db, workers=1, progress=False)
    assert summary.skipped == len(before) and summary.ran == len(planned) - len(before)
    with Store(db) as store:
        after = {row.key: row for row in store.rows()}
    assert set(after) == {config.key for config in planned}
    assert all(row.runs == 1 for row in after.values())
    for key, row in before.items():  # nothing finished was lost or rewritten
        assert after[key].finished_at == row.finished_at and after[key].final_loss == row.final_loss
    # and a third run has nothing left to do
    assert run_sweep(planned, db, workers=1, progress=False).ran == 0


# ------------------------------------------------------------------------------------------ store, metrics


def test_unwritable_database_paths(tmp_path: Path) -> None:
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    for bad in (afile / "lab.db", tmp_path):
        with pytest.raises(rampup.RampupError, match="--db"):
            Store(bad)
    with pytest.raises(rampup.RampupError, match="--db"):
        Store(tmp_path / "missing.db", readonly=True)


def test_lr_sensitivity_of_wortsman_et_al() -> None:
    # mean over the grid of min(L, L0) minus the best: (2 + 3 + 4.6) / 3 - 2, the 9.0 clamped to L0 = 4.6
    assert lr_sensitivity([2.0, 3.0, 9.0], 4.6) == pytest.approx((2 + 3 + 4.6) / 3 - 2)
    assert lr_sensitivity([2.0, 2.0], 4.6) == 0.0
    assert lr_sensitivity([2.0, math.nan], 4.6) == pytest.approx((2 + 4.6) / 2 - 2)


def test_verdict_says_whether_the_effect_shows() -> None:
    row = trial_row
    rows = [row("none", 0.003, s, 2.30) for s in range(3)] + [row("advisor", 0.003, s, 2.29) for s in range(3)]
    good = [
        *rows,
        *(row("none", 0.02, s, 3.1) for s in range(3)),
        *(row("advisor", 0.02, s, 2.3) for s in range(3)),
    ]
    sentence, shows = verdict(good, 0.003, 0.02)
    assert shows and "all 3 seeds" in sentence
    weak = [
        *rows,
        *(row("none", 0.02, s, 2.4) for s in range(3)),
        *(row("advisor", 0.02, s, 2.3) for s in range(3)),
    ]
    sentence, shows = verdict(weak, 0.003, 0.02)
    assert not shows and "did not show" in sentence


# ------------------------------------------------------------------------------------------ report, demo, CLI


def test_report_writes_tables_and_figures(tmp_path: Path) -> None:
    db = tmp_path / "lab.db"
    run_sweep(plan_trials("mlp", ["none", "advisor"], [0.1, 1e4], 1, steps=10), db, workers=1, progress=False)
    with Store(db) as store:
        paths = write_report(store.rows(), tmp_path / "out")
    names = {p.name for p in paths}
    assert {"summary.md", "summary.html", "mlp-loss-curves.png", "mlp-final-vs-lr.png"} <= names
    for path in paths:
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "out" / "summary.md").read_text()
    assert "| mlp | none |" in md and "lr sensitivity" in md and "1/1" in md
    assert "<table>" in (tmp_path / "out" / "summary.html").read_text()


def test_cli_lab_run_report_and_tasks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "lab", "tasks")
    assert code == 0 and "postln" in out and "Post-LN" in out
    db = str(tmp_path / "lab.db")
    args = ["lab", "run", "--task", "mlp", "--warmup", "none", "--warmup", "linear(3)", "--lr", "normal"]
    code, out, _ = cli(capsys, *args, "--steps", "10", "--db", db, "--workers", "1", "--quiet")
    assert code == 0 and "2 run now" in out and "linear(3) -> cosine(7, to=0.1)" in out
    code, out, _ = cli(capsys, *args, "--steps", "10", "--db", db, "--workers", "1", "--quiet")
    assert code == 0 and "2 already in" in out and "0 run now" in out
    code, out, _ = cli(capsys, "lab", "report", "--db", db, "-o", str(tmp_path / "rep"))
    assert code == 0 and "summary.md" in out and (tmp_path / "rep" / "mlp-final-vs-lr.png").exists()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--task", "nope", "--warmup", "none", "--lr", "0.1"], "--task"),
        (["--task", "mlp", "--warmup", "linear(10", "--lr", "0.1"], "spec"),
        (["--task", "mlp", "--warmup", "none", "--lr", "0"], "--lr"),
        (["--task", "mlp", "--warmup", "none", "--lr", "-1"], "--lr"),
        (["--task", "mlp", "--warmup", "none", "--lr", "fast"], "--lr"),
    ],
)
def test_cli_bad_input_is_one_error_line_and_exit_2(
    args: list[str], field: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = cli(capsys, "lab", "run", *args, "--db", str(tmp_path / "x.db"), "--quiet")
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert field in err


def test_cli_unwritable_db_and_missing_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "f"
    afile.write_text("x")
    code, _, err = cli(
        capsys, "lab", "run", "--task", "mlp", "--warmup", "none", "--lr", "0.1", "--db", str(afile / "x")
    )
    assert code == 2 and err.startswith("error: --db") and err.count("\n") == 1
    code, _, err = cli(capsys, "lab", "report", "--db", str(tmp_path / "none.db"), "-o", str(tmp_path / "r"))
    assert code == 2 and err.startswith("error: --db")


def test_demo_runs_end_to_end_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "demo"
    lines: list[str] = []
    result = run_demo(out_dir, seeds=1, steps=12, workers=1, progress=False, echo=lines.append)
    text = "\n".join(lines)
    assert result.summary.ran == 6 and "verdict: " in text and "advisor" in text and "linear(5%)" in text
    assert (out_dir / "postln-loss-curves.png").exists() and (out_dir / "rampup-lab.db").exists()
    code, out, _ = cli(capsys, "demo", "--steps", "12", "--seeds", "1", "-o", str(out_dir), "--quiet")
    assert code == 0 and "6 already in" in out and "verdict:" in out


def test_a_preset_alias_works_as_a_warmup_as_everywhere() -> None:
    task = get_task("mlp")
    assert schedule_for(task, "noam", 5000) == schedule_for(task, "vaswani", 5000)
    assert schedule_for(task, " Noam ", 5000) == schedule_for(task, "vaswani", 5000)
