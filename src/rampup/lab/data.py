"""Each task family's data, model and loss, in PyTorch (imported only inside a worker, never by ``import rampup``).

A family is a class with the same four members, so that the training loop and the finder need not
know which task they run:

- ``batch(rng, size)``: the next training batch ``(x, y)`` from the seed's generator (the data order);
- ``model(config)``: a fresh model (its initial weights come from ``torch.manual_seed(seed)`` set by
  the caller; a fine-tuning task loads its pretrained weights and adds the adapters);
- ``loss(model, x, y)``: the scalar training loss;
- ``eval_x``, ``eval_y``: the fixed held-out set the final loss is measured on;
- optionally ``optimizer(model, config)``: the task's own optimizer at ``config.peak_lr`` (a task of
  your own may have one; without it the optimizer is built from the trial's optimizer settings).

Everything is generated from fixed seeds or read from the Python installation: nothing is downloaded.
The ``lora`` family pretrains its base model once and caches it on disk (:func:`pretrained_path`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch.nn import functional

from rampup.lab.corpus import CORPUS_FILES, FINETUNE_FILES, load_corpus, load_text
from rampup.lab.models import MLP, CharTransformer, ConvNet, EncoderLM, add_lora
from rampup.lab.result import TrialConfig
from rampup.lab.tasks import get_task

__all__ = ["TaskData", "pretrained_path", "task_data"]

#: where the ``lora`` task keeps its pretrained base model (override with RAMPUP_CACHE)
CACHE_ENV = "RAMPUP_CACHE"


class TaskData(Protocol):
    """What the training loop and the finder use of a task (module docstring)."""

    eval_x: torch.Tensor
    eval_y: torch.Tensor

    def batch(self, rng: np.random.Generator, size: int) -> tuple[torch.Tensor, torch.Tensor]: ...

    def model(self, config: TrialConfig) -> torch.nn.Module: ...

    def loss(self, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor: ...


def _cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


class _Family:
    """What every family shares: the loss, the cross-entropy of the model's logits against the targets."""

    eval_x: torch.Tensor
    eval_y: torch.Tensor

    def loss(self, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return _cross_entropy(model(x), y)


class _Examples(_Family):
    """Labelled examples, the last ``heldout`` held out; a batch draws examples with replacement."""

    train_x: torch.Tensor
    train_y: torch.Tensor

    def split(self, x: torch.Tensor, y: torch.Tensor, heldout: int) -> None:
        self.train_x, self.train_y = x[:-heldout], y[:-heldout]
        self.eval_x, self.eval_y = x[-heldout:], y[-heldout:]

    def batch(self, rng: np.random.Generator, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.from_numpy(rng.integers(0, len(self.train_x), size))
        return self.train_x[index], self.train_y[index]


class _Sequences(_Family):
    """Windows of ``context + 1`` tokens from an id stream: inputs and next-token targets."""

    def __init__(self, train: np.ndarray, heldout: np.ndarray, context: int, eval_sequences: int) -> None:
        self.context = context
        self.train = torch.from_numpy(train)
        self.offsets = torch.arange(context + 1)
        rng = np.random.default_rng(12345)
        starts = rng.integers(0, len(heldout) - context - 1, eval_sequences)
        held = torch.from_numpy(heldout)[torch.from_numpy(starts)[:, None] + self.offsets]
        self.eval_x, self.eval_y = held[:, :-1], held[:, 1:]

    def batch(self, rng: np.random.Generator, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        starts = torch.from_numpy(rng.integers(0, len(self.train) - self.context - 1, size))
        window = self.train[starts[:, None] + self.offsets]
        return window[:, :-1], window[:, 1:]


class CharData(_Sequences):
    """``postln`` / ``preln``: characters of the stdlib corpus, a :class:`CharTransformer`."""

    def __init__(self, config: TrialConfig) -> None:
        corpus = load_corpus(int(config.data["chars"]), float(config.data["heldout"]))
        if corpus.sha256 != config.data.get("sha256", corpus.sha256):
            raise RuntimeError("the stdlib corpus on this machine differs from the one the trial was planned with")
        super().__init__(corpus.train, corpus.heldout, int(config.model["context"]), int(config.data["eval_sequences"]))
        self.vocab = corpus.vocab_size

    def model(self, config: TrialConfig) -> torch.nn.Module:
        m = config.model
        return CharTransformer(
            self.vocab,
            self.context,
            int(m["d_model"]),
            int(m["layers"]),
            int(m["heads"]),
            str(m["norm"]),
            float(m["init_std"]),
        )


class TeacherData(_Examples):
    """``mlp`` / ``noisy``: inputs ~ N(0, I), labels = argmax of a fixed random two-layer tanh teacher.

    ``label_noise`` replaces that share of the training labels by uniformly random classes (the
    held-out labels stay clean), which makes a small batch's loss noisy from step to step.
    """

    def __init__(self, config: TrialConfig) -> None:
        d = config.data
        gen = torch.Generator().manual_seed(int(d["teacher_seed"]))
        inputs, classes, examples, heldout = int(d["inputs"]), int(d["classes"]), int(d["examples"]), int(d["heldout"])
        x = torch.randn(examples, inputs, generator=gen)
        w1 = torch.randn(inputs, 64, generator=gen) / math.sqrt(inputs)
        w2 = torch.randn(64, classes, generator=gen) / 8
        y = (torch.tanh(2 * x @ w1) @ w2).argmax(1)
        noise = float(d.get("label_noise", 0.0))
        if noise > 0:
            flip = torch.rand(examples, generator=gen) < noise
            random_labels = torch.randint(0, classes, (examples,), generator=gen)
            noisy = torch.where(flip, random_labels, y)
            y = torch.cat([noisy[:-heldout], y[-heldout:]])
        self.inputs, self.classes = inputs, classes
        self.split(x, y, heldout)

    def model(self, config: TrialConfig) -> torch.nn.Module:
        m = config.model
        return MLP(self.inputs, int(m["width"]), int(m["depth"]), self.classes, norm=bool(m.get("batch_norm", True)))


class ImageData(_Examples):
    """``conv``: generated grey images, one smooth random template per class.

    An image is its class's template, shifted by up to ``shift`` pixels in each direction, scaled by a
    random contrast in [0.5, 1.5], plus Gaussian pixel noise of standard deviation ``noise``.
    """

    def __init__(self, config: TrialConfig) -> None:
        d = config.data
        gen = torch.Generator().manual_seed(int(d["data_seed"]))
        size, classes, examples, heldout = int(d["size"]), int(d["classes"]), int(d["examples"]), int(d["heldout"])
        shift, noise = int(d["shift"]), float(d["noise"])
        coarse = torch.randn(classes, 1, size // 4, size // 4, generator=gen)
        templates = functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
        templates = templates / templates.flatten(1).std(1)[:, None, None, None]
        labels = torch.randint(0, classes, (examples,), generator=gen)
        dx = torch.randint(-shift, shift + 1, (examples,), generator=gen)
        dy = torch.randint(-shift, shift + 1, (examples,), generator=gen)
        contrast = 0.5 + torch.rand(examples, generator=gen)
        images = torch.empty(examples, 1, size, size)
        for index in range(examples):
            image = torch.roll(templates[labels[index]], (int(dy[index]), int(dx[index])), dims=(1, 2))
            images[index] = image * contrast[index]
        images += noise * torch.randn(images.shape, generator=gen)
        self.size, self.classes = size, classes
        self.split(images, labels, heldout)

    def model(self, config: TrialConfig) -> torch.nn.Module:
        m = config.model
        return ConvNet(1, self.size, int(m["width"]), self.classes, norm=bool(m.get("batch_norm", True)))


_WORD = re.compile(r"[A-Za-z_]+|\d+|[^\sA-Za-z_\d]")


class WordData(_Sequences):
    """``encoder``: word-level tokens of the stdlib corpus (identifiers, numbers, single symbols).

    The vocabulary is the ``vocab - 1`` most frequent tokens of the training part plus one unknown
    token; the model is an :class:`EncoderLM`.
    """

    def __init__(self, config: TrialConfig) -> None:
        d = config.data
        text = load_text(int(d["chars"]), CORPUS_FILES)
        tokens = _WORD.findall(text)
        cut = int(len(tokens) * (1 - float(d["heldout"])))
        size = int(d["vocab"])
        common = [word for word, _ in sorted(Counter(tokens[:cut]).items(), key=lambda kv: (-kv[1], kv[0]))]
        index = {word: i for i, word in enumerate(common[: size - 1])}
        ids = np.fromiter((index.get(token, size - 1) for token in tokens), dtype=np.int64, count=len(tokens))
        super().__init__(ids[:cut], ids[cut:], int(config.model["context"]), int(d["eval_sequences"]))
        self.vocab = size

    def model(self, config: TrialConfig) -> torch.nn.Module:
        m = config.model
        return EncoderLM(self.vocab, self.context, int(m["d_model"]), int(m["layers"]), int(m["heads"]))


def _cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rampup"


def pretrained_path(config: TrialConfig) -> Path:
    """Where the ``lora`` task's pretrained base model is cached: named by the hash of what determines it."""
    what = {
        "model": config.model,
        "pretrain": config.data["pretrain"],
        "corpus": config.data.get("sha256", config.data["chars"]),
        "torch": torch.__version__.split("+")[0],
    }
    digest = hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]
    return _cache_dir() / f"lab-lora-base-{digest}.pt"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` + ``.lock`` (POSIX), so that parallel workers pretrain once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "w") as handle:
        try:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - not POSIX: workers may pretrain in parallel (same result)
            pass
        yield


def _base_model(config: TrialConfig) -> CharTransformer:
    """The ``lora`` task's base model: a Pre-LN :class:`CharTransformer` of the configured sizes."""
    m = config.model
    vocab = int(config.data["vocab"])
    return CharTransformer(
        vocab, int(m["context"]), int(m["d_model"]), int(m["layers"]), int(m["heads"]), "pre", float(m["init_std"])
    )


def _pretrain(config: TrialConfig, corpus_train: np.ndarray, corpus_heldout: np.ndarray) -> dict[str, torch.Tensor]:
    """Pretrain the base model on the lab's main corpus (fixed seed, Pre-LN, Adam, warmup then cosine)."""
    from rampup.torch import RampupLR

    settings = config.data["pretrain"]
    m = config.model
    data = _Sequences(corpus_train, corpus_heldout, int(m["context"]), 16)
    torch.manual_seed(int(settings["seed"]))
    model = _base_model(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=float(settings["lr"]), betas=(0.9, 0.98), eps=1e-9)
    steps = int(settings["steps"])
    scheduler = RampupLR(optimizer, "linear(10%) -> cosine(to=0.1)", total_steps=steps)
    rng = np.random.default_rng(int(settings["seed"]))
    for _ in range(steps):
        x, y = data.batch(rng, int(settings["batch"]))
        loss = _cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        scheduler.step()
    return model.state_dict()


class LoRAData(_Sequences):
    """``lora``: a character model pretrained on the main corpus, fine-tuned with LoRA on other stdlib modules.

    The base model (a Pre-LN :class:`CharTransformer`) is pretrained once with a fixed seed and cached
    (:func:`pretrained_path`; a file lock keeps parallel workers from training it twice); every trial
    loads it, freezes it and adds adapters of ``rank`` and ``alpha`` to the linear layers of its
    blocks (the seed draws the adapters' A). The fine-tuning text is :data:`FINETUNE_FILES` with upper
    and lower case swapped: code the base model reads well, in a spelling it has to adapt to.
    """

    def __init__(self, config: TrialConfig) -> None:
        d = config.data
        self.base_corpus = load_corpus(int(d["chars"]), float(d["heldout"]))
        tune = load_corpus(int(d["finetune_chars"]), float(d["heldout"]), FINETUNE_FILES, swapcase=True)
        super().__init__(tune.train, tune.heldout, int(config.model["context"]), int(d["eval_sequences"]))

    def base_weights(self, config: TrialConfig) -> dict[str, torch.Tensor]:
        """The pretrained base model's weights, from the cache or trained now (and cached)."""
        path = pretrained_path(config)
        with _locked(path):
            if path.is_file():
                state: dict[str, torch.Tensor] = torch.load(path, weights_only=True)
                return state
            rng_state = torch.random.get_rng_state()
            try:
                state = _pretrain(config, self.base_corpus.train, self.base_corpus.heldout)
            finally:
                torch.random.set_rng_state(rng_state)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            torch.save(state, partial)
            os.replace(partial, path)
            return state

    def model(self, config: TrialConfig) -> torch.nn.Module:
        m = config.model
        base = _base_model(config)
        base.load_state_dict(self.base_weights(config))
        return add_lora(base, int(m["rank"]), float(m["alpha"]))


_FAMILIES: dict[str, type[CharData | TeacherData | ImageData | WordData | LoRAData]] = {
    "charlm": CharData,
    "mlp": TeacherData,
    "conv": ImageData,
    "wordlm": WordData,
    "lora": LoRAData,
}


def task_data(config: TrialConfig) -> TaskData:
    """The data (and model builder and loss) of the trial's task family, or of a task of your own."""
    kind = get_task(config.task).kind
    if kind == "custom":
        from rampup.lab.custom import custom_data

        built: TaskData = custom_data(config)
        return built
    return _FAMILIES[kind](config)
