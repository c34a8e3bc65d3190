"""Check digits of Chinese identifiers, vectorised over numpy arrays of codes.

* Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from a
  31-character alphabet; character 18 is the check over the first 17 with weights 3^(i-1) mod 31.
  Characters 9-17 are an organisation code (GB 11714-1997) with its own mod-11 check.
* Resident identity number (居民身份证号码, GB 11643-1999): 17 digits and a mod-11 check
  character (0-9 or X).
"""

from __future__ import annotations

import numpy as np

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
ID_CHECK_CHARS = "10X98765432"

_USCC_VALUE = np.full(128, -1, dtype=np.int64)
for _value, _char in enumerate(USCC_ALPHABET):
    _USCC_VALUE[ord(_char)] = _value
# Organisation codes count letters A=10 ... Z=35 (GB 11714).
_ORG_VALUE = np.full(128, -1, dtype=np.int64)
for _value, _char in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
    _ORG_VALUE[ord(_char)] = _value


def _char_matrix(codes: np.ndarray | list[str], width: int) -> np.ndarray:
    """(n, width) matrix of code points; codes of another length or non-ASCII raise."""
    arr = np.asarray(codes, dtype=f"<U{width}")
    if arr.size and np.any(np.char.str_len(arr) != width):
        raise ValueError(f"every code must have exactly {width} characters")
    matrix = arr.reshape(-1, 1).view(np.uint32).reshape(-1, width).astype(np.int64)
    if matrix.size and matrix.max() >= 128:
        raise ValueError("codes must be ASCII")
    return matrix


def _chars(values: np.ndarray, alphabet: str) -> np.ndarray:
    return np.array(list(alphabet), dtype="<U1")[values]


def org_code_check(bodies: np.ndarray | list[str]) -> np.ndarray:
    """Check characters of 8-character organisation code bodies (GB 11714: 0-9 or X)."""
    values = _ORG_VALUE[_char_matrix(bodies, 8)]
    if values.size and values.min() < 0:
        raise ValueError("organisation code bodies use digits and capital letters only")
    check = (11 - (values @ ORG_WEIGHTS) % 11) % 11
    return _chars(check, "0123456789X")


def uscc_check(first17: np.ndarray | list[str]) -> np.ndarray:
    """Check characters for the first 17 characters of unified social credit codes."""
    values = _USCC_VALUE[_char_matrix(first17, 17)]
    if values.size and values.min() < 0:
        raise ValueError("unified social credit codes use only 0-9 and A-Y without I O S V Z")
    check = (31 - (values @ USCC_WEIGHTS) % 31) % 31
    return _chars(check, USCC_ALPHABET)


def uscc_is_valid(codes: np.ndarray | list[str]) -> np.ndarray:
    """Boolean per code: 18 characters from the alphabet with a correct check character."""
    arr = np.asarray(codes, dtype=str)
    ok = (np.char.str_len(arr) == 18) & np.array(
        [all(c in USCC_ALPHABET for c in code) for code in arr.tolist()], dtype=bool
    )
    valid = np.zeros(arr.shape, dtype=bool)
    if ok.any():
        good = arr[ok]
        valid[ok] = uscc_check(good.astype("<U17")) == np.array([c[17] for c in good.tolist()])
    return valid


def id_number_check(first17: np.ndarray | list[str]) -> np.ndarray:
    """Check characters for the first 17 digits of resident identity numbers."""
    digits = _char_matrix(first17, 17) - ord("0")
    if digits.size and (digits.min() < 0 or digits.max() > 9):
        raise ValueError("the first 17 characters of an identity number are digits")
    return _chars((digits @ ID_WEIGHTS) % 11, ID_CHECK_CHARS)


def id_number_is_valid(codes: np.ndarray | list[str]) -> np.ndarray:
    arr = np.asarray(codes, dtype=str)
    ok = (np.char.str_len(arr) == 18) & np.array(
        [code[:17].isdigit() and code[:17].isascii() for code in arr.tolist()], dtype=bool
    )
    valid = np.zeros(arr.shape, dtype=bool)
    if ok.any():
        good = arr[ok]
        valid[ok] = id_number_check(good.astype("<U17")) == np.array([c[17] for c in good.tolist()])
    return valid
