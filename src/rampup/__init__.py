"""rampup: learning-rate warmup, done right in every framework.

The core needs NumPy alone. A schedule is a pure function ``step -> multiplier``
of the peak learning rate, built from phases::

    >>> import rampup
    >>> s = rampup.parse("linear(5%) -> cosine(to=0.1)").resolve(total_steps=1000)
    >>> s(0), s(50), s(1000)
    (0.0, 1.0, 0.1)

Front doors for frameworks live in submodules that import their framework
only when used: ``rampup.torch`` and others. ``rampup.find_warmup`` (needs
PyTorch when it runs) chooses a warmup from the model itself;
``rampup.monitor`` watches the start of training.
"""

from typing import TYPE_CHECKING, Any

from rampup.durations import Duration
from rampup.errors import RampupError
from rampup.presets import PRESETS, Preset, preset
from rampup.schedule import Phase, Schedule, as_schedule, parse

if TYPE_CHECKING:
    from rampup.advisor import recommend as recommend
    from rampup.finder import WarmupFinding as WarmupFinding
    from rampup.finder import find_warmup as find_warmup
    from rampup.plotting import plot as plot

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "Duration",
    "Phase",
    "Preset",
    "RampupError",
    "Schedule",
    "WarmupFinding",
    "__version__",
    "as_schedule",
    "find_warmup",
    "parse",
    "preset",
    "recommend",
]


#: names imported on first use, by the module that defines them: ``import rampup`` stays light
#: (no advisor, no finder, no matplotlib), and ``rampup values`` starts about as fast as NumPy
_LAZY = {
    "recommend": "rampup.advisor",
    "find_warmup": "rampup.finder",
    "WarmupFinding": "rampup.finder",
    "plot": "rampup.plotting",
}


def __getattr__(name: str) -> Any:
    """``rampup.recommend``, ``rampup.find_warmup``, ``rampup.plot``...: imported on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rampup' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
