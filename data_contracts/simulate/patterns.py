"""Random strings that match a contract column's regex ``pattern`` (vectorised).

Supports what contract patterns use: literals, character classes and ranges, ``\\d``/``\\w``,
``.``, groups, alternation, and bounded or unbounded repeats (unbounded ones stop at min + 4).
"""

from __future__ import annotations

import re
import string

import numpy as np

try:  # Python 3.11+
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

_CATEGORIES = {
    sre_constants.CATEGORY_DIGIT: string.digits,
    sre_constants.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    sre_constants.CATEGORY_SPACE: " ",
}
_PRINTABLE = string.ascii_letters + string.digits


class UnsupportedPattern(ValueError):
    pass


def _class_chars(items: list) -> str:
    chars: list[str] = []
    negate = False
    for op, arg in items:
        if op == sre_constants.NEGATE:
            negate = True
        elif op == sre_constants.LITERAL:
            chars.append(chr(arg))
        elif op == sre_constants.RANGE:
            chars.extend(chr(c) for c in range(arg[0], arg[1] + 1))
        elif op == sre_constants.CATEGORY and arg in _CATEGORIES:
            chars.extend(_CATEGORIES[arg])
        else:
            raise UnsupportedPattern(f"character class item {op}")
    if negate:
        excluded = set(chars)
        chars = [c for c in _PRINTABLE if c not in excluded]
    if not chars:
        raise UnsupportedPattern("empty character class")
    return "".join(dict.fromkeys(chars))


def _pick(rng: np.random.Generator, alphabet: str, size: int) -> np.ndarray:
    return np.array(list(alphabet))[rng.integers(0, len(alphabet), size)]


def _sample(rng: np.random.Generator, parsed, size: int) -> np.ndarray:
    out = np.full(size, "", dtype=object)
    for op, arg in parsed:
        if op == sre_constants.LITERAL:
            piece = np.full(size, chr(arg), dtype=object)
        elif op == sre_constants.ANY:
            piece = _pick(rng, _PRINTABLE, size).astype(object)
        elif op == sre_constants.IN:
            piece = _pick(rng, _class_chars(arg), size).astype(object)
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            low, high, sub = arg
            high = low + 4 if high == sre_constants.MAXREPEAT else high
            counts = rng.integers(low, high + 1, size)
            piece = np.full(size, "", dtype=object)
            for k in range(int(counts.max()) if size else 0):
                more = _sample(rng, sub, size)
                piece = np.where(counts > k, piece + more, piece)
        elif op == sre_constants.SUBPATTERN:
            piece = _sample(rng, arg[-1], size)
        elif op == sre_constants.BRANCH:
            options = [_sample(rng, branch, size) for branch in arg[1]]
            choice = rng.integers(0, len(options), size)
            piece = np.choose(choice, options)
        elif op == sre_constants.AT:
            continue
        else:
            raise UnsupportedPattern(f"regex element {op}")
        out = out + piece
    return out


def sample_pattern(rng: np.random.Generator, pattern: str, size: int) -> np.ndarray:
    """``size`` random strings, each a full match of ``pattern``."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as error:
        raise UnsupportedPattern(f"invalid pattern {pattern!r}: {error}") from error
    return _sample(rng, parsed, size).astype(str)
