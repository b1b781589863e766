"""Builders shared by the framework tests (issue 17), imported as ``from conftest import ...``.

- :func:`trainer_rate_recorder` and :func:`assert_trainer_ran_the_engine`: the rate of every optimizer
  update of a Hugging Face / TRL ``Trainer``, and the check that it is the engine's.
- :func:`word_tokenizer` and :func:`tiny_llama`: a word-level tokenizer and a one-layer Llama built in
  memory, so that TRL's ``SFTTrainer`` runs offline.
- :func:`memory_logger`: a Lightning logger that keeps what is logged (``LearningRateMonitor`` needs one).

Frameworks are imported inside the builders: collecting a test that needs none imports none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: the special tokens of :func:`word_tokenizer`, in vocabulary order
SPECIAL_TOKENS = ("<pad>", "<unk>", "<s>", "</s>")


def trainer_rate_recorder() -> Any:
    """A ``transformers.TrainerCallback`` whose ``rates`` lists ``(updates done before, rate used)`` for
    every optimizer update (the first parameter group's rate)."""
    from transformers import TrainerCallback

    class LearningRates(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.rates: list[tuple[int, float]] = []

        def on_optimizer_step(self, args: Any, state: Any, control: Any, optimizer: Any = None, **kwargs: Any) -> None:
            self.rates.append((state.global_step, float(optimizer.param_groups[0]["lr"])))

    return LearningRates()


def assert_trainer_ran_the_engine(trainer: Any, recorder: Any, schedule: Any, peak: float) -> None:
    """Every update's rate is ``peak * schedule(step)``, and the Trainer logged the same rates (it logs
    the rate of the update it just did under the step count it then reached)."""
    steps = [step for step, _ in recorder.rates]
    assert steps == list(range(trainer.state.max_steps))
    got = np.array([rate for _, rate in recorder.rates])
    np.testing.assert_allclose(got, peak * schedule.values(steps), rtol=1e-12, atol=1e-15)
    logged = [
        (entry["step"], entry["learning_rate"]) for entry in trainer.state.log_history if "learning_rate" in entry
    ]
    assert logged == [(step + 1, rate) for step, rate in recorder.rates]


def word_tokenizer(words: Sequence[str]) -> Any:
    """A ``PreTrainedTokenizerFast`` over :data:`SPECIAL_TOKENS` and ``words``, split on whitespace."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {word: index for index, word in enumerate([*SPECIAL_TOKENS, *words])}
    word_level = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    word_level.pre_tokenizer = pre_tokenizers.Whitespace()
    pad, unk, bos, eos = SPECIAL_TOKENS
    return PreTrainedTokenizerFast(
        tokenizer_object=word_level, pad_token=pad, unk_token=unk, bos_token=bos, eos_token=eos
    )


def tiny_llama(tokenizer: Any, hidden_size: int = 16) -> Any:
    """A one-layer ``LlamaForCausalLM`` for ``tokenizer``, with the same initial weights every time."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=32,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return LlamaForCausalLM(config)


def memory_logger() -> Any:
    """A Lightning ``Logger`` that keeps every ``(step, metrics)`` logged in ``rows``; ``rates()`` gives the
    rates ``LearningRateMonitor`` logged (keys ``lr-...``) by step."""
    from lightning.pytorch.loggers import Logger

    class MemoryLogger(Logger):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[tuple[int, dict[str, float]]] = []

        @property
        def name(self) -> str:
            return "memory"

        @property
        def version(self) -> int:
            return 0

        def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
            assert step is not None
            self.rows.append((step, dict(metrics)))

        def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
            pass

        def rates(self) -> dict[int, float]:
            return {
                step: value for step, metrics in self.rows for key, value in metrics.items() if key.startswith("lr-")
            }

    return MemoryLogger()
