"""Latent monthly stress, distress events and exits: the part of the world no source sees directly.

Every entity gets a stress level in [0, 1] for each month of the calendar grid:

    stress = baseline + sector factor + temporary episodes + distress ramp + noise   (clipped)

* baseline: chronic, per firm (a Beta draw, a little higher for frail firms);
* sector factor: a slow common swing per industry (AR(1));
* episodes: temporary stress that recovers, in any firm (the false alarms);
* distress ramp: distressed firms climb to a peak over 3-15 months before their event date;
  silent failures climb to a low peak only;
* noise: month-to-month jitter.

Distress strikes with an annual hazard per industry, scaled by size band, ownership, youth and
an unobserved frailty; a distressed firm's legal representative's other entities follow with
some probability (contagion). After its event a firm's rows stop arriving within months and its
registration may be revoked (吊销) or cancelled (注销); healthy firms also leave (迁出, 注销).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from data_contracts.simulate.calendar import SimCalendar
from data_contracts.simulate.config import Stress, WorldParams

NOT_A_DATE = np.datetime64("NaT", "D")
DAYS_PER_MONTH = 30.44
ACTIVE = "存续"
REVOKED = "吊销"
CANCELLED = "注销"
MOVED_OUT = "迁出"
STATUSES = (ACTIVE, REVOKED, CANCELLED, MOVED_OUT)


@dataclass(frozen=True)
class Fate:
    """Per-entity latent facts (one array element per entity)."""

    frailty: np.ndarray
    distress_date: np.ndarray  # datetime64[D], NaT when the entity is never distressed
    silent: np.ndarray
    contagion: np.ndarray  # distressed because a co-represented entity was
    ramp_months: np.ndarray
    ramp_peak: np.ndarray
    vanish_date: np.ndarray  # last day rows about the entity are produced (NaT: never)
    status_date: np.ndarray  # when the registration status changed (NaT: still 存续)
    exit_status: np.ndarray

    def columns(self) -> dict[str, np.ndarray]:
        return dict(self.__dict__)


def _months(rng: np.random.Generator, bounds: tuple[int, int], size: int) -> np.ndarray:
    return rng.integers(bounds[0], bounds[1] + 1, size)


def _days_after(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    return days + np.round(months * DAYS_PER_MONTH).astype("timedelta64[D]")


def _hazard(params: WorldParams, firms: pl.DataFrame, frailty: np.ndarray) -> np.ndarray:
    industry = firms["industry"].to_numpy()
    kind = firms["entity_kind"].to_numpy()
    base = np.array([params.industries[i].annual_hazard for i in industry.tolist()])
    for k, spec in params.non_enterprises.items():
        base[kind == k] = spec.annual_hazard
    band = np.array([params.size_bands[b].hazard for b in firms["size_band"].to_list()])
    owner = np.array([params.ownership_hazard[o] for o in firms["ownership_type"].to_list()])
    # Relative risks shift hazard between firms of a group; the group's mean stays the nominal
    # annual hazard.
    relative = band * owner * frailty
    group = np.where(np.isin(kind, list(params.non_enterprises)), kind, industry)
    for key in np.unique(group):
        here = group == key
        relative[here] /= relative[here].mean()
    return base * relative


def draw_fate(
    rng: np.random.Generator, params: WorldParams, firms: pl.DataFrame, calendar: SimCalendar
) -> Fate:
    n = firms.height
    sp, ex = params.stress, params.exits
    established = firms["established_date"].to_numpy().astype("datetime64[D]")
    frailty = rng.gamma(sp.frailty_shape, 1.0 / sp.frailty_shape, n)

    # Distress can strike from the start of the history window to the end of the grid.
    risk_start = np.maximum(established, calendar.window_start)
    risk_end = calendar.grid_end
    at_risk_days = np.maximum((risk_end - risk_start).astype(np.int64), 0)
    young_end = established + np.timedelta64(int(sp.young_firm_years * 365.25), "D")
    young_days = np.clip((np.minimum(young_end, risk_end) - risk_start).astype(np.int64), 0, None)
    exposure = (at_risk_days + (sp.young_hazard - 1.0) * young_days) / 365.25
    distressed = rng.random(n) < 1.0 - np.exp(-_hazard(params, firms, frailty) * exposure)
    offset = np.floor(rng.random(n) * at_risk_days).astype("timedelta64[D]")
    distress_date = np.where(distressed, risk_start + offset, NOT_A_DATE)

    contagion = _contagion(rng, params, firms, distress_date)
    spread = _spread_dates(rng, params, firms, distress_date)
    contagion &= (spread > established) & (spread < risk_end)
    distress_date = np.where(contagion, spread, distress_date)
    distressed = ~np.isnat(distress_date)

    silent = distressed & (rng.random(n) < sp.silent_share)
    ramp_months = np.where(distressed, _months(rng, sp.ramp_months, n), 0)
    ramp_peak = np.where(silent, rng.uniform(*sp.silent_peak, n), rng.uniform(*sp.ramp_peak, n))
    ramp_peak = np.where(distressed, ramp_peak, 0.0)

    vanish = np.where(
        distressed,
        _days_after(distress_date, _months(rng, ex.vanish_months_after_distress, n)),
        NOT_A_DATE,
    )
    fate_draw = rng.random(n)
    revoked = distressed & (fate_draw < ex.revoked_share)
    cancelled = distressed & ~revoked & (fate_draw < ex.revoked_share + ex.cancelled_share)
    status_date = np.full(n, NOT_A_DATE)
    status_date[revoked] = _days_after(
        distress_date[revoked], _months(rng, ex.revoked_after_months, int(revoked.sum()))
    )
    status_date[cancelled] = _days_after(
        distress_date[cancelled], _months(rng, ex.cancelled_after_months, int(cancelled.sum()))
    )
    exit_status = np.full(n, ACTIVE, dtype="<U2")
    exit_status[revoked] = REVOKED
    exit_status[cancelled] = CANCELLED

    # Healthy entities leave too: they move out of the park or wind up voluntarily.
    window_days = max(int((calendar.end_day - calendar.window_start).astype(np.int64)), 1)
    leaves = ~distressed & (
        rng.random(n) < 1.0 - np.exp(-ex.healthy_exit_per_year * window_days / 365.25)
    )
    leave_date = calendar.window_start + np.floor(rng.random(n) * window_days).astype(
        "timedelta64[D]"
    )
    leaves &= leave_date > established
    vanish[leaves] = leave_date[leaves]
    status_date[leaves] = leave_date[leaves]
    exit_status[leaves] = np.where(
        rng.random(int(leaves.sum())) < ex.moved_out_share, MOVED_OUT, CANCELLED
    )
    return Fate(
        frailty=frailty,
        distress_date=distress_date,
        silent=silent,
        contagion=contagion,
        ramp_months=ramp_months,
        ramp_peak=ramp_peak,
        vanish_date=vanish,
        status_date=status_date,
        exit_status=exit_status,
    )


def _contagion(
    rng: np.random.Generator, params: WorldParams, firms: pl.DataFrame, distress_date: np.ndarray
) -> np.ndarray:
    """Entities that become distressed because another entity of their legal rep did."""
    person = firms["legal_rep_person"].to_numpy()
    first = _first_distress_of_person(person, distress_date)
    candidate = np.isnat(distress_date) & ~np.isnat(first)
    return candidate & (rng.random(len(person)) < params.legal_reps.contagion)


def _first_distress_of_person(person: np.ndarray, distress_date: np.ndarray) -> np.ndarray:
    days = np.where(np.isnat(distress_date), np.iinfo(np.int64).max, distress_date.astype(np.int64))
    earliest = np.full(int(person.max()) + 1, np.iinfo(np.int64).max)
    np.minimum.at(earliest, person, days)
    first = earliest[person]
    return np.where(first == np.iinfo(np.int64).max, NOT_A_DATE, first.astype("datetime64[D]"))


def _spread_dates(
    rng: np.random.Generator, params: WorldParams, firms: pl.DataFrame, distress_date: np.ndarray
) -> np.ndarray:
    """A contagious event date: the co-represented entity's date shifted by a few months."""
    first = _first_distress_of_person(firms["legal_rep_person"].to_numpy(), distress_date)
    lag = rng.uniform(*params.legal_reps.contagion_lag_months, len(first))
    return _days_after(first, lag)


