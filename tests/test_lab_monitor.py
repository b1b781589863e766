"""The monitor inside the lab: flags recorded on every trial, ``--monitor hold`` trials, older databases,
and the catch / false-alarm scoring of a sweep (rampup.lab.monitoring)."""

from __future__ import annotations

import dataclasses
import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from lab_rows import trial_row

from rampup import RampupError
from rampup.cli import main
from rampup.lab import Store, plan_trials, run_sweep, run_trial
from rampup.lab.monitoring import (
    CATCH_BEFORE,
    catch_before,
    leave_one_task_out,
    misses,
    monitor_cells,
    replay,
    replay_flags,
    score,
    score_by_task,
)
from rampup.lab.report import write_report


def test_hold_trials_are_labelled_and_keep_the_other_keys() -> None:
    plain = plan_trials("mlp", ["linear(10%)"], [4.0], [0], steps=30)[0]
    held = plan_trials("mlp", ["linear(10%)"], [4.0], [0], steps=30, monitor="hold")[0]
    assert plain.monitor is None and "monitor" not in plain.to_dict()  # keys of unmonitored trials unchanged
    assert held.warmup == "linear(10%)+hold" and held.monitor == "hold"
    assert held.key != plain.key
    assert dataclasses.replace(held, warmup=plain.warmup, monitor=None).key == plain.key
    with pytest.raises(RampupError) as error:
        plan_trials("mlp", ["none"], [4.0], [0], monitor="stop")
    assert error.value.field == "--monitor"


def test_every_trial_records_the_flags_and_hold_changes_the_run(tmp_path: Path) -> None:
    plain_config = plan_trials("mlp", ["linear(5%)"], [8.0], [0], steps=60)[0]
    plain = run_trial(plain_config)
    held = run_trial(plan_trials("mlp", ["linear(5%)"], [8.0], [0], steps=60, monitor="hold")[0])
    assert plain.status == held.status == "ok" or plain.status in ("ok", "diverged")
    assert isinstance(plain.flags, list)
    assert plain.ramp_done_at == 3  # observing only: the planned 3-step ramp
    if plain.flags:  # then hold reacted to the same first flag, and its run differs from there on
        first = plain.flags[0]["step"]
        assert held.flags[0]["step"] == first
        assert held.train_losses[: first + 1] == plain.train_losses[: first + 1]
        if held.ramp_done_at != 3:  # hold acted (within its budget of the planned total): the run changed
            assert held.train_losses[first + 1 :] != plain.train_losses[first + 1 :]
    with Store(tmp_path / "lab.db") as store:
        store.record(plain)
        (row,) = store.rows()
    assert row.flags == plain.flags
    assert row.ramp_done_at == plain.ramp_done_at


_OLD_SCHEMA = """CREATE TABLE trials (key TEXT PRIMARY KEY, task TEXT NOT NULL, warmup TEXT NOT NULL,
schedule TEXT NOT NULL, peak_lr REAL NOT NULL, seed INTEGER NOT NULL, steps INTEGER NOT NULL, status TEXT NOT NULL,
diverged INTEGER NOT NULL, initial_loss REAL, final_loss REAL, spikes INTEGER, max_grad_norm REAL,
warmup_steps INTEGER, wall_s REAL, train_losses TEXT, eval_steps TEXT, eval_losses TEXT, config TEXT NOT NULL,
error TEXT, runs INTEGER NOT NULL DEFAULT 1, finished_at TEXT NOT NULL)"""


def test_a_database_from_before_the_monitor_still_reads_and_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    config = plan_trials("mlp", ["none"], [0.1], [0], steps=10)[0]
    db = sqlite3.connect(path)
    db.execute(_OLD_SCHEMA)
    db.execute(
        "INSERT INTO trials VALUES (?, 'mlp', 'none', ?, 0.1, 0, 10, 'ok', 0, 2.3, 1.1, 0, 1.0, 0, 0.5, "
        "'[]', '[]', '[]', ?, NULL, 1, 'then')",
        (config.key, config.schedule, __import__("json").dumps(config.to_dict())),
    )
    db.commit()
    db.close()
    with Store(path, readonly=True) as store:  # read-only: the missing columns read as NULL
        (row,) = store.rows()
    assert row.flags is None and row.final_loss == 1.1
    with Store(path) as store:  # writable: the columns are added, the old row kept
        assert store.finished_keys() == {config.key}
        store.record(run_trial(plan_trials("mlp", ["none"], [0.1], [1], steps=10)[0]))
        rows = store.rows()
    assert [row.flags is None for row in rows] == [True, False]


