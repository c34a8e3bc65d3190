"""PII masking for everything EWS publishes.

Which columns are personal data is declared in the contracts (``Column.pii``); this module turns
those values into their published form (张** / 320***********1234 / 138****5678) and scrubs free
text (facts, reasons) of anything that still looks like an ID or phone number, or that equals a
known raw PII value.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

import polars as pl

from data_contracts.checksums import id_number_is_valid
from data_contracts.schema import PII, SourceContract

# Mainland resident ID candidates (18 characters, last may be X; see is_id_number) and mobile
# numbers (11 digits from 1[3-9]). The lookarounds keep longer digit runs from matching.
ID_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
LANDLINE = re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")


def is_id_number(text: str) -> bool:
    """A resident ID number (GB 11643): a real birth date and a valid check character.

    An all-digit unified social credit code has the same shape, but its characters 7-14 (the end
    of the region code and the start of the organisation code) rarely form a 19xx/20xx date with
    a matching ID check character, so firm codes stay readable. A token that passes both checks
    is masked: hiding a firm code by mistake costs less than showing a person's ID.
    """
    text = text.upper()
    if not ID_CANDIDATE.fullmatch(text):
        return False
    try:
        born = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    if not 1900 <= born.year <= 2099:
        return False
    return bool(id_number_is_valid([text])[0])


def find_id_numbers(text: str) -> list[str]:
    return [m.group(0) for m in ID_CANDIDATE.finditer(text) if is_id_number(m.group(0))]


def mask_name(name: str) -> str:
    """Keep the family name (first character), star the rest: 张三丰 -> 张**."""
    name = name.strip()
    if not name:
        return name
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_id_number(value: str) -> str:
    """Keep the first 3 and last 4 characters: 320***********1234."""
    value = value.strip()
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits: 138****5678."""
    value = value.strip()
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


MASKERS = {
    PII.person_name: mask_name,
    PII.id_number: mask_id_number,
    PII.phone: mask_phone,
}


def mask_value(value: str | None, kind: PII) -> str | None:
    if value is None or kind == PII.none:
        return value
    return MASKERS[kind](value)


def mask_frame(frame: pl.DataFrame, contract: SourceContract) -> pl.DataFrame:
    """The frame with every column the contract flags as PII masked (other columns untouched)."""
    masked = []
    for column in contract.columns:
        if column.pii == PII.none or column.name not in frame.columns:
            continue
        masker = MASKERS[column.pii]
        masked.append(
            pl.col(column.name)
            .cast(pl.String)
            .map_elements(masker, return_dtype=pl.String, skip_nulls=True)
        )
    return frame.with_columns(masked) if masked else frame


class TextScrubber:
    """Masks known raw PII values and ID/phone look-alikes inside free text.

    Known values are replaced longest first so that a short name never splits a longer one.
    """

    def __init__(self, known: Iterable[tuple[str, PII]] = ()) -> None:
        pairs = {(v.strip(), kind) for v, kind in known if v and v.strip() and kind != PII.none}
        self._known = sorted(pairs, key=lambda pair: (-len(pair[0]), pair[0]))
        self._pattern = (
            re.compile("|".join(re.escape(v) for v, _ in self._known)) if self._known else None
        )
        self._replacement = {v: MASKERS[kind](v) for v, kind in self._known}

    def __call__(self, text: str | None) -> str | None:
        if not text:
            return text
        if self._pattern is not None:
            text = self._pattern.sub(lambda m: self._replacement[m.group(0)], text)
        text = ID_CANDIDATE.sub(
            lambda m: mask_id_number(m.group(0)) if is_id_number(m.group(0)) else m.group(0), text
        )
        text = PHONE.sub(lambda m: mask_phone(m.group(0)), text)
        return LANDLINE.sub(lambda m: mask_phone(m.group(0)), text)


def known_pii(frame: pl.DataFrame, contract: SourceContract) -> list[tuple[str, PII]]:
    """Every distinct raw PII value in a frame of one source, with its kind."""
    found: list[tuple[str, PII]] = []
    for column in contract.columns:
        if column.pii == PII.none or column.name not in frame.columns:
            continue
        values = frame.get_column(column.name).cast(pl.String).drop_nulls().unique().sort()
        found.extend((v, column.pii) for v in values.to_list())
    return found
