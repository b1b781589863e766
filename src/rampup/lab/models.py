"""The lab's small models, written out in PyTorch (imported only when a trial runs).

``ConvNet`` is a plain convolutional classifier (no normalization layers); ``EncoderLM`` is a
word-level causal LM built from ``torch.nn.TransformerEncoderLayer`` (Post-LN, PyTorch's default
``norm_first=False``); :func:`add_lora` puts low-rank adapters (Hu et al. 2021) on a model's linear
layers and freezes everything else.

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

__all__ = ["MLP", "CharTransformer", "ConvNet", "EncoderLM", "LoRALinear", "add_lora"]


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
    """A ReLU MLP, ``depth`` hidden layers of ``width`` units, with batch norm after each (``norm=True``) or none."""

    def __init__(self, inputs: int, width: int, depth: int, classes: int, norm: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        size = inputs
        for _ in range(depth):
            layers += [nn.Linear(size, width), nn.BatchNorm1d(width) if norm else nn.Identity(), nn.ReLU()]
            size = width
        layers.append(nn.Linear(size, classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.net(x)
        return logits


class ConvNet(nn.Module):
    """Two 3x3 convolutions (batch norm when ``norm``) with ReLU and 2x2 max-pooling, then a linear head.

    PyTorch's default init; the layout of the small CNNs Goyal et al. 2017's large-batch rule is
    usually tried on (their ResNets have batch norm too).
    """

    def __init__(self, channels: int, size: int, width: int, classes: int, norm: bool = True) -> None:
        super().__init__()

        def norm_layer(n: int) -> nn.Module:
            return nn.BatchNorm2d(n) if norm else nn.Identity()

        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            norm_layer(width),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            norm_layer(2 * width),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Linear(2 * width * (size // 4) ** 2, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.head(self.features(x).flatten(1))
        return logits


class EncoderLM(nn.Module):
    """Token + position embeddings, ``layers`` x ``nn.TransformerEncoderLayer`` under a causal mask, a head.

    The layers are PyTorch's own (Post-LN: ``norm_first=False``, ReLU, no dropout here), as a user
    who builds a small language model from ``torch.nn`` gets them.
    """

    def __init__(self, vocab: int, context: int, d_model: int, layers: int, heads: int) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab, d_model)
        self.positions = nn.Embedding(context, d_model)
        layer = nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, vocab)
        self.mask: torch.Tensor
        self.register_buffer(
            "mask", torch.triu(torch.full((context, context), float("-inf")), diagonal=1), persistent=False
        )

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        length = ids.shape[1]
        positions = torch.arange(length, device=ids.device)
        x = self.tokens(ids) + self.positions(positions)
        mask = self.mask[:length, :length]
        logits: torch.Tensor = self.head(self.encoder(x, mask=mask, is_causal=True))
        return logits


class LoRALinear(nn.Module):
    """``base(x) + (alpha / rank) * x A^T B^T`` with ``base`` frozen (Hu et al. 2021, LoRA, arXiv:2106.09685).

    ``A`` starts as PyTorch's default linear init (Kaiming-uniform, as PEFT does) and ``B`` at zero, so
    the adapted model starts exactly at the pretrained one.
    """

    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        for parameter in base.parameters():
            parameter.requires_grad_(False)
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.base(x) + (x @ self.lora_a.T @ self.lora_b.T) * self.scale
        return out


def add_lora(model: nn.Module, rank: int, alpha: float) -> nn.Module:
    """Freeze ``model`` and wrap every ``nn.Linear`` inside its blocks (not the head) in a :class:`LoRALinear`."""
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.Linear) and name != "head":
                setattr(module, name, LoRALinear(child, rank, alpha))
    return model
