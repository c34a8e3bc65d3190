"""Defects injected into deliveries on purpose, each one recorded so ingestion can be checked.

Kinds (``DEFECT_KINDS``):
  wrong_type        text in a numeric or date column (some rows)
  out_of_range      a number beyond the column's min or max (some rows)
  duplicate_keys    rows repeated with the same unique key (appended at the end)
  unknown_code      a value outside the column's allowed values (some rows)
  missing_column    a required column left out of the whole file
  empty_file        a file with a header only, or 0 bytes (always 0 bytes where the contract
                    allows nil returns: there a header-only file is a legitimate empty week)
  wrong_encoding    CSV bytes in GB18030 where the contract declares UTF-8, or the reverse
  missing_delivery  a source whose weekly deliveries never came (it is late)
  bad_check_digit   a credit code whose check character (GB 32100-2015) is wrong (some rows)

``defect_rate`` is the share of deliveries that get one defect (of a kind the delivery allows;
whole-file kinds only hit weekly deliveries, so history is never lost wholesale). With a rate
above zero every kind also appears at least once: ``plan_defects`` assigns each kind to one
source up front, from the contracts alone, so each source stays independently reproducible.
``SURE_KINDS`` appear only there, never at the rate (adding one leaves every other defect of a
park where it was).
Row numbers in the records are 1-based data rows of the delivered file (the header is row 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl

from data_contracts.checksums import USCC_ALPHABET, uscc_check
from data_contracts.schema import Column, ColumnType, FileFormat, SourceContract
from data_contracts.simulate.config import world_params
from data_contracts.simulate.deliveries import Delivery, as_text
from data_contracts.simulate.rng import stream

ROW_KINDS = ("wrong_type", "out_of_range", "duplicate_keys", "unknown_code")
FILE_KINDS = ("missing_column", "empty_file", "wrong_encoding")
SURE_KINDS = ("bad_check_digit",)  # row defects injected once per park, not at the rate
DEFECT_KINDS = (*ROW_KINDS, *FILE_KINDS, "missing_delivery", *SURE_KINDS)

NOT_A_NUMBER = ("未知", "待核实", "#VALUE!", "壹万元", "12..5")
NOT_A_DATE = ("2023年13月", "待定", "#VALUE!", "32/13/2023")
UNKNOWN_CODES = ("其它", "未分类", "99", "UNKNOWN", "待定")
MAX_DEFECT_ROWS = 5
ENCODINGS = ("utf-8", "gb18030")


@dataclass(frozen=True)
class DefectRecord:
    source: str
    delivery: str | None
    kind: str
    column: str | None = None
    raw_column: str | None = None
    rows: list[int] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "delivery": self.delivery,
            "kind": self.kind,
            "column": self.column,
            "raw_column": self.raw_column,
            "rows": self.rows,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class DefectPlan:
    """The defect rate and, per kind, the source that is sure to show it."""

    rate: float
    guaranteed: dict[str, str]  # kind -> source id

    def kinds_for(self, source_id: str) -> list[str]:
        return [kind for kind, source in self.guaranteed.items() if source == source_id]

    def to_json(self) -> dict[str, Any]:
        return {"rate": self.rate, "guaranteed": dict(self.guaranteed)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DefectPlan:
        return cls(rate=float(data["rate"]), guaranteed=dict(data["guaranteed"]))


def applicable(kind: str, contract: SourceContract) -> bool:
    """Whether a kind can be injected into this source's deliveries at all."""
    if kind == "wrong_type":
        return any(c.type != ColumnType.string for c in contract.columns)
    if kind == "out_of_range":
        return bool(_bounded_columns(contract))
    if kind == "unknown_code":
        return any(c.allowed for c in contract.columns)
    if kind == "wrong_encoding":
        return contract.delivery.format == FileFormat.csv
    if kind == "bad_check_digit":
        return any(c.check_character == "uscc" for c in contract.columns)
    if kind == "missing_delivery":
        # Late only shows if the backfill alone is older than the source may be.
        return contract.delivery.freshness_days < 28
    return True


def _busy(contract: SourceContract) -> bool:
    """Sources with rows in every week: where whole-file and late defects can always land."""
    sim = contract.simulation
    if sim.generator == "outcomes":
        return False  # the label source stays whole so the demo trains on every label
    if sim.generator in ("entity_snapshot", "monthly_panel"):
        return True
    return (
        sim.generator == "events"
        and sim.rate >= 0.2
        and max(world_params().coverage(contract.id).values(), default=1) > 0.5
    )


