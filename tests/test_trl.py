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
import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from torch.optim.lr_scheduler import LambdaLR
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, TrainerCallback
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
    vocab = {word: index for index, word in enumerate(["<pad>", "<unk>", "<s>", "</s>", *WORDS])}
    word_level = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    word_level.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=word_level, pad_token="<pad>", unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )


@pytest.fixture(scope="module")
def texts() -> datasets.Dataset:
    datasets.disable_progress_bars()
    rng = random.Random(0)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))) for _ in range(11)]
    return datasets.Dataset.from_dict({"text": lines})


def tiny_llama(tokenizer: PreTrainedTokenizerFast) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=32,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return LlamaForCausalLM(config)


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


class LearningRates(TrainerCallback):
    def __init__(self) -> None:
        self.rates: list[tuple[int, float]] = []

    def on_optimizer_step(self, args: Any, state: Any, control: Any, optimizer: Any = None, **kwargs: Any) -> None:
        self.rates.append((state.global_step, float(optimizer.param_groups[0]["lr"])))


def check(trainer: SFTTrainer, recorder: LearningRates, schedule: rampup.Schedule) -> None:
    steps = [step for step, _ in recorder.rates]
    assert steps == list(range(trainer.state.max_steps))
    got = np.array([rate for _, rate in recorder.rates])
    np.testing.assert_allclose(got, PEAK * schedule.values(steps), rtol=1e-12, atol=1e-15)
    logged = [
        (entry["step"], entry["learning_rate"]) for entry in trainer.state.log_history if "learning_rate" in entry
    ]
    assert logged == [(step + 1, rate) for step, rate in recorder.rates]


def test_sft_config_builtin_in_a_real_sft_run(
    tmp_path: Path, tokenizer: PreTrainedTokenizerFast, texts: datasets.Dataset
) -> None:
    spec = "cosine(2, from=0.1) -> constant -> linear(3, to=0.1)"  # warmup-stable-decay
    # 11 texts in batches of 2: 6 batches, 3 updates per epoch with accumulation 2; 2 epochs
    total = rampup.hf.trainer_total_steps(sft_config(tmp_path), len(texts))
    assert total == 6
    kwargs = rampup.trl.sft_config_args(spec, total)
    assert kwargs["lr_scheduler_type"] == "warmup_stable_decay"
    recorder = LearningRates()
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
    recorder = LearningRates()
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