def stress_matrix(
    rng: np.random.Generator,
    params: WorldParams,
    firms: pl.DataFrame,
    fate: Fate,
    calendar: SimCalendar,
) -> np.ndarray:
    """Monthly latent stress, float32 of shape (entities, grid months), values in [0, 1]."""
    sp = params.stress
    n, g = firms.height, calendar.n_months
    baseline = rng.beta(*sp.baseline_beta, n) * fate.frailty**0.3
    stress = np.repeat(baseline[:, None], g, axis=1)

    industry = firms["industry"].to_numpy()
    for key in params.industries:
        factor = np.zeros(g)
        shocks = rng.normal(0.0, sp.sector_factor_sd, g)
        for t in range(g):
            factor[t] = (0.8 * factor[t - 1] if t else 0.0) + shocks[t]
        stress[industry == key] += factor[None, :]

    _add_episodes(rng, sp, stress)
    _add_ramps(stress, fate, calendar, sp.ramp_power)
    stress += rng.normal(0.0, sp.noise_sd, stress.shape)
    return np.clip(stress, 0.0, 1.0).astype(np.float32)


def _add_episodes(rng: np.random.Generator, sp: Stress, stress: np.ndarray) -> None:
    n, g = stress.shape
    counts = rng.poisson(sp.episodes_per_year * g / 12.0, n)
    firm = np.repeat(np.arange(n), counts)
    k = len(firm)
    if k == 0:
        return
    start = rng.integers(0, g, k)
    rise = _months(rng, sp.episode_rise_months, k)
    recover = _months(rng, sp.episode_recover_months, k)
    peak = rng.uniform(*sp.episode_peak, k)
    length = rise + recover
    episode = np.repeat(np.arange(k), length)
    step = np.arange(len(episode)) - np.repeat(np.cumsum(length) - length, length)
    up = (step + 1) / rise[episode]
    down = 1.0 - (step - rise[episode] + 1) / (recover[episode] + 1)
    value = peak[episode] * np.where(step < rise[episode], up, down)
    month = start[episode] + step
    inside = month < g
    np.add.at(stress, (firm[episode][inside], month[inside]), value[inside])


def _add_ramps(stress: np.ndarray, fate: Fate, calendar: SimCalendar, power: float) -> None:
    distressed = np.flatnonzero(~np.isnat(fate.distress_date))
    if len(distressed) == 0:
        return
    event_month = calendar.month_index(fate.distress_date[distressed])
    length = fate.ramp_months[distressed]
    months = np.arange(calendar.n_months)[None, :]
    progress = (months - (event_month - length)[:, None]) / length[:, None]
    ramp = np.clip(progress, 0.0, 1.0) ** power * fate.ramp_peak[distressed][:, None]
    stress[distressed] += ramp
