"""Two models of other families, kept out of the lab's built-in tasks, to check the advice on:
a small Pre-LN vision transformer and a GRU language model (docs/advisor.md, "Short runs from scratch").

    rampup lab run --task examples/outside_tasks.py:VIT --lr high --seeds 3 --db outside.db \\
        --warmup none --warmup 'linear(1%)' --warmup 'linear(2.5%)' --warmup 'linear(5%)' \\
        --warmup 'linear(10%)' --warmup 'linear(25%)' --warmup 'linear(50%)' --warmup advisor
    rampup lab run --task examples/outside_tasks.py:GRU --lr high ...   # the same warmups
    rampup find --task examples/outside_tasks.py:VIT --probe-seed 1000

Neither was used to write a rule of the finder or the monitor; the ViT is what the advisor's cap
from scratch was checked on, the GRU is held out from it. Both build their data from a fixed seed of
their own and draw batches from the trial's generator, so trials that differ in their warmup alone
are paired (same initial weights, same batches). A trial takes a few seconds on one core.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from rampup.lab.custom import LabTask
from rampup.lab.result import TrialConfig
from rampup.lab.tasks import OptimizerSettings


class _Generated:
    """What both tasks share: batches drawn from ``train_x`` / ``train_y`` with the trial's generator, and
    AdamW with the usual groups (weight decay on matrices, none on biases, norms and position embeddings)."""

    train_x: torch.Tensor
    train_y: torch.Tensor

    def batch(self, rng: np.random.Generator, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.from_numpy(rng.integers(0, len(self.train_x), size))
        return self.train_x[index], self.train_y[index]

    def optimizer(self, model: nn.Module, trial: TrialConfig) -> torch.optim.Optimizer:
        opt = trial.optimizer
        decayed = [p for name, p in model.named_parameters() if p.ndim >= 2 and "position" not in name]
        plain = [p for name, p in model.named_parameters() if not (p.ndim >= 2 and "position" not in name)]
        groups = [{"params": decayed, "weight_decay": opt.weight_decay}, {"params": plain, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=trial.peak_lr, betas=opt.betas, eps=opt.eps)


class Images(_Generated):
    """Generated 16x16 grey images of 20 classes (a smooth random template per class, shifted by up
    to 2 pixels, contrast 0.5-1.5, Gaussian pixel noise 1), cut into 4x4 patches for a ViT."""

    def __init__(self, trial: TrialConfig) -> None:
        m = trial.model
        gen = torch.Generator().manual_seed(int(m["data_seed"]))
        classes, size = int(m["classes"]), int(m["size"])
        raw = torch.randn(classes, 1, size + 8, size + 8, generator=gen)
        templates = functional.avg_pool2d(raw, 5, 1, 2)[:, 0, 4 : 4 + size, 4 : 4 + size]
        templates = (templates - templates.mean((1, 2), keepdim=True)) / templates.std((1, 2), keepdim=True)
        shifts = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
        self.variants = torch.stack([torch.roll(templates, shift, (1, 2)) for shift in shifts], 1)

        def draw(count: int) -> tuple[torch.Tensor, torch.Tensor]:
            y = torch.randint(0, classes, (count,), generator=gen)
            shift = torch.randint(0, len(shifts), (count,), generator=gen)
            contrast = 0.5 + torch.rand(count, 1, 1, generator=gen)
            x = self.variants[y, shift] * contrast + float(m["noise"]) * torch.randn(count, size, size, generator=gen)
            return x, y

        self.train_x, self.train_y = draw(int(m["examples"]))
        self.eval_x, self.eval_y = draw(int(m["heldout"]))

    def model(self, trial: TrialConfig) -> nn.Module:
        return VisionTransformer(trial.model)

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return functional.cross_entropy(model(x), y)


class VisionTransformer(nn.Module):
    """Patches of 4x4 pixels, a linear embedding, learned positions, Pre-LN encoder layers
    (``norm_first=True``, as ViT), mean pooling, a final LayerNorm and a linear head."""

    def __init__(self, m: Any) -> None:
        super().__init__()
        width, patch, size = int(m["width"]), int(m["patch"]), int(m["size"])
        self.patch = patch
        self.embed = nn.Linear(patch * patch, width)
        self.position = nn.Parameter(0.02 * torch.randn(1, (size // patch) ** 2, width))
        layer = nn.TransformerEncoderLayer(width, int(m["heads"]), 2 * width, 0.0, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, int(m["layers"]), enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, int(m["classes"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.patch
        patches = x.unfold(1, p, p).unfold(2, p, p).reshape(x.shape[0], -1, p * p)
        return self.head(self.norm(self.encoder(self.embed(patches) + self.position).mean(1)))


class Sequences(_Generated):
    """A generated language of 50 tokens: each token follows from the two before it through a fixed
    random table, except 20% drawn at random; sequences of 24 tokens, next-token prediction."""

    def __init__(self, trial: TrialConfig) -> None:
        m = trial.model
        gen = torch.Generator().manual_seed(int(m["data_seed"]))
        vocab, length = int(m["vocab"]), int(m["length"])
        table = torch.randint(0, vocab, (vocab, vocab), generator=gen)

        def draw(count: int) -> torch.Tensor:
            x = torch.randint(0, vocab, (count, length), generator=gen)
            for t in range(2, length):
                random = torch.rand(count, generator=gen) < float(m["noise"])
                x[:, t] = torch.where(random, x[:, t], table[x[:, t - 1], x[:, t - 2]])
            return x

        self.train_x = self.train_y = draw(int(m["examples"]))  # targets: the inputs shifted by one (``loss``)
        self.eval_x = self.eval_y = draw(int(m["heldout"]))
        self.vocab = vocab

    def model(self, trial: TrialConfig) -> nn.Module:
        return RecurrentLM(trial.model)

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits = model(x[:, :-1])
        return functional.cross_entropy(logits.reshape(-1, self.vocab), y[:, 1:].reshape(-1))


class RecurrentLM(nn.Module):
    """An embedding, one GRU layer and a linear head."""

    def __init__(self, m: Any) -> None:
        super().__init__()
        self.embed = nn.Embedding(int(m["vocab"]), int(m["embed"]))
        self.gru = nn.GRU(int(m["embed"]), int(m["hidden"]), batch_first=True)
        self.head = nn.Linear(int(m["hidden"]), int(m["vocab"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.gru(self.embed(x))[0])


def _adamw(weight_decay: float) -> OptimizerSettings:
    return OptimizerSettings("adamw", betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay)


#: a Pre-LN ViT; at 0.01 no warmup ends far above a long warmup on every seed
VIT = LabTask(
    title="Pre-LN vision transformer on generated images, AdamW beta2 0.999",
    data=Images,
    steps=300,
    batch=128,
    normal_lr=0.002,
    high_lr=0.01,
    optimizer=_adamw(0.05),
    architecture="vit",
    advice={"regime": "pretrain", "architecture": "vit"},
    model={
        "classes": 20,
        "size": 16,
        "noise": 1.0,
        "examples": 40_000,
        "heldout": 2_000,
        "patch": 4,
        "width": 48,
        "heads": 4,
        "layers": 2,
        "data_seed": 5,
    },
)

#: a GRU language model, where warmup hardly matters at the rates it trains at
GRU = LabTask(
    title="GRU language model on a generated two-token-memory language, AdamW beta2 0.999",
    data=Sequences,
    steps=300,
    batch=32,
    normal_lr=0.01,
    high_lr=0.02,
    optimizer=_adamw(0.1),
    advice={"regime": "pretrain"},
    model={
        "vocab": 50,
        "length": 24,
        "noise": 0.2,
        "examples": 20_000,
        "heldout": 512,
        "embed": 64,
        "hidden": 128,
        "data_seed": 1,
    },
)
