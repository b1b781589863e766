"""Your own task in the lab (issue 14): ``--task path/to/file.py:NAME`` and ``--task package.module:NAME``.

The trials are short (20 steps of ``examples/lab_task.py``, a fraction of a second each).
"""

from __future__ import annotations

import shutil
import sqlite3
import textwrap
from pathlib import Path

import pytest
import torch
from cli_helpers import run_cli as cli

import rampup
from rampup.lab import Store, get_task, plan_trials, run_sweep, run_trial
from rampup.lab.custom import LabTask, resolve_task, result_from, stored_name

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "lab_task.py"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the example (so a test may edit it), in a folder of its own."""
    folder = tmp_path / "mine"
    folder.mkdir()
    return Path(shutil.copy(EXAMPLE, folder / "lab_task.py"))


# ------------------------------------------------------------------------------------------ references


def test_a_file_reference_resolves_to_a_task_named_by_its_digest(example: Path) -> None:
    task = get_task(f"{example}:TASK")
    assert task.kind == "custom" and task.steps == 300 and task.high_lr == 0.05
    reference, digest = task.name.rsplit("@", 1)
    assert reference == f"{example}:TASK" and len(digest) == 12
    assert get_task(task.name) == task  # the stored name resolves to the same task
    assert task.data["file_sha256"].startswith(digest)
    assert get_task(f"{example}:OWN").name.endswith(f":OWN@{digest}")


def test_the_key_holds_the_reference_and_changes_with_the_file(example: Path) -> None:
    before = plan_trials(f"{example}:TASK", ["none"], [0.01], [0], steps=20)[0]
    assert before.key == plan_trials(f"{example}:TASK", ["none"], [0.01], [0], steps=20)[0].key
    assert before.key != plan_trials(f"{example}:OWN", ["none"], [0.01], [0], steps=20)[0].key
    example.write_text(example.read_text() + "\n# an edit\n")
    after = plan_trials(f"{example}:TASK", ["none"], [0.01], [0], steps=20)[0]
    assert after.key != before.key and after.task != before.task
    # a trial planned before the edit is not run with the edited code
    stale = run_trial(before)
    assert stale.status == "failed" and stale.error is not None and "changed since" in stale.error


def test_rampups_loop_and_your_own_loop_give_the_same_trial(example: Path) -> None:
    """Same seed: same initial weights and batches, so TASK (rampup's loop) and OWN (the file's) agree."""
    for warmup in ("none", "linear(25%)"):
        ours = run_trial(plan_trials(f"{example}:TASK", [warmup], [0.05], [1], steps=20)[0])
        theirs = run_trial(plan_trials(f"{example}:OWN", [warmup], [0.05], [1], steps=20)[0])
        assert ours.status == theirs.status == "ok", (ours.error, theirs.error)
        assert ours.final_loss == pytest.approx(theirs.final_loss, rel=1e-6)
        assert ours.train_losses == pytest.approx(theirs.train_losses, rel=1e-6)
        assert theirs.max_grad_norm == pytest.approx(ours.max_grad_norm, rel=1e-4)
        assert theirs.warmup_steps == ours.warmup_steps and theirs.flags == ours.flags


def test_cli_sweep_of_the_example_in_spawned_workers_resumes_and_reports(
    example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(example.parent)  # a relative reference, as a user types it
    db = str(tmp_path / "lab.db")
    args = ["lab", "run", "--task", "lab_task.py:TASK", "--warmup", "none", "--warmup", "advisor"]
    args += ["--lr", "normal,high", "--seeds", "2", "--steps", "20", "--db", db, "--quiet"]
    code, out, err = cli(capsys, *args, "--workers", "2")
    assert code == 0, err
    assert "8 run now" in out and "0 failed" in out
    code, out, _ = cli(capsys, *args, "--workers", "1")
    assert code == 0 and "8 already in" in out and "0 run now" in out
    with Store(db) as store:
        rows = store.rows()
    assert len(rows) == 8 and all(row.runs == 1 and row.status != "failed" for row in rows)
    name = rows[0].task
    assert name.startswith("lab_task.py:TASK@")
    code, out, err = cli(capsys, "lab", "report", "--db", db, "--task", "lab_task.py:TASK", "-o", str(tmp_path / "r"))
    assert code == 0, err
    html = (tmp_path / "r" / "summary.html").read_text()
    assert "lab_task.py:TASK@" in html and html.count("data:image/png;base64,") == 2
    assert {p.name for p in (tmp_path / "r").glob("*.png")} == {
        f"{name.replace(':', '_').replace('@', '_')}-loss-curves.png",
        f"{name.replace(':', '_').replace('@', '_')}-final-vs-lr.png",
    }


def test_a_package_module_reference_with_a_plain_train_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    package = tmp_path / "site" / "mytasks"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "toy.py").write_text(
        textwrap.dedent(
            """
            import math

            from rampup.schedule import as_schedule


            def train(trial):
                # a 'model' with one weight: the loss falls with the rate the schedule gives each step
                schedule = as_schedule(trial.schedule)
                loss, losses = 2.0, []
                for step in range(trial.steps):
                    losses.append(loss)
                    loss *= 1 - min(0.5, trial.peak_lr * schedule(step))
                return {"initial_loss": 2.0, "final_loss": loss, "train_losses": losses}
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))  # the spawned workers get the same sys.path
    db = str(tmp_path / "lab.db")
    base = ["lab", "run", "--task", "mytasks.toy:train", "--warmup", "none", "--warmup", "linear(5)", "--lr", "0.1"]
    code, _, err = cli(capsys, *base, "--db", db, "--quiet")
    assert code == 2 and err.startswith("error: --steps") and err.count("\n") == 1
    assert not Path(db).exists()
    code, out, err = cli(capsys, *base, "--steps", "20", "--seeds", "2", "--workers", "2", "--db", db, "--quiet")
    assert code == 0, err
    assert "4 run now (4 ok" in out
    with Store(db) as store:
        rows = {(row.warmup, row.seed): row for row in store.rows()}
    expected = 2.0
    for step in range(20):
        expected *= 1 - 0.1 * rampup.as_schedule(rows[("none", 0)].schedule)(step)
    assert rows[("none", 0)].final_loss == pytest.approx(expected, rel=1e-12)
    assert rows[("none", 0)].final_loss < rows[("linear(5)", 0)].final_loss < 2.0
    assert rows[("none", 0)].task.startswith("mytasks.toy:train@")
    assert rows[("none", 0)].spikes == 0 and rows[("none", 0)].warmup_steps == 0


