"""rampup in TRL: real ``SFTTrainer`` runs, offline, on a tiny Llama built here with a word-level tokenizer.

No download: the model is a ``LlamaForCausalLM`` with random weights and a
16-dimensional hidden state, the tokenizer a ``tokenizers`` WordLevel model
wrapped in ``PreTrainedTokenizerFast``, the data an in-memory ``datasets.Dataset``.
The rates are read as in tests/test_hf.py: in ``on_optimizer_step``, where
``state.global_step`` is the number of updates done before this one.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import datasets
import pytest
from conftest import assert_trainer_ran_the_engine, tiny_llama, trainer_rate_recorder, word_tokenizer
from torch.optim.lr_scheduler import LambdaLR
from transformers import PreTrainedTokenizerFast
from trl import SFTConfig, SFTTrainer

import rampup
import rampup.hf
import rampup.trl
from rampup import RampupError
from rampup.torch import RampupLR

PEAK = 1e-3
WORDS = [
    "the",
    "a",
    "cat",
    "dog",
    "sat",
    "ran",
    "on",
    "mat",
    "log",
    "fast",
    "slow",
    "big",
    "small",
    "red",
    "blue",
    "green",
]


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    return word_tokenizer(WORDS)


@pytest.fixture(scope="module")
def texts() -> datasets.Dataset:
    datasets.disable_progress_bars()
    rng = random.Random(0)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))) for _ in range(11)]
    return datasets.Dataset.from_dict({"text": lines})


def sft_config(tmp_path: Path, **kwargs: Any) -> SFTConfig:
    base: dict[str, Any] = {
        "output_dir": str(tmp_path / "sft"),
        "per_device_train_batch_size": 2,
        "gradient_accumulation_steps": 2,
        "num_train_epochs": 2,
        "learning_rate": PEAK,
        "max_length": 16,
        "bf16": False,
        "report_to": [],
        "use_cpu": True,
        "logging_steps": 1,
        "save_strategy": "no",
        "dataloader_num_workers": 0,
        "disable_tqdm": True,
        "seed": 0,
    }
    base.update(kwargs)
    return SFTConfig(**base)


def check(trainer: SFTTrainer, recorder: Any, schedule: rampup.Schedule) -> None:
    assert_trainer_ran_the_engine(trainer, recorder, schedule, PEAK)


def test_sft_config_builtin_in_a_real_sft_run(
    tmp_path: Path, tokenizer: PreTrainedTokenizerFast, texts: datasets.Dataset
) -> None:
    spec = "cosine(2, from=0.1) -> constant -> linear(3, to=0.1)"  # warmup-stable-decay
    # 11 texts in batches of 2: 6 batches, 3 updates per epoch with accumulation 2; 2 epochs
    total = rampup.hf.trainer_total_steps(sft_config(tmp_path), len(texts))
    assert total == 6
    kwargs = rampup.trl.sft_config_args(spec, total)
    assert kwargs["lr_scheduler_type"] == "warmup_stable_decay"
    recorder = trainer_rate_recorder()
    trainer = SFTTrainer(
        model=tiny_llama(tokenizer),
        args=sft_config(tmp_path, **kwargs),
        train_dataset=texts,
        processing_class=tokenizer,
        callbacks=[recorder],
    )
    assert len(trainer.train_dataset) == len(texts)  # TRL's preprocessing kept every example
    trainer.train()
    assert trainer.state.max_steps == total
    assert type(trainer.lr_scheduler) is LambdaLR
    check(trainer, recorder, rampup.parse(spec).resolve(total_steps=total))


def test_rampup_sft_trainer_without_builtin(
    tmp_path: Path, tokenizer: PreTrainedTokenizerFast, texts: datasets.Dataset
) -> None:
    spec = "exponential(40%) -> cosine(cycles=1, to=0.2)"
    with pytest.raises(RampupError, match="RampupSFTTrainer"):
        rampup.trl.sft_config_args(spec, 6)
    recorder = trainer_rate_recorder()
    trainer = rampup.trl.RampupSFTTrainer(
        model=tiny_llama(tokenizer),
        args=sft_config(tmp_path, num_train_epochs=1.5),
        train_dataset=texts,
        processing_class=tokenizer,
        callbacks=[recorder],
        schedule=spec,
    )
    trainer.train()
    total = trainer.state.max_steps
    assert total == rampup.hf.trainer_total_steps(trainer.args, len(trainer.train_dataset)) == 5
    assert isinstance(trainer.lr_scheduler, RampupLR)
    check(trainer, recorder, rampup.parse(spec).resolve(total_steps=total))
