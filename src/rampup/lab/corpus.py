"""The character-level corpus: the Python standard library's own source, read offline.

A fixed, sorted list of pure-Python stdlib modules is read from ``sysconfig.get_paths()["stdlib"]``,
joined in that order and cut to a fixed number of characters, so that the text is the same on every
run on the same Python version (its SHA-256 goes into every trial's configuration). Characters are
mapped to a 98-symbol alphabet: newline, tab, printable ASCII and one symbol for anything else.
"""

from __future__ import annotations

import hashlib
import os
import sysconfig
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from rampup.errors import RampupError

__all__ = ["ALPHABET", "CORPUS_FILES", "FINETUNE_FILES", "Corpus", "load_corpus", "load_text"]

#: stdlib modules read, in this order (pure Python, present in CPython 3.10 - 3.13)
CORPUS_FILES: tuple[str, ...] = (
    "argparse.py",
    "ast.py",
    "bisect.py",
    "calendar.py",
    "contextlib.py",
    "dataclasses.py",
    "difflib.py",
    "enum.py",
    "fractions.py",
    "functools.py",
    "heapq.py",
    "inspect.py",
    "json/decoder.py",
    "json/encoder.py",
    "pprint.py",
    "random.py",
    "shlex.py",
    "statistics.py",
    "string.py",
    "textwrap.py",
    "tokenize.py",
    "typing.py",
)

#: other stdlib modules (present in CPython 3.10 - 3.13): the text the ``lora`` task fine-tunes on
FINETUNE_FILES: tuple[str, ...] = (
    "configparser.py",
    "csv.py",
    "gettext.py",
    "locale.py",
    "logging/__init__.py",
    "optparse.py",
    "shutil.py",
    "subprocess.py",
    "tempfile.py",
    "threading.py",
)

#: newline, tab and printable ASCII; every other character maps to the last id
ALPHABET = "\n\t" + "".join(chr(c) for c in range(32, 127))
_OTHER = len(ALPHABET)
VOCAB_SIZE = len(ALPHABET) + 1


@dataclass(frozen=True)
class Corpus:
    """Token ids split into a training part and a held-out tail."""

    train: npt.NDArray[np.int64]
    heldout: npt.NDArray[np.int64]
    sha256: str
    vocab_size: int = VOCAB_SIZE


def _encode(text: str) -> npt.NDArray[np.int64]:
    table = np.full(128, _OTHER, dtype=np.int64)
    for index, char in enumerate(ALPHABET):
        table[ord(char)] = index
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    return np.where(codes < 128, table[np.minimum(codes, 127)], _OTHER)


@lru_cache(maxsize=4)
def load_text(chars: int = 600_000, files: tuple[str, ...] = CORPUS_FILES) -> str:
    """The first ``chars`` characters of the stdlib ``files`` joined in order."""
    root = sysconfig.get_paths()["stdlib"]
    parts: list[str] = []
    size = 0
    for name in files:
        path = os.path.join(root, *name.split("/"))
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            continue
        parts.append(text)
        size += len(text)
        if size >= chars:
            break
    text = "".join(parts)[:chars]
    if len(text) < chars // 2:
        raise RampupError(
            "corpus", len(text), f"at least {chars // 2} characters of stdlib source", hint=f"read from {root}"
        )
    return text


@lru_cache(maxsize=4)
def load_corpus(
    chars: int = 600_000,
    heldout_fraction: float = 0.1,
    files: tuple[str, ...] = CORPUS_FILES,
    swapcase: bool = False,
) -> Corpus:
    """The first ``chars`` characters of the stdlib ``files`` as ids, the last ``heldout_fraction`` held out
    (upper and lower case swapped when ``swapcase``)."""
    text = load_text(chars, files)
    if swapcase:
        text = text.swapcase()
    ids = _encode(text)
    cut = int(len(ids) * (1 - heldout_fraction))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Corpus(train=ids[:cut], heldout=ids[cut:], sha256=digest)