def test_result_from_judges_what_your_loop_returns_like_rampups_loop() -> None:
    trial = plan_trials("mlp", ["linear(5)"], [0.1], [0], steps=20)[0]
    good = result_from(trial, {"initial_loss": 2.3, "final_loss": 1.0, "train_losses": [2.0] * 20})
    assert good.status == "ok" and good.warmup_steps == 5 and good.eval_losses == [2.3, 1.0]
    assert result_from(trial, {"initial_loss": 2.3, "final_loss": 2.5}).status == "diverged"
    assert result_from(trial, {"initial_loss": 2.3, "final_loss": float("nan")}).final_loss is None
    assert result_from(trial, {"initial_loss": 2.3, "final_loss": 1.0, "diverged": True}).diverged
    for bad in (1.0, {"final_loss": 1.0}, {"initial_loss": 2, "final_loss": "low"}):
        with pytest.raises(TypeError, match="train\\(trial\\) returned"):
            result_from(trial, bad)


def test_a_train_function_that_raises_in_a_trial_is_a_failed_trial(tmp_path: Path) -> None:
    module = tmp_path / "boom.py"
    module.write_text("def train(trial):\n    raise RuntimeError('out of batteries')\n")
    trials = plan_trials(f"{module}:train", ["none"], [0.1], [0], steps=10)
    summary = run_sweep(trials, tmp_path / "lab.db", workers=1, progress=False)
    assert summary.failed == 1
    with Store(tmp_path / "lab.db") as store:
        (row,) = store.rows()
    assert row.error is not None and "out of batteries" in row.error


def test_lab_task_validation() -> None:
    assert LabTask(data=dict).problems() == []
    assert "exactly one" in LabTask().problems()[0]
    assert "exactly one" in LabTask(data=dict, train=print).problems()[0]
    assert any("batch" in p for p in LabTask(data=dict, batch=0).problems())


