"""``rampup export``: every printed snippet is executed against the real library, and its rates are the engine's.

Each test runs the text that ``rampup export`` prints (through the command line)
with ``exec``, in a namespace that holds what the snippet says it expects
(``model``, ``train_dataset``, ``tokenizer``), then drives the optimizer or the
trainer it built and compares every rate with ``peak * schedule(step)``. For the
Trainer snippets the test adds this machine's settings (CPU, no reports, no
checkpoints) next to ``output_dir``; the schedule's arguments are left as printed.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import memory_logger, tiny_llama, trainer_rate_recorder, word_tokenizer

import rampup
import rampup.keras  # selects a Keras backend before Keras loads, when none is configured
from rampup import RampupError
from rampup.cli import main
from rampup.export import TARGETS, export

PEAK = 0.01
TOTAL = 12

BUILTIN = "linear(25%) -> cosine(to=0.1)"  # transformers' cosine_with_min_lr
NO_BUILTIN = "exponential(3) -> constant(2) -> 1-sqrt(to=0.05)"  # no transformers scheduler has this warmup
OPEN_ENDED = "linear(4) -> inverse-sqrt"


def printed(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """What ``rampup export ...`` prints."""
    main(["export", *args])
    out = capsys.readouterr().out
    return out


def run(code: str, **names: Any) -> dict[str, Any]:
    namespace: dict[str, Any] = dict(names)
    exec(compile(code, "<rampup export>", "exec"), namespace)
    return namespace


def engine(spec: str, steps: int, total: int | None = TOTAL) -> np.ndarray:
    return PEAK * rampup.parse(spec).resolve(total_steps=total).values(np.arange(steps))


# --------------------------------------------------------------------------- the command


def test_command_prints_export_for_every_target(capsys: pytest.CaptureFixture[str]) -> None:
    for target in TARGETS:
        text = printed(capsys, BUILTIN, "--to", target, "--total-steps", str(TOTAL), "--peak-lr", str(PEAK))
        assert text == export(BUILTIN, target, total_steps=TOTAL, peak_lr=PEAK)
        assert "linear(3) -> cosine(9, to=0.1)" in text  # the resolved spec, as `rampup values` uses it
        compile(text, "<snippet>", "exec")


def test_bad_input_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["export", BUILTIN, "--to", "jax", "-n", "10"])
    assert exit_info.value.code == 2
    assert (
        capsys.readouterr().err.strip()
        == "error: --to: got 'jax', expected one of torch, hf, trl, lightning, optax, keras"
    )
    with pytest.raises(SystemExit):
        main(["export", NO_BUILTIN, "--to", "hf", "-n", "10", "--strict"])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "warmup is exponential" in err and "RampupTrainer" in err


def test_a_target_that_cannot_express_it_is_never_silently_wrong() -> None:
    for target in ("hf", "trl"):
        code = export(NO_BUILTIN, target, total_steps=TOTAL, peak_lr=PEAK)
        assert "lr_scheduler_type" not in code
        assert "No transformers built-in" in code or "No trl built-in" in code
        assert "warmup is exponential" in code
        assert ("RampupSFTTrainer" if target == "trl" else "RampupTrainer") in code
        with pytest.raises(RampupError, match="RampupTrainer"):
            export(NO_BUILTIN, target, total_steps=TOTAL, strict=True)


def test_default_peak_comes_from_the_preset_else_says_to_set_it() -> None:
    assert "lr=5e-05" in export("bert", "torch", total_steps=100)
    code = export("linear(5) -> constant", "torch")
    assert "lr=0.001" in code and "--peak-lr" in code


def test_export_imports_no_framework() -> None:
    """``rampup export`` loads a framework only for hf/trl (to check the built-in); the core needs none."""
    code = (
        "import sys, rampup, rampup.export, rampup.cli\n"
        "heavy = {'torch', 'transformers', 'trl', 'lightning', 'jax', 'keras', 'optax'} & set(sys.modules)\n"
        "print(sorted(heavy))\n"
        "rampup.export.export('linear(5%) -> cosine', 'optax', total_steps=100)\n"
        "rampup.export.export('linear(5%) -> cosine', 'keras', total_steps=100)\n"
        "print(sorted({'torch', 'transformers', 'jax', 'keras'} & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[:2] == ["[]", "[]"]


@pytest.mark.parametrize(
    ("module", "missing", "extra"),
    [
        ("rampup.hf", "torch", "rampup[hf]"),
        ("rampup.trl", "trl", "rampup[trl]"),
        ("rampup.lightning", "lightning", "rampup[lightning]"),
    ],
)
def test_a_missing_framework_names_its_extra(module: str, missing: str, extra: str) -> None:
    code = (
        f"import sys\nsys.modules[{missing!r}] = None\n"
        f"try:\n    import {module}\nexcept ImportError as error:\n    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert f"pip install '{extra}'" in result.stdout


# --------------------------------------------------------------------------- PyTorch


@pytest.mark.parametrize("spec", [BUILTIN, NO_BUILTIN, OPEN_ENDED, "goyal"])
def test_torch_snippet(capsys: pytest.CaptureFixture[str], spec: str) -> None:
    import torch

    extra = ["--steps-per-epoch", "2"] if spec == "goyal" else []
    code = printed(capsys, spec, "--to", "torch", "-n", str(TOTAL), "--peak-lr", str(PEAK), *extra)
    namespace = run(code, model=torch.nn.Linear(3, 1))
    optimizer, scheduler = namespace["optimizer"], namespace["scheduler"]
    rates = []
    for _ in range(TOTAL + 3):  # and past the end, where the value holds
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    want = PEAK * rampup.as_schedule(spec).resolve(TOTAL, steps_per_epoch=2 if extra else None).values(
        np.arange(TOTAL + 3)
    )
    np.testing.assert_allclose(rates, want, rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------- transformers and TRL


class _Points:
    """A map-style dataset of dicts for a tiny regression model."""

    def __init__(self, size: int) -> None:
        import torch

        generator = torch.Generator().manual_seed(size)
        self.x = torch.randn(size, 3, generator=generator)
        self.y = torch.randn(size, generator=generator)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {"x": self.x[index], "labels": self.y[index]}


def _regression_model() -> Any:
    import torch

    class Regression(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(3, 1)

        def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"loss": torch.nn.functional.mse_loss(self.linear(x).squeeze(-1), labels)}

    torch.manual_seed(0)
    return Regression()


def _on_this_machine(code: str, tmp_path: Path, trl: bool) -> str:
    settings = (
        f'output_dir={str(tmp_path / "out")!r}, use_cpu=True, report_to=[], save_strategy="no", '
        "disable_tqdm=True, dataloader_num_workers=0, per_device_train_batch_size=2,"
    )
    if trl:
        settings += " bf16=False, max_length=16,"
    assert code.count('output_dir="out",') == 1
    return code.replace('output_dir="out",', settings)


def _train_and_check(namespace: dict[str, Any], spec: str, builtin: bool) -> None:
    from torch.optim.lr_scheduler import LambdaLR

    from rampup.torch import RampupLR

    trainer = namespace["trainer"]
    recorder = trainer_rate_recorder()
    trainer.add_callback(recorder)
    trainer.train()
    assert trainer.state.max_steps == TOTAL
    assert isinstance(trainer.lr_scheduler, LambdaLR if builtin else RampupLR)
    assert [step for step, _ in recorder.rates] == list(range(TOTAL))
    got = [rate for _, rate in recorder.rates]
    np.testing.assert_allclose(got, engine(spec, TOTAL), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("spec", "builtin"), [(BUILTIN, True), (NO_BUILTIN, False)])
def test_hf_snippet_in_a_real_trainer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, spec: str, builtin: bool
) -> None:
    code = printed(capsys, spec, "--to", "hf", "-n", str(TOTAL), "--peak-lr", str(PEAK))
    assert ("lr_scheduler_type" in code) == builtin
    namespace = run(_on_this_machine(code, tmp_path, trl=False), model=_regression_model(), train_dataset=_Points(30))
    _train_and_check(namespace, spec, builtin)


@pytest.mark.parametrize(("spec", "builtin"), [(BUILTIN, True), (NO_BUILTIN, False)])
def test_trl_snippet_in_a_real_sft_trainer(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, spec: str, builtin: bool
) -> None:
    import datasets

    datasets.disable_progress_bars()
    words = ["the", "a", "cat", "dog", "sat", "ran", "on", "mat", "big", "red"]
    tokenizer = word_tokenizer(words)
    model = tiny_llama(tokenizer, hidden_size=8)
    rng = random.Random(0)
    texts = datasets.Dataset.from_dict({"text": [" ".join(rng.choices(words, k=5)) for _ in range(24)]})
    code = printed(capsys, spec, "--to", "trl", "-n", str(TOTAL), "--peak-lr", str(PEAK))
    assert ("lr_scheduler_type" in code) == builtin
    namespace = run(_on_this_machine(code, tmp_path, trl=True), model=model, train_dataset=texts, tokenizer=tokenizer)
    _train_and_check(namespace, spec, builtin)


# --------------------------------------------------------------------------- Lightning


def test_lightning_snippet_in_a_real_trainer(capsys: pytest.CaptureFixture[str]) -> None:
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import LearningRateMonitor
    from torch.utils.data import DataLoader, TensorDataset

    code = printed(capsys, NO_BUILTIN, "--to", "lightning", "-n", str(TOTAL), "--peak-lr", str(PEAK))
    configure_optimizers = run(code)["configure_optimizers"]

    class Module(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(3, 1)

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            return torch.nn.functional.mse_loss(self.layer(x).squeeze(-1), y)

    Module.configure_optimizers = configure_optimizers  # type: ignore[method-assign]

    logger = memory_logger()
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=1,
        logger=logger,
        callbacks=[LearningRateMonitor(logging_interval="step")],
        log_every_n_steps=1,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    generator = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(2 * TOTAL, 3, generator=generator), torch.randn(2 * TOTAL, generator=generator))
    trainer.fit(Module(), train_dataloaders=DataLoader(data, batch_size=2))
    assert trainer.global_step == TOTAL
    rates = logger.rates()
    assert sorted(rates) == list(range(TOTAL))
    got = [rates[step] for step in range(TOTAL)]
    np.testing.assert_allclose(got, engine(NO_BUILTIN, TOTAL), rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------- optax and Keras


@pytest.mark.parametrize("spec", [NO_BUILTIN, OPEN_ENDED])
def test_optax_snippet_drives_adamw(capsys: pytest.CaptureFixture[str], spec: str) -> None:
    """With a constant gradient, each AdamW update is ``-lr * (g / (|g| + eps) + weight_decay * w)``: ``-lr``."""
    import jax
    import jax.numpy as jnp
    import optax

    code = printed(capsys, spec, "--to", "optax", "-n", str(TOTAL), "--peak-lr", str(PEAK))
    namespace = run(code)
    learning_rate, optimizer = namespace["learning_rate"], namespace["optimizer"]
    steps = np.arange(TOTAL + 3)
    np.testing.assert_allclose(
        np.asarray(jax.jit(jax.vmap(learning_rate))(jnp.asarray(steps))), engine(spec, TOTAL + 3), rtol=1e-6
    )
    params = {"w": jnp.zeros(())}
    state = optimizer.init(params)
    moves = []
    for _ in range(TOTAL + 3):
        updates, state = optimizer.update({"w": jnp.ones(())}, state, params)
        params = optax.apply_updates(params, updates)
        moves.append(-float(updates["w"]))
    # Adam's bias correction (1 - 0.999^t) in float32 and the weight decay move each update by < 2e-5 relative;
    # a rate one step off would be 20% or more off in the warmup and the decay
    np.testing.assert_allclose(moves, engine(spec, TOTAL + 3), rtol=5e-5, atol=1e-10)


@pytest.mark.parametrize("spec", [NO_BUILTIN, OPEN_ENDED])
def test_keras_snippet_drives_its_optimizer(capsys: pytest.CaptureFixture[str], spec: str) -> None:
    import keras

    code = printed(capsys, spec, "--to", "keras", "-n", str(TOTAL), "--peak-lr", str(PEAK))
    optimizer = run(code)["optimizer"]
    weight = keras.Variable(np.zeros(2, dtype="float32"))
    optimizer.build([weight])
    rates = []
    for _ in range(TOTAL + 3):
        rates.append(float(keras.ops.convert_to_numpy(optimizer.learning_rate)))  # at `iterations` updates done
        optimizer.apply([keras.ops.ones((2,))], [weight])
    assert int(keras.ops.convert_to_numpy(optimizer.iterations)) == TOTAL + 3
    np.testing.assert_allclose(rates, engine(spec, TOTAL + 3), rtol=1e-6, atol=1e-9)


def test_keras_snippet_imports_rampup_keras_first() -> None:
    code = export(BUILTIN, "keras", total_steps=TOTAL)
    assert code.index("import rampup.keras") < code.index("import keras")
    assert os.environ.get("KERAS_BACKEND") or "keras" in sys.modules
