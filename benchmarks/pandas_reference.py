"""A pandas reference for a representative subset of the EWS features, written the way a capable
analyst would: load each source once, then for every as-of date filter to the rows usable at that
date, keep the latest revision of each key, and aggregate with groupby/merge.

Families covered: the active-firm grid (registration master, distress events), firm profile,
capital reductions, social-insurance arrears (every ``si_*`` source), insured headcount,
complaints (every ``complaint_*`` source, with growth and the sector comparison), penalties
(every ``penalty_*`` source, by severity, kind and department group) and data coverage.

It imports neither polars nor the EWS feature code: the parent benchmark hands it a plan (source
columns, keys and family members, as plain JSON) so each side is measured on its own.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

ACTIVE = "存续"
WINDOWS = (90, 180, 365)


def load(lake: str, source: dict[str, Any], columns: Sequence[str]) -> pd.DataFrame:
    """Every accepted row of one source, the needed columns only, dates as datetime64."""
    files = sorted(glob.glob(os.path.join(lake, source["id"], "delivery=*", "part-0.parquet")))
    keep = list(
        dict.fromkeys(
            [
                source["entity_key"],
                source["event_time"],
                source["arrival_time"],
                *source["unique_key"],
                *columns,
            ]
        )
    )
    if not files:
        return pd.DataFrame(columns=keep)
    frame = pd.concat([pd.read_parquet(f, columns=keep) for f in files], ignore_index=True)
    frame = frame.rename(columns={source["entity_key"]: "uscc"})
    frame["_event"] = pd.to_datetime(frame[source["event_time"]])
    frame["_arrival_day"] = pd.to_datetime(frame[source["arrival_time"]]).dt.normalize()
    frame["_arrival"] = pd.to_datetime(frame[source["arrival_time"]])
    frame["_source"] = source["id"]
    # Sorted once by arrival (stable: equal arrivals keep their order), so that for every date
    # a filter keeps that order and the last row of a key is its latest revision.
    return frame.sort_values([*source.get("order_by", []), "_arrival"], kind="stable")


def usable(frame: pd.DataFrame, source: dict[str, Any], as_of: pd.Timestamp) -> pd.DataFrame:
    """Rows usable at the date, the latest arrival of each key (ties: the later row)."""
    seen = frame[(frame["_event"] <= as_of) & (frame["_arrival_day"] <= as_of)]
    key = ["uscc" if k == source["entity_key"] else k for k in source["unique_key"]]
    return seen.drop_duplicates(key, keep="last")


def month_index(dates: pd.Series) -> pd.Series:
    return dates.dt.year * 12 + dates.dt.month - 1


class Reference:
    def __init__(self, lake: str, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.sources = {s["id"]: s for s in plan["sources"]}
        self.sources["reg_enterprise_master"]["order_by"] = ["snapshot_date"]
        self.data = {
            sid: load(lake, self.sources[sid], cols) for sid, cols in plan["columns"].items()
        }

    def members(self, family: str) -> list[str]:
        return [s for s in self.plan["families"][family] if s in self.data]

    def current(self, source_id: str, as_of: pd.Timestamp) -> pd.DataFrame:
        return usable(self.data[source_id], self.sources[source_id], as_of)

    def family_current(self, family: str, as_of: pd.Timestamp) -> pd.DataFrame:
        frames = [self.current(s, as_of) for s in self.members(family)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    # -- the grid of active firms and their profile
    def grid(self, as_of: pd.Timestamp) -> pd.DataFrame:
        # The master is loaded sorted by snapshot date, then arrival: the last row is the latest.
        latest = self.current("reg_enterprise_master", as_of).drop_duplicates("uscc", keep="last")
        firms = latest[latest["status"] == ACTIVE]
        if "outcome_distress_event" in self.data:
            failed = self.current("outcome_distress_event", as_of)["uscc"].unique()
            firms = firms[~firms["uscc"].isin(failed)]
        out = firms[["uscc", "sector", "district", "registered_capital"]].copy()
        out["registered_capital"] = out["registered_capital"].astype(float)
        age = (as_of - pd.to_datetime(firms["established_date"])).dt.days / 365.25
        out["firm_age_years"] = age.to_numpy()
        out["as_of"] = as_of
        return out.reset_index(drop=True)

    # -- capital reductions
    def capital(self, grid: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
        changes = self.current("reg_capital_change", as_of)
        cuts = changes[changes["capital_after"] < changes["capital_before"]].copy()
        cuts["amount"] = cuts["capital_before"] - cuts["capital_after"]
        age = (as_of - cuts["_event"]).dt.days
        out = grid[["uscc"]].copy()
        for w in WINDOWS:
            n = cuts[age < w].groupby("uscc").size()
            out[f"capital_reduction_count_{w}d"] = out["uscc"].map(n).fillna(0).astype(float)
        for w in (180, 365):
            amount = cuts[age < w].groupby("uscc")["amount"].sum()
            out[f"capital_reduction_amount_{w}d"] = out["uscc"].map(amount).fillna(0.0)
        amount = out["capital_reduction_amount_365d"]
        base = grid["registered_capital"] + amount
        out["capital_reduction_share_365d"] = np.where(
            base != 0, amount / base.where(base != 0), np.nan
        )
        last = cuts[age < 3 * 365].groupby("uscc")["_event"].max()
        out["days_since_capital_reduction"] = (as_of - out["uscc"].map(last)).dt.days
        return out

    # -- social insurance arrears and headcount
    def social_insurance(self, grid: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
        rows = self.family_current("social_insurance", as_of)
        out = grid[["uscc"]].copy()
        if rows.empty:
            return out
        rows = rows[rows["uscc"].isin(grid["uscc"])].copy()
        rows["_month"] = month_index(rows["_event"])
        rows["_latest"] = rows.groupby("uscc")["_month"].transform("max")
        rows["_lag"] = rows["_latest"] - rows["_month"]
        rows = rows[rows["_lag"] < 12]
        per_month = (
            rows.groupby(["uscc", "_lag"])
            .agg(
                arrears=("arrears_amount", "sum"),
                paid=("amount_paid", "sum"),
                due=("amount_due", "sum"),
            )
            .reset_index()
        )
        per_month["late"] = per_month["arrears"] > 0
        late = per_month.pivot(index="uscc", columns="_lag", values="late")
        late = late.reindex(columns=range(12)).fillna(False).astype(bool)
        feats = pd.DataFrame(index=late.index)
        for w in (3, 6, 12):
            feats[f"si_arrears_months_{w}m"] = late.iloc[:, :w].sum(axis=1).astype(float)
        feats["si_arrears_consecutive_months"] = late.cumprod(axis=1).sum(axis=1).astype(float)
        by_lag = per_month.pivot(index="uscc", columns="_lag", values=["arrears", "paid", "due"])

        def window_sum(column: str, lags: range) -> pd.Series:
            cols = [(column, j) for j in lags if (column, j) in by_lag.columns]
            if not cols:
                return pd.Series(np.nan, index=by_lag.index)
            return by_lag[cols].sum(axis=1, min_count=1)

        for w in (3, 12):
            feats[f"si_arrears_amount_{w}m"] = window_sum("arrears", range(w))
        feats["si_arrears_amount_trend_3m"] = window_sum("arrears", range(3)) - window_sum(
            "arrears", range(3, 6)
        ).fillna(0.0)
        due = window_sum("due", range(3))
        feats["si_paid_ratio_3m"] = window_sum("paid", range(3)) / due.where(due != 0)
        latest = rows.groupby("uscc")["_latest"].first()
        feats["si_months_since_report"] = (as_of.year * 12 + as_of.month - 1 - latest).astype(float)
        return out.merge(feats.reset_index(), on="uscc", how="left")

    def headcount(self, grid: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
        out = grid[["uscc"]].copy()
        if "si_pension" not in self.data:
            return out
        rows = self.current("si_pension", as_of)
        rows = rows[rows["uscc"].isin(grid["uscc"])].copy()
        rows["_month"] = month_index(rows["_event"])
        rows["_lag"] = rows.groupby("uscc")["_month"].transform("max") - rows["_month"]
        counts = rows.pivot_table(
            index="uscc", columns="_lag", values="insured_count", aggfunc="sum"
        ).astype(float)
        now = counts[0]
        feats = pd.DataFrame({"headcount_latest": now})
        for lag in (3, 6, 12):
            then = counts[lag] if lag in counts.columns else pd.Series(np.nan, index=counts.index)
            feats[f"headcount_change_{lag}m"] = now - then
            feats[f"headcount_change_rel_{lag}m"] = np.where(then > 0, now / then - 1.0, np.nan)
        return out.merge(feats.rename_axis("uscc").reset_index(), on="uscc", how="left")

    # -- complaints
    def complaints(self, grid: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
        rows = self.family_current("complaints", as_of)
        out = grid[["uscc"]].copy()
        if rows.empty:
            return out
        names = self.plan["complaints"]
        hotline = rows["_source"] == "complaint_12345"
        category = rows["category"] if "category" in rows else pd.Series(None, index=rows.index)
        rows = rows.assign(
            complaint=1.0,
            wage=(
                (hotline & (category == names["wage_arrears"]))
                | (rows["_source"] == "complaint_wage_arrears")
            ).astype(float),
            prepaid=(
                (hotline & (category == names["prepaid_refund"]))
                | (rows["_source"] == "complaint_prepaid_refund")
            ).astype(float),
            dispute=(rows["_source"] == "complaint_financial_dispute").astype(float),
            fundraising=(
                (rows["_source"] == "complaint_financial_dispute")
                & category.isin(names["fundraising"])
            ).astype(float),
        )
        age = (as_of - rows["_event"]).dt.days
        specs = {
            **{f"complaint_count_{w}d": ("complaint", w) for w in WINDOWS},
            **{f"complaint_wage_arrears_count_{w}d": ("wage", w) for w in (90, 365)},
            **{f"complaint_prepaid_refund_count_{w}d": ("prepaid", w) for w in (90, 365)},
            **{f"financial_dispute_count_{w}d": ("dispute", w) for w in (90, 365)},
            "financial_dispute_amount_365d": ("dispute_amount", 365),
            "financial_dispute_fundraising_count_365d": ("fundraising", 365),
            "prepaid_refund_amount_365d": ("refund_amount", 365),
            "prepaid_refund_students_365d": ("students_affected", 365),
        }
        for name, (measure, w) in specs.items():
            sums = rows[age < w].groupby("uscc")[measure].sum()
            out[name] = out["uscc"].map(sums).fillna(0.0).astype(float)
        recent, year = out["complaint_count_90d"], out["complaint_count_365d"]
        out["complaint_growth_90d"] = (recent + 1.0) / ((year - recent) * 90 / 275 + 1.0)
        sector_median = year.groupby(grid["sector"]).transform("median")
        out["complaint_vs_sector_365d"] = year - sector_median
        return out

    # -- penalties
    def penalties(self, grid: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
        rows = self.family_current("penalties", as_of)
        out = grid[["uscc"]].copy()
        if rows.empty:
            return out
        names = self.plan["penalties"]
        group = rows["_source"].map(names["groups"]).fillna("other")
        rows = rows.assign(
            penalty=1.0,
            major=(rows["severity"] == names["major"]).astype(float),
            serious=(rows["severity"] == names["serious"]).astype(float),
            suspension=rows["penalty_type"].isin(names["suspension"]).astype(float),
            **{f"group_{g}": (group == g).astype(float) for g in names["all_groups"]},
        )
        age = (as_of - rows["_event"]).dt.days
        specs = {
            **{f"penalty_count_{w}d": ("penalty", w) for w in WINDOWS},
            "penalty_fine_amount_365d": ("fine_amount", 365),
            "penalty_major_count_365d": ("major", 365),
            "penalty_serious_count_365d": ("serious", 365),
            "penalty_suspension_count_365d": ("suspension", 365),
            **{f"penalty_{g}_count_365d": (f"group_{g}", 365) for g in names["all_groups"]},
        }
        for name, (measure, w) in specs.items():
            sums = rows[age < w].groupby("uscc")[measure].sum()
            out[name] = out["uscc"].map(sums).fillna(0.0).astype(float)
        return out

    # -- coverage
    def first_known(self) -> pd.DataFrame:
        """The first day each source could see each firm (it does not depend on the date)."""
        if not hasattr(self, "_first_known"):
            parts = []
            for source_id, frame in self.data.items():
                if source_id == "outcome_distress_event":
                    continue
                usable_from = np.maximum(
                    frame["_event"].to_numpy(), frame["_arrival_day"].to_numpy()
                )
                first = pd.Series(usable_from, index=frame.index).groupby(frame["uscc"]).min()
                parts.append(
                    pd.DataFrame(
                        {
                            "uscc": first.index,
                            "first": first.to_numpy(),
                            "panel": self.sources[source_id]["grain"] == "monthly",
                        }
                    )
                )
            self._first_known = pd.concat(parts, ignore_index=True)
        return self._first_known

    def coverage(self, grid: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
        known = self.first_known()
        known = known[known["first"] <= as_of]
        counts = known.groupby("uscc").agg(n=("panel", "size"), panels=("panel", "sum"))
        out = grid[["uscc"]].copy()
        out["n_sources_known"] = out["uscc"].map(counts["n"]).fillna(0).astype(int)
        panels = out["uscc"].map(counts["panels"]).fillna(0)
        out["insufficient_data"] = (out["n_sources_known"] < 3) | (panels < 1)
        return out

    def table(self, as_of_dates: Sequence[str]) -> pd.DataFrame:
        parts = []
        for day in as_of_dates:
            as_of = pd.Timestamp(day)
            grid = self.grid(as_of)
            frame = grid
            for family in (
                self.capital,
                self.social_insurance,
                self.headcount,
                self.complaints,
                self.penalties,
                self.coverage,
            ):
                frame = frame.merge(family(grid, as_of), on="uscc", how="left")
            parts.append(frame)
        return pd.concat(parts, ignore_index=True)