def test_stored_name_picks_the_version(tmp_path: Path) -> None:
    names = {"a.py:T@111111111111", "a.py:T@222222222222", "mlp"}
    assert stored_name("a.py:T@2222", names) == "a.py:T@222222222222"
    with pytest.raises(rampup.RampupError, match="versions"):
        stored_name("a.py:T", names)  # the file is gone and two versions are stored
    assert stored_name("a.py:T", {"a.py:T@111111111111"}) == "a.py:T@111111111111"
    with pytest.raises(rampup.RampupError, match="--task"):
        stored_name("b.py:T", names)


# ------------------------------------------------------------------------------------------ bad input


BAD_FILES = {
    "raises_on_import.py": "raise RuntimeError('no GPU here')\n",
    "wrong_kind.py": "TASK = 42\n",
    "class_not_task.py": "class TASK:\n    pass\n",
    "two_arguments.py": "def TASK(trial, extra):\n    return {}\n",
    "invalid_task.py": "from rampup.lab.custom import LabTask\nTASK = LabTask(steps=20)\n",
    "data_raises.py": textwrap.dedent(
        """
        from rampup.lab.custom import LabTask

        class Data:
            def __init__(self, trial):
                raise ValueError('the data set is not where it should be')

        TASK = LabTask(data=Data, steps=20, normal_lr=0.1, high_lr=1.0)
        """
    ),
    "model_raises.py": textwrap.dedent(
        """
        import torch
        from rampup.lab.custom import LabTask

        class Data:
            eval_x = torch.zeros(4, 3)
            eval_y = torch.zeros(4, dtype=torch.long)

            def __init__(self, trial):
                pass

            def batch(self, rng, size):
                return self.eval_x, self.eval_y

            def model(self, trial):
                return torch.nn.Linear(5, 2)  # wrong input size: the loss raises

            def loss(self, model, x, y):
                return torch.nn.functional.cross_entropy(model(x), y)

        TASK = LabTask(data=Data, steps=20, normal_lr=0.1, high_lr=1.0)
        """
    ),
    "not_task_data.py": "from rampup.lab.custom import LabTask\nTASK = LabTask(data=lambda t: object(), steps=20)\n",
}


