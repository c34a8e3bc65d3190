"""The sources a feature build reads: frames by source id, with their contracts.

Families of sources are chosen by id (an exact id, or every contract whose id starts with a
prefix), so a family feature computes over every contract of the family and a new contract of the
family joins without code changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from data_contracts import catalog
from data_contracts.schema import SourceContract
from features.credit_repair import (
    REPAIRED_FROM,
    REPAIRED_RECORD,
    REPAIRED_SOURCE,
    check_corrections,
    record_key,
    repairable_sources,
    repairs,
    without_repaired,
)
from features.point_in_time import ROW_NUMBER, USCC, VISIBLE_FROM, Timing, versions


@dataclass(frozen=True)
class SourceFamily:
    """A named group of sources: exact ``ids`` plus every id starting with ``prefix``."""

    ids: tuple[str, ...] = ()
    prefix: str | None = None
    exclude: tuple[str, ...] = ()

    def matches(self, source_id: str) -> bool:
        if source_id in self.exclude:
            return False
        return source_id in self.ids or (
            self.prefix is not None and source_id.startswith(self.prefix)
        )

    def members(self, available: Iterable[str]) -> list[str]:
        return sorted(s for s in set(available) if self.matches(s))

    def catalog_members(self) -> tuple[str, ...]:
        """Members among the shipped contracts; exact ids count even before their contract."""
        return tuple(sorted({*self.ids, *self.members(catalog.load_all())}))


def one(source_id: str) -> SourceFamily:
    return SourceFamily(ids=(source_id,))


def prefixed(prefix: str, exclude: tuple[str, ...] = ()) -> SourceFamily:
    return SourceFamily(prefix=prefix, exclude=exclude)


class SourceSet:
    """Lake frames by source id plus the contracts that say how to read them in time.

    When a repair source is among the frames (``features/credit_repair.py``), a repaired record
    of a repairable source stops being usable from its repair on, for every reader.
    """

    def __init__(
        self,
        frames: Mapping[str, pl.LazyFrame],
        contracts: Mapping[str, SourceContract] | None = None,
        corrections: pl.DataFrame | None = None,
    ) -> None:
        known = catalog.load_all() if contracts is None else contracts
        unknown = sorted(set(frames) - set(known))
        if unknown:
            raise KeyError(f"no contract for sources {unknown}")
        self.frames = dict(frames)
        self.contracts = {s: known[s] for s in frames}
        # Records withdrawn by people's decisions (an upheld objection to a fact): ``uscc``,
        # ``repaired_source``, ``repaired_record``, ``repaired_from``, read like repairs.
        self.corrections = check_corrections(corrections, self.contracts)
        # Set by ``for_firms`` when it codes firms: the frames before narrowing and the coding.
        self._unnarrowed: tuple[Mapping[str, pl.LazyFrame], pl.DataFrame] | None = None
        self._repairs: pl.DataFrame | None = None

    def for_firms(self, firms: pl.DataFrame) -> SourceSet:
        """The same sources holding only the rows that can matter for ``firms`` (a ``uscc``
        column): every version of every key that ever names one of them. When ``firms`` also
        has a ``code`` column (an integer per firm), the entity key is replaced by it (null for
        rows of other firms); joins and groupings on an integer are much cheaper than on the
        18-character code.

        A source keyed by document number may move a key to another firm in a revision; its
        other versions are kept so that the latest still supersedes them. A source whose key
        includes the firm cannot, and is narrowed by firm alone."""
        wanted = firms.lazy().with_columns(pl.lit(True).alias("_wanted"))
        coding = "code" in firms.columns
        narrowed = {}
        for source_id, frame in self.frames.items():
            entity = self.contracts[source_id].entity_key
            key = list(self.contracts[source_id].unique_key)
            # Rows keep their number in the source (``versions`` breaks ties by it), so the
            # joins need not keep the order, which costs about a third more.
            frame = frame.with_row_index(ROW_NUMBER)
            if entity in key:
                rows = frame.join(wanted, left_on=entity, right_on=USCC, how="inner")
            else:
                rows = frame.join(wanted, left_on=entity, right_on=USCC, how="left")
                touched = rows.filter(pl.col("_wanted")).select(key).unique()
                rows = rows.join(touched, on=key, how="semi")
            rows = rows.drop("_wanted")
            if coding:
                rows = rows.drop(entity, strict=False).rename({"code": entity})
            narrowed[source_id] = rows
        corrections = self.corrections
        if coding:  # the records' firms coded like the rows they withdraw
            corrections = (
                corrections.join(firms.select(USCC, "code"), on=USCC, how="inner")
                .drop(USCC)
                .rename({"code": USCC})
                .select(corrections.columns)
            )
        subset = SourceSet(narrowed, self.contracts, corrections)
        if coding:
            subset._unnarrowed = (self.frames, firms.select(USCC, "code"))
        return subset

    def first_usable(self, source_id: str) -> pl.LazyFrame:
        """``uscc`` and ``_visible_from``: per firm, the first day one of the source's rows on it
        is usable (event time and arrival both passed)."""
        timing = self.timing(source_id)
        usable_from = pl.max_horizontal(
            pl.col(timing.event_time).cast(pl.Date), pl.col(timing.arrival_time).cast(pl.Date)
        )

        def first(frame: pl.LazyFrame) -> pl.LazyFrame:
            return frame.group_by(pl.col(timing.entity_key).alias(USCC)).agg(
                usable_from.min().alias(VISIBLE_FROM)
            )

        if self._unnarrowed is None:
            return first(self.frames[source_id])
        # Grouped before the firms are coded: one pass over the source's text keys (then a join
        # of one row per firm) instead of a join of every row and a grouping after it. The
        # narrowed frame holds every row naming a scored firm, so the firsts are the same.
        frames, codes = self._unnarrowed
        return (
            first(frames[source_id])
            .join(codes.lazy(), on=USCC, how="inner")
            .select(pl.col("code").alias(USCC), VISIBLE_FROM)
        )

    def __contains__(self, source_id: str) -> bool:
        return source_id in self.frames

    def ids(self) -> list[str]:
        return sorted(self.frames)

    def family(self, family: SourceFamily) -> list[str]:
        return family.members(self.frames)

    def timing(self, source_id: str) -> Timing:
        return Timing.of(self.contracts[source_id])

    def versions(self, source_id: str, columns: Sequence[str] = ()) -> pl.LazyFrame:
        """The source's row versions (``point_in_time.versions``), a repaired record's ending
        at its repair."""
        corrected = set(self.corrections[REPAIRED_SOURCE].unique().to_list())
        if source_id not in repairable_sources(self.contracts) | corrected:
            return versions(self.frames[source_id], self.timing(source_id), columns)
        key = record_key(self.contracts[source_id])
        found = versions(self.frames[source_id], self.timing(source_id), [*columns, key])
        repaired = self.repairs().filter(pl.col(REPAIRED_SOURCE) == source_id)
        if repaired.height == 0:
            return found if key in columns else found.drop(key)
        kept = without_repaired(found, key, repaired.lazy())
        return kept if key in columns else kept.drop(key)

    def repairs(self) -> pl.DataFrame:
        """Every repaired or corrected record with the first day its repair (or the decision
        withdrawing it) is in effect and known (``credit_repair.repairs``; computed once per
        set). Both for one record: the earlier counts."""
        if self._repairs is None:
            found = repairs(self.frames, self.contracts)
            if self.corrections.height:
                found = (
                    # With no repair source among the frames, ``found`` is an empty frame
                    # keyed by text even when the firms are coded.
                    pl.concat([found.cast(self.corrections.schema), self.corrections])
                    .group_by(USCC, REPAIRED_SOURCE, REPAIRED_RECORD)
                    .agg(pl.col(REPAIRED_FROM).min())
                    .sort(USCC, REPAIRED_SOURCE, REPAIRED_RECORD)
                )
            self._repairs = found
        return self._repairs

    def family_versions(
        self, family: SourceFamily, columns: Sequence[str] = (), source_column: str = "_source"
    ) -> pl.LazyFrame | None:
        """The versions of every present member, stacked, with the member id in
        ``source_column``; None when no member is present."""
        members = self.family(family)
        if not members:
            return None
        return pl.concat(
            [
                self.versions(s, columns).with_columns(pl.lit(s).alias(source_column))
                for s in members
            ],
            how="vertical_relaxed",
        )