def test_catch_and_false_alarm_rates() -> None:
    rows = [
        trial_row("linear(50%)", 0.02, 0, 2.30, flags=[]),  # best of seed 0: good, quiet
        trial_row("linear(50%)", 0.02, 1, 2.30, flags=[24]),  # best of seed 1: good, flagged: a false alarm
        trial_row("linear(25%)", 0.02, 1, 2.34, flags=[]),  # 1.7% above: good
        trial_row("linear(5%)", 0.02, 0, 2.37, flags=[11]),  # 3% above: neither failed nor good
        trial_row("none", 0.02, 0, 3.10, flags=[8]),  # failed, caught before step 50
        trial_row("none", 0.02, 1, 3.12, flags=[CATCH_BEFORE]),  # failed, flagged too late
        trial_row("none", 0.02, 2, 4.00, flags=[], diverged=True),  # failed, missed
        trial_row("none", 0.003, 0, 2.30, flags=[40]),  # best at 0.003: good, flagged
    ]
    result = score(rows)
    assert (result.failed, result.caught, result.good, result.false_alarms) == (3, 1, 4, 2)
    assert result.stable == result.good
    assert result.catch_rate == pytest.approx(1 / 3)
    assert result.false_alarm_rate == pytest.approx(2 / 4)
    assert result.false_alarms_by_kind["grad-blowup"] == 1 and result.false_alarms_by_kind["grad-collapse"] == 1
    assert result.median_first_flag == pytest.approx((8 + CATCH_BEFORE) / 2)
    assert "caught 1 of 3 failed runs before step min(50, 15% of the run)" in result.line()
    held = dataclasses.replace(rows[4], config=dataclasses.replace(rows[4].config, monitor="hold"))
    assert score([*rows[:4], held, *rows[5:]]).failed == 2  # hold trials are not judged as unwatched runs
    by_cell = {(cell.warmup, cell.peak_lr): cell for cell in monitor_cells(rows)}
    none = by_cell[("none", 0.02)]
    assert none.flagged == 2 and none.first_steps == (8, CATCH_BEFORE, None)
    assert none.outcomes == ("failed", "failed", "failed")
    assert catch_before(400) == 50 and catch_before(200) == 30 and catch_before(101) == 16
    per_task = score_by_task(rows)
    assert per_task["all"] == per_task["postln"]


def test_misses_say_how_far_each_uncaught_run_failed_and_when_its_ramp_reached_the_peak() -> None:
    rows = [
        trial_row("linear(50%)", 0.02, 0, 2.30, flags=[], schedule="linear(200) -> cosine(200)"),
        trial_row("none", 0.02, 0, 3.10, flags=[8], schedule="cosine(400)"),  # caught: not a miss
        trial_row("linear(10%)", 0.02, 0, 2.53, flags=[], schedule="linear(40) -> cosine(360)"),
        trial_row("linear(25%)", 0.02, 0, 2.45, flags=[84], schedule="linear(100) -> cosine(300)"),
        trial_row("linear(5%)", 0.02, 0, 9.0, flags=[], diverged=True, schedule="linear(20) -> cosine(380)"),
    ]
    found = misses(rows)
    assert [(m.warmup, m.first_flag, m.first_kind, m.ramp_ends, m.deadline) for m in found] == [
        ("linear(10%)", None, None, 40, 50),
        ("linear(25%)", 84, "grad-collapse", 100, 50),
        ("linear(5%)", None, None, 20, 50),
    ]
    assert found[0].above_best == pytest.approx(0.1) and found[2].above_best is None  # diverged
    assert [m.ramp_after_deadline for m in found] == [False, True, False]


def test_the_reference_is_the_best_of_the_grid_and_other_warmups_are_judged_against_it() -> None:
    rows = [
        trial_row("linear(50%)", 0.02, 0, 2.30, flags=[]),
        trial_row("advisor", 0.02, 0, 2.00, flags=[]),  # better than the grid: good, but not the reference
        trial_row("linear(5%)", 0.02, 0, 2.40, flags=[9]),  # 4.3% above the grid's best: neither
        trial_row("advisor", 0.02, 1, 2.30, flags=[]),  # no grid run for seed 1: the plain runs are the grid
        trial_row("short", 0.02, 1, 2.50, flags=[9]),
    ]
    result = score(rows)
    assert (result.failed, result.caught, result.good, result.false_alarms) == (1, 1, 3, 0)