def plan_defects(contracts: dict[str, SourceContract], seed: int, rate: float) -> DefectPlan:
    """Pick, for each kind, the source that will surely show it (none when the rate is 0)."""
    if rate <= 0:
        return DefectPlan(rate=0.0, guaranteed={})
    rng = stream(seed, "defect-plan")
    used: set[str] = set()
    guaranteed: dict[str, str] = {}
    for kind in DEFECT_KINDS:
        whole = kind in FILE_KINDS or kind == "missing_delivery"
        candidates = [
            sid
            for sid, c in sorted(contracts.items())
            if applicable(kind, c) and (_busy(c) or not whole)
        ]
        fresh = [sid for sid in candidates if sid not in used] or candidates
        if not fresh:
            continue
        chosen = fresh[int(rng.integers(0, len(fresh)))]
        guaranteed[kind] = chosen
        used.add(chosen)
    return DefectPlan(rate=rate, guaranteed=guaranteed)


def inject_defects(
    contract: SourceContract,
    deliveries: list[Delivery],
    plan: DefectPlan,
    seed: int,
    weekly_ids: list[str],
) -> tuple[list[Delivery], list[DefectRecord]]:
    """The source's deliveries after defects, and what was done to them."""
    if plan.rate <= 0:
        return deliveries, []
    rng = stream(seed, "defects", contract.id)
    records: list[DefectRecord] = []
    sure = plan.kinds_for(contract.id)
    if "missing_delivery" in sure:
        missing = [d.delivery_id for d in deliveries if d.delivery_id in weekly_ids]
        deliveries = [d for d in deliveries if d.delivery_id not in weekly_ids]
        records.append(
            DefectRecord(
                contract.id,
                None,
                "missing_delivery",
                detail={"not_delivered": missing or list(weekly_ids)},
            )
        )
        sure.remove("missing_delivery")
    targets = _guaranteed_targets(sure, deliveries, weekly_ids)
    out: list[Delivery] = []
    for delivery in deliveries:
        weekly = delivery.delivery_id in weekly_ids
        kind = targets.get(delivery.delivery_id)
        if kind is None and delivery.rows == 0 and contract.delivery.nil_returns:
            out.append(delivery)  # a nil return carries nothing to spoil; it takes no draw
            continue
        draw = rng.random()
        if kind is None and draw < plan.rate:
            options = [
                k
                for k in (*ROW_KINDS, *(FILE_KINDS if weekly else ()))
                if applicable(k, contract) and (k in FILE_KINDS or delivery.rows > 0)
            ]
            kind = options[int(rng.integers(0, len(options)))] if options else None
        if kind is None:
            out.append(delivery)
            continue
        changed, record = INJECTORS[kind](contract, delivery, rng)
        out.append(changed)
        records.append(record)
    return out, records


def _guaranteed_targets(
    kinds: list[str], deliveries: list[Delivery], weekly_ids: list[str]
) -> dict[str, str]:
    """Delivery id -> kind for this source's sure defects: the latest weekly deliveries with
    rows first (the backfill only for row defects when no week has rows)."""
    weekly = [d for d in deliveries if d.delivery_id in weekly_ids and d.rows > 0][::-1]
    backfill = [d for d in deliveries if d.delivery_id not in weekly_ids and d.rows > 0]
    targets: dict[str, str] = {}
    for kind in kinds:
        pool = weekly + (backfill if kind in (*ROW_KINDS, *SURE_KINDS) else [])
        free = [d for d in pool if d.delivery_id not in targets]
        if free:
            targets[free[0].delivery_id] = kind
    return targets


# ---------------------------------------------------------------------------- injectors


def _pick_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    k = min(n, int(rng.integers(1, MAX_DEFECT_ROWS + 1)))
    return np.sort(rng.choice(n, size=k, replace=False))


def _set_values(frame: pl.DataFrame, raw: str, rows: np.ndarray, values: list) -> pl.DataFrame:
    column = frame[raw].clone()
    column.scatter(rows, pl.Series(values, dtype=column.dtype))
    return frame.with_columns(column)


def _record(contract: SourceContract, delivery: Delivery, kind: str, **fields) -> DefectRecord:
    return DefectRecord(source=contract.id, delivery=delivery.delivery_id, kind=kind, **fields)


def _overwrite(
    contract: SourceContract,
    delivery: Delivery,
    kind: str,
    column: Column,
    rows: np.ndarray,
    values: list,
    detail: dict,
    frame: pl.DataFrame | None = None,
) -> tuple[Delivery, DefectRecord]:
    """The delivery with ``values`` put in ``column`` at ``rows`` (of ``frame`` when given), and
    the record naming them (1-based rows): every value-level defect is written and told alike."""
    base = delivery.frame if frame is None else frame
    changed = delivery.with_frame(_set_values(base, column.raw, rows, values))
    return changed, _record(
        contract,
        delivery,
        kind,
        column=column.name,
        raw_column=column.raw,
        rows=(rows + 1).tolist(),
        detail=detail,
    )


