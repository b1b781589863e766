"""The lab's small models, written out in PyTorch (imported only when a trial runs).

``CharTransformer`` is a decoder-only character model. ``norm="post"`` puts LayerNorm after each
residual add, as in the original Transformer (Vaswani et al. 2017): ``x = LN(x + f(x))``;
``norm="pre"`` puts it before each sublayer and once more before the head (GPT-2, Xiong et al. 2020):
``x = x + f(LN(x))``. Xiong et al. show that Post-LN needs a warmup at large rates while Pre-LN
trains without one; the lab's tasks reproduce that.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional

__all__ = ["MLP", "CharTransformer"]


class _Attention(nn.Module):
    def __init__(self, d_model: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=2)
        shape = (batch, length, self.heads, width // self.heads)
        q, k, v = (t.view(shape).transpose(1, 2) for t in (q, k, v))
        y = functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        out: torch.Tensor = self.out(y.transpose(1, 2).reshape(batch, length, width))
        return out


class _Block(nn.Module):
    def __init__(self, d_model: int, heads: int, post_ln: bool) -> None:
        super().__init__()
        self.post_ln = post_ln
        self.attn = _Attention(d_model, heads)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))
        self.ln1 = nn.LayerNorm(d_model)
        self.ln2 = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.post_ln:
            x = self.ln1(x + self.attn(x))
            out: torch.Tensor = self.ln2(x + self.mlp(x))
            return out
        x = x + self.attn(self.ln1(x))
        out = x + self.mlp(self.ln2(x))
        return out


class CharTransformer(nn.Module):
    """Token + learned position embeddings, ``layers`` blocks, a linear head (untied).

    Weights are drawn from N(0, ``init_std``); the embeddings are scaled by sqrt(d_model) as in
    Vaswani et al.
    """

    def __init__(
        self,
        vocab: int,
        context: int,
        d_model: int,
        layers: int,
        heads: int,
        norm: str,
        init_std: float,
        scale_embeddings: bool = True,
    ) -> None:
        super().__init__()
        self.scale = math.sqrt(d_model) if scale_embeddings else 1.0
        self.tokens = nn.Embedding(vocab, d_model)
        self.positions = nn.Embedding(context, d_model)
        self.blocks = nn.ModuleList(_Block(d_model, heads, norm == "post") for _ in range(layers))
        self.final = nn.LayerNorm(d_model) if norm == "pre" else nn.Identity()
        self.head = nn.Linear(d_model, vocab)
        for name, parameter in self.named_parameters():
            if parameter.dim() >= 2:
                nn.init.normal_(parameter, std=init_std)
            elif name.endswith("bias"):
                nn.init.zeros_(parameter)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = (self.tokens(ids) + self.positions(positions)) * self.scale
        for block in self.blocks:
            x = block(x)
        logits: torch.Tensor = self.head(self.final(x))
        return logits


class MLP(nn.Module):
    """A ReLU MLP with batch norm: ``depth`` hidden layers of ``width`` units."""

    def __init__(self, inputs: int, width: int, depth: int, classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        size = inputs
        for _ in range(depth):
            layers += [nn.Linear(size, width), nn.BatchNorm1d(width), nn.ReLU()]
            size = width
        layers.append(nn.Linear(size, classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.net(x)
        return logits