def test_replay_reruns_any_monitor_over_a_stored_trial() -> None:
    rng = np.random.default_rng(0)
    losses = [max(3.1, 4.6 - 0.3 * step) * math.exp(rng.normal(0, 0.03)) for step in range(100)]
    norms = [1.5 if step < 6 else 0.4 for step in range(100)]
    row = dataclasses.replace(
        trial_row("none", 0.02, 0, 3.1), schedule="cosine(400, to=0.1)", train_losses=losses, grad_norms=norms
    )
    flags = replay_flags(row)
    assert flags and flags[0]["kind"] in ("grad-collapse", "loss-stall") and flags[0]["step"] < 50
    assert replay_flags(row, grad_collapse=None, stall_rate=None) == []
    monitor = replay(row, action="hold")
    assert monitor.episodes and monitor.step == 100
    nan_row = dataclasses.replace(row, train_losses=[*losses[:10], None], grad_norms=None)
    assert replay_flags(nan_row)[-1]["kind"] == "non-finite"
    chosen = leave_one_task_out([row], [{}, {"stall_rate": None, "grad_collapse": None}])
    assert set(chosen) == {"postln"}


def test_report_has_the_monitor_section(tmp_path: Path) -> None:
    rows = [trial_row("linear(50%)", 0.02, 0, 2.30, flags=[]), trial_row("none", 0.02, 0, 3.1, flags=[8])]
    write_report(rows, tmp_path, figures=False)
    text = (tmp_path / "summary.md").read_text()
    assert "## What the monitor flagged" in text
    assert "| postln | 0.02 | none | 1/1 | 8 | grad-blowup | failed | - |" in text
    assert "caught 1 of 1 failed runs" in text


def test_cli_lab_run_with_hold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "lab.db"
    argv = ["lab", "run", "--task", "mlp", "--warmup", "linear(5%)", "--lr", "4", "--steps", "20"]
    assert main([*argv, "--monitor", "hold", "--db", str(db), "--workers", "1", "--quiet"]) is None
    out, _ = capsys.readouterr()
    assert "linear(5%)+hold" in out
    assert "monitor: caught" in out
    with pytest.raises(SystemExit) as caught:
        main([*argv, "--monitor", "pause", "--db", str(db)])
    assert caught.value.code == 2
    assert capsys.readouterr().err.startswith("error: --monitor: got 'pause'")
    summary = run_sweep(plan_trials("mlp", ["linear(5%)"], [4.0], 1, steps=20, monitor="hold"), db, progress=False)
    assert summary.ran == 0  # the same trial, already finished


def test_on_postln_the_monitor_catches_no_warmup_early_and_hold_reacts_in_time_within_its_budget(
    tmp_path: Path,
) -> None:
    """What the monitor does on seed 0 at the task's full length and high rate (docs/monitor.md, "Hold
    the ramp"): no warmup is flagged before step 50; on linear(5%), hold backs off at the gradient drop
    (step 11, before the collapse is confirmed) within its budget of 10% of the planned total rate, and the
    held run ends no worse than the plain one. That budget is too small to rescue the run: the re-ramp it
    allows reaches the peak again by about step 36 and Post-LN collapses anyway, so the rescue (at least
    half of the gap to the best warmup) is not asserted, and the gap is checked to stay open."""
    db = tmp_path / "lab.db"
    plain = plan_trials("postln", ["none", "linear(5%)", "linear(50%)"], [0.02], [0])
    held = plan_trials("postln", ["linear(5%)"], [0.02], [0], monitor="hold")
    summary = run_sweep([*plain, *held], db, workers=2, progress=False)
    assert summary.failed == 0
    with Store(db) as store:
        rows = {row.warmup: row for row in store.rows()}
    assert rows["none"].flags and rows["none"].flags[0]["step"] < CATCH_BEFORE
    monitor = replay(rows["linear(5%)"], action="hold")  # the held trial's monitor saw these until it acted
    (first, *_) = monitor.episodes
    assert first.kind == "grad-drop" and first.step <= 12
    assert monitor.held_back <= 0.1 * monitor.planned_total + 1e-9
    short, rescued, best = (rows[w].final_loss for w in ("linear(5%)", "linear(5%)+hold", "linear(50%)"))
    assert short is not None and rescued is not None and best is not None
    assert short - best > 0.3  # the short warmup failed
    assert rescued <= short + 0.01  # holding did not hurt
    assert rescued - best > 0.3  # ...but within 10% of the planned rate it does not rescue Post-LN