@pytest.mark.parametrize(
    ("reference", "words"),
    [
        ("missing.py:TASK", "no such file"),
        ("no_such_package.module:TASK", "no_such_package"),
        ("raises_on_import.py:TASK", "no GPU here"),
        ("wrong_kind.py:TASK", "is a int"),
        ("class_not_task.py:TASK", "is a type"),
        ("two_arguments.py:TASK", "one argument"),
        ("wrong_kind.py:MISSING", "defines no 'MISSING'"),
        ("invalid_task.py:TASK", "exactly one of data="),
        ("data_raises.py:TASK", "not where it should be"),
        ("model_raises.py:TASK", "loss(model, x, y) raised RuntimeError"),
        ("not_task_data.py:TASK", "it has no batch"),
        ("wrong_kind.py:", "NAME after"),
        ("mlp:TASK", "built-in task"),
    ],
)
def test_bad_task_is_one_error_line_exit_2_and_the_database_untouched(
    reference: str,
    words: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, text in BAD_FILES.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "lab.db"
    run_sweep(plan_trials("mlp", ["none"], [0.1], [0], steps=10), db, workers=1, progress=False)
    before = db.read_bytes()
    args = ["lab", "run", "--task", reference, "--warmup", "none", "--lr", "0.1", "--steps", "20"]
    code, out, err = cli(capsys, *args, "--db", str(db), "--quiet")
    assert code == 2 and out == ""
    assert err.startswith("error: --task: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert words in err, err
    assert db.read_bytes() == before
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM trials").fetchone()[0] == 1
    code, _, err = cli(capsys, "find", "--task", reference, "--lr", "0.1", "--steps", "20", "--quiet")
    assert code == 2 and err.startswith("error: --task: ") and err.count("\n") == 1


def test_find_needs_a_task_that_builds_its_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "find", "--task", f"{EXAMPLE}:OWN", "--quiet")
    assert code == 2 and err.startswith("error: --task") and "data= builder" in err


def test_rates_normal_and_high_need_the_task_to_set_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = tmp_path / "plain.py"
    module.write_text("def train(trial):\n    return {'initial_loss': 1, 'final_loss': 0.5}\n")
    args = ["lab", "run", "--task", f"{module}:train", "--warmup", "none", "--lr", "high", "--steps", "10"]
    code, _, err = cli(capsys, *args, "--db", str(tmp_path / "x.db"), "--quiet")
    assert code == 2 and err.startswith("error: --lr") and "high_lr" in err
    assert not (tmp_path / "x.db").exists()


def test_find_on_your_own_task(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "find", "--task", f"{EXAMPLE}:TASK", "--steps", "100", "--quiet", "--json")
    assert code == 0, err
    assert '"schedule"' in out and '"peak_lr": 0.05' in out  # the task's high_lr


def test_the_monitor_cannot_drive_your_own_loop() -> None:
    with pytest.raises(rampup.RampupError, match="--monitor"):
        plan_trials(f"{EXAMPLE}:OWN", ["none"], [0.01], [0], steps=20, monitor="hold")
    held = plan_trials(f"{EXAMPLE}:TASK", ["none"], [0.05], [0], steps=20, monitor="hold")[0]
    assert held.warmup == "none+hold" and run_trial(held).status == "ok"


def test_resolve_task_caches_the_import(example: Path) -> None:
    first = resolve_task(f"{example}:TASK")
    again = resolve_task(f"{example}:TASK")
    assert first.lab_task is again.lab_task


def test_a_task_can_bring_its_own_optimizer(tmp_path: Path) -> None:
    source = tmp_path / "nesterov_task.py"
    source.write_text(
        "import torch\n"
        "from examples_lab_task import SETTINGS, Teacher\n"
        "from rampup.lab import LabTask\n"
        "class WithNesterov(Teacher):\n"
        "    def optimizer(self, model, trial):\n"
        "        return torch.optim.SGD(model.parameters(), lr=trial.peak_lr, momentum=0.9, nesterov=True)\n"
        "TASK = LabTask(title='nesterov', steps=12, batch=64, normal_lr=0.05, data=WithNesterov, model=SETTINGS)\n",
        encoding="utf-8",
    )
    example = Path(__file__).resolve().parents[1] / "examples" / "lab_task.py"
    (tmp_path / "examples_lab_task.py").write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    from rampup.lab.data import task_data
    from rampup.lab.train import optimizer_for

    trial = plan_trials(f"{source}:TASK", ["none"], [0.05], [0])[0]
    data = task_data(trial)
    optimizer = optimizer_for(data, trial, data.model(trial))
    assert isinstance(optimizer, torch.optim.SGD) and optimizer.defaults["nesterov"]
    assert run_trial(trial).status == "ok"


# ------------------------------------------------------------------------------------------ the outside checks


@pytest.mark.parametrize("name", ["VIT", "GRU"])
def test_the_outside_tasks_train_paired_and_ask_the_advisor_as_described(name: str) -> None:
    """examples/outside_tasks.py (docs/advisor.md's check of the cap from scratch): each runs in the
    lab, is deterministic per seed, and its optimizer keeps weight decay off biases and norms."""
    reference = f"{REPO / 'examples' / 'outside_tasks.py'}:{name}"
    task = get_task(reference)
    trial = plan_trials(reference, ["linear(25%)"], [task.high_lr], [0], steps=10)[0]
    first, again = run_trial(trial), run_trial(trial)
    assert first.status == again.status == "ok", first.error
    assert first.train_losses == again.train_losses and first.final_loss == again.final_loss
    assert first.final_loss < first.initial_loss  # 10 steps already learn something
    advisor = plan_trials(reference, ["advisor"], [task.high_lr], [0])[0]
    assert advisor.schedule.startswith("linear(150) -> ")  # half of 300 steps: the cap from scratch
    build = resolve_task(reference).lab_task.data
    assert build is not None
    data = build(trial)
    model = data.model(trial)
    decayed, plain = data.optimizer(model, trial).param_groups
    assert decayed["weight_decay"] > 0 and plain["weight_decay"] == 0
    assert all(p.ndim >= 2 for p in decayed["params"]) and any(p.ndim < 2 for p in plain["params"])