def wrong_type(contract, delivery, rng):
    candidates = [c for c in contract.columns if c.type != ColumnType.string]
    column = candidates[int(rng.integers(0, len(candidates)))]
    rows = _pick_rows(rng, delivery.rows)
    pool = NOT_A_NUMBER if column.type in (ColumnType.int, ColumnType.float) else NOT_A_DATE
    values = [pool[int(i)] for i in rng.integers(0, len(pool), len(rows))]
    frame = delivery.frame.with_columns(as_text(column, delivery.frame[column.raw]))
    return _overwrite(
        contract, delivery, "wrong_type", column, rows, values, {"values": values}, frame
    )


def _bounded_columns(contract: SourceContract):
    return [
        c
        for c in contract.columns
        if c.type in (ColumnType.int, ColumnType.float) and (c.min is not None or c.max is not None)
    ]


def out_of_range(contract, delivery, rng):
    candidates = _bounded_columns(contract)
    column = candidates[int(rng.integers(0, len(candidates)))]
    rows = _pick_rows(rng, delivery.rows)
    if column.max is not None:
        numbers = column.max + abs(column.max) * rng.uniform(1, 10, len(rows)) + 1
    else:
        numbers = column.min - rng.uniform(100, 10_000, len(rows))
    numbers = np.round(numbers) if column.type == ColumnType.int else np.round(numbers, 2)
    values: list = [int(v) if column.type == ColumnType.int else float(v) for v in numbers]
    detail = {"values": values, "min": column.min, "max": column.max}
    return _overwrite(contract, delivery, "out_of_range", column, rows, values, detail)


def duplicate_keys(contract, delivery, rng):
    originals = _pick_rows(rng, delivery.rows)
    frame = pl.concat([delivery.frame, delivery.frame[originals.tolist()]])
    copies = np.arange(delivery.rows, delivery.rows + len(originals)) + 1
    changed = delivery.with_frame(frame)
    keys = [contract.column(name).raw for name in contract.unique_key]
    return changed, _record(
        contract,
        delivery,
        "duplicate_keys",
        rows=copies.tolist(),
        detail={
            "duplicates_of": (originals + 1).tolist(),
            "unique_key": list(contract.unique_key),
            "raw_key": keys,
        },
    )


def unknown_code(contract, delivery, rng):
    candidates = [c for c in contract.columns if c.allowed]
    column = candidates[int(rng.integers(0, len(candidates)))]
    pool = [code for code in UNKNOWN_CODES if code not in (column.allowed or [])]
    rows = _pick_rows(rng, delivery.rows)
    values = [pool[int(i)] for i in rng.integers(0, len(pool), len(rows))]
    return _overwrite(contract, delivery, "unknown_code", column, rows, values, {"values": values})


def missing_column(contract, delivery, rng):
    required = contract.required_columns
    column = contract.column(required[int(rng.integers(0, len(required)))])
    changed = delivery.with_frame(delivery.frame.drop(column.raw))
    return changed, _record(
        contract, delivery, "missing_column", column=column.name, raw_column=column.raw
    )


def empty_file(contract, delivery, rng):
    zero = bool(rng.random() < 0.5) or contract.delivery.nil_returns
    changed = replace(delivery, frame=delivery.frame.head(0), zero_bytes=zero)
    variant = "zero_bytes" if zero else "header_only"
    return changed, _record(
        contract,
        delivery,
        "empty_file",
        detail={"variant": variant, "rows_withheld": delivery.rows},
    )


def wrong_encoding(contract, delivery, rng):
    declared = contract.delivery.encoding
    written = next(e for e in ENCODINGS if e != declared)
    changed = replace(delivery, encoding=written)
    return changed, _record(
        contract,
        delivery,
        "wrong_encoding",
        detail={"declared": declared, "written": written, "rows": delivery.rows},
    )


def bad_check_digit(contract, delivery, rng):
    candidates = [c for c in contract.columns if c.check_character == "uscc"]
    column = candidates[int(rng.integers(0, len(candidates)))]
    codes = delivery.frame[column.raw]
    present = np.flatnonzero(codes.is_not_null().to_numpy())
    rows = present[_pick_rows(rng, len(present))]
    originals = codes.gather(rows).to_list()
    right = uscc_check([code[:17] for code in originals])
    shifts = rng.integers(1, len(USCC_ALPHABET), len(rows))
    values = [
        code[:17] + USCC_ALPHABET[(USCC_ALPHABET.index(check) + int(shift)) % len(USCC_ALPHABET)]
        for code, check, shift in zip(originals, right.tolist(), shifts, strict=True)
    ]
    detail = {"values": values, "originals": originals}
    return _overwrite(contract, delivery, "bad_check_digit", column, rows, values, detail)


INJECTORS = {
    "wrong_type": wrong_type,
    "out_of_range": out_of_range,
    "duplicate_keys": duplicate_keys,
    "unknown_code": unknown_code,
    "missing_column": missing_column,
    "empty_file": empty_file,
    "wrong_encoding": wrong_encoding,
    "bad_check_digit": bad_check_digit,
}
