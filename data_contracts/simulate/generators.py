"""Which rows a source has: one algorithm per ``simulation.generator`` kind.

A generator decides, for one source, the entity, the event day, the arrival time and the
(lagged) stress of every row. Columns are filled afterwards by role (``columns.py``), the same
way for every kind. Rows are limited to what the source covers, to the history window, to
entities that exist (registered, not yet vanished) and to what has arrived by the end date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from data_contracts.departments import Department, load_departments
from data_contracts.schema import Column, ColumnType, SourceContract
from data_contracts.simulate.calendar import DAY
from data_contracts.simulate.config import Arrivals, vocabulary
from data_contracts.simulate.identities import DIGITS, encode, join_columns, person_names
from data_contracts.simulate.stress import ACTIVE
from data_contracts.simulate.world import World

US_PER_DAY = 86_400_000_000
NIGHT_BATCH_US = 6 * 3_600_000_000  # snapshot files are pushed between midnight and 06:00


@dataclass
class Rows:
    """The skeleton of a source's rows, one array element per row."""

    firm: np.ndarray  # entity index
    day: np.ndarray  # datetime64[D]: the event time (period start for monthly and annual)
    arrival: np.ndarray  # datetime64[us]
    stress: np.ndarray  # the entity's stress at the row, lagged by the source's lag_days
    counterpart: np.ndarray | None = None  # linked entity (linked_firms)
    # Days for date columns without a sim role (a licence's expiry, a confirmation date).
    secondary_day: np.ndarray | None = None
    # Column values a generator decides itself (a licence number, a link's status).
    fixed: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.firm)

    def take(self, index: np.ndarray) -> Rows:
        return Rows(
            firm=self.firm[index],
            day=self.day[index],
            arrival=self.arrival[index],
            stress=self.stress[index],
            counterpart=None if self.counterpart is None else self.counterpart[index],
            secondary_day=None if self.secondary_day is None else self.secondary_day[index],
            fixed={k: v[index] for k, v in self.fixed.items()},
        )


def covered_entities(
    contract: SourceContract, world: World, rng: np.random.Generator
) -> np.ndarray:
    """Mask of entities the source knows at all (its coverage by industry and entity kind)."""
    coverage = world.params.coverage(contract.id)
    industries = world.array("industry")
    share = np.ones(world.n) if not coverage else np.zeros(world.n)
    for industry, value in coverage.items():
        share[industries == industry] = value
    kinds = world.array("entity_kind")
    for kind, factors in world.params.kind_coverage.items():
        share[kinds == kind] *= factors.get(contract.domain.value, 0.0)
    return rng.random(world.n) < share


def arrival_times(
    rng: np.random.Generator, arrivals: Arrivals, base: np.ndarray, delay_days: int
) -> np.ndarray:
    """When rows reach the platform: ``base`` plus a heavy-tailed delay and a time of day.

    The delay is log-normal around ``delay_days``; a small share of rows comes months late.
    """
    n = len(base)
    delay = delay_days * rng.lognormal(0.0, arrivals.delay_sigma, n) if delay_days else np.zeros(n)
    late = rng.random(n) < arrivals.late_share
    delay = delay + np.where(late, rng.uniform(*arrivals.late_extra_days, n), 0.0)
    micros = np.floor((delay + rng.random(n)) * US_PER_DAY).astype(np.int64)
    micros -= micros % 1_000_000  # whole seconds
    return base.astype("datetime64[us]") + micros.astype("timedelta64[us]")


def _alive_mask(world: World, firms: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Entity registered by ``last`` and not vanished before ``first``."""
    established = world.array("established_date")[firms]
    return (established <= last) & (world.alive_until()[firms] >= first)


def _stress(world: World, contract: SourceContract, firms: np.ndarray, days: np.ndarray):
    return world.stress_at(firms, days, contract.simulation.lag_days)


def snapshot_rows(contract: SourceContract, world: World, rng: np.random.Generator) -> Rows:
    """The registry as of each snapshot: month ends in the backfill, weekly after.

    A snapshot holds every covered entity registered by its date (deregistered ones stay, with
    their new status) and arrives whole, ``delay_days`` later in one night batch.
    """
    cal = world.calendar
    delay = np.timedelta64(contract.simulation.delay_days, "D")
    month_ends = (np.arange(cal.window_start_month, cal.end_month + 1) + 1).astype(
        "datetime64[D]"
    ) - DAY
    monthly = month_ends[month_ends + delay <= cal.backfill_date]
    weekly = cal.weekly_dates - delay
    snapshots = np.concatenate([monthly, weekly])
    covered = np.flatnonzero(covered_entities(contract, world, rng))
    established = world.array("established_date")[covered]
    parts = [covered[established <= day] for day in snapshots]
    firm = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    day = np.repeat(snapshots, [len(p) for p in parts])
    batch_time = rng.integers(0, NIGHT_BATCH_US // 1_000_000, len(snapshots)) * 1_000_000
    arrival = (snapshots + delay).astype("datetime64[us]") + batch_time.astype("timedelta64[us]")
    return Rows(
        firm=firm,
        day=day,
        arrival=np.repeat(arrival, [len(p) for p in parts]),
        stress=_stress(world, contract, firm, day),
    )


def monthly_rows(contract: SourceContract, world: World, rng: np.random.Generator) -> Rows:
    """One row per covered entity and month it existed; a few months never arrive.

    Rows describe a whole month, so they arrive ``delay_days`` after the month ends.
    """
    cal = world.calendar
    months = np.arange(cal.window_start_month, cal.end_month + 1)
    covered = np.flatnonzero(covered_entities(contract, world, rng))
    firm = np.repeat(covered, len(months))
    month = np.tile(months, len(covered))
    start = month.astype("datetime64[D]")
    end = (month + 1).astype("datetime64[D]")
    keep = _alive_mask(world, firm, start, end - DAY)
    keep &= rng.random(len(firm)) >= world.params.signals.missing_month_share
    firm, start, end = firm[keep], start[keep], end[keep]
    arrival = arrival_times(rng, world.params.arrivals, end, contract.simulation.delay_days)
    return Rows(firm=firm, day=start, arrival=arrival, stress=_stress(world, contract, firm, start))


def event_rows(contract: SourceContract, world: World, rng: np.random.Generator) -> Rows:
    """Events at a rate per entity-year that rises with lagged stress.

    Monthly counts are Poisson with mean rate/12 x size x propensity x exp(k (stress - s0)):
    bigger firms and some firms (a Gamma propensity) simply have more events, and stress
    multiplies the rate by exp(k) at most.
    """
    sim = contract.simulation
    cal = world.calendar
    signals = world.params.signals
    covered = np.flatnonzero(covered_entities(contract, world, rng))
    if sim.rate <= 0 or len(covered) == 0:
        return _empty_rows()
    size = (world.array("employees")[covered] / 50.0) ** 0.3
    size /= size.mean()
    shape = signals.event_propensity_shape
    propensity = rng.gamma(shape, 1.0 / shape, len(covered))
    first = cal.window_offset - world.lag_months(sim.lag_days)
    months = np.clip(np.arange(first, first + cal.history_months), 0, cal.n_months - 1)
    lagged = world.stress[np.ix_(covered, months)]
    typical = world.params.stress.baseline_beta[0] / sum(world.params.stress.baseline_beta)
    mean = (
        (sim.rate / 12.0)
        * (size * propensity)[:, None]
        * np.exp(sim.stress_sensitivity * (lagged - typical))
    )
    counts = rng.poisson(mean).reshape(-1)
    cells = np.repeat(np.arange(len(counts)), counts)
    firm = covered[cells // cal.history_months]
    month = cal.window_start_month + (cells % cal.history_months)
    month_days = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(
        np.int64
    )
    day = month.astype("datetime64[D]") + np.floor(rng.random(len(firm)) * month_days).astype(
        "timedelta64[D]"
    )
    keep = (day <= cal.end_day) & _alive_mask(world, firm, day, day)
    firm, day = firm[keep], day[keep]
    arrival = arrival_times(rng, world.params.arrivals, day, sim.delay_days)
    return Rows(firm=firm, day=day, arrival=arrival, stress=_stress(world, contract, firm, day))


def annual_rows(contract: SourceContract, world: World, rng: np.random.Generator) -> Rows:
    """One filing per covered entity and year; stressed entities file less often.

    The row's day is 1 January of the reported year; the filing arrives ``delay_days`` after
    the year ends. The year before the window is included (its filings arrive in the window).
    """
    cal = world.calendar
    signals = world.params.signals
    first_year = int(str(cal.window_start)[:4]) - 1
    last_year = int(str(cal.end_day)[:4]) - 1
    years = np.arange(first_year, last_year + 1)
    covered = np.flatnonzero(covered_entities(contract, world, rng))
    firm = np.repeat(covered, len(years))
    year_start = np.tile(
        (years - 1970).astype("datetime64[Y]").astype("datetime64[D]"), len(covered)
    )
    year_end = (year_start.astype("datetime64[Y]") + 1).astype("datetime64[D]") - DAY
    arrival = arrival_times(
        rng, world.params.arrivals, year_end + DAY, contract.simulation.delay_days
    )
    filed_on = arrival.astype("datetime64[D]")
    keep = _alive_mask(world, firm, filed_on, year_end)
    stress = _stress(world, contract, firm, year_end)
    missing = signals.annual_missing_base + signals.annual_missing_stress * stress
    keep &= rng.random(len(firm)) >= missing
    return Rows(firm=firm, day=year_start, arrival=arrival, stress=stress).take(
        np.flatnonzero(keep)
    )


def _status_column(contract: SourceContract) -> str | None:
    """The category column in the unique key: a status that changes and is re-delivered."""
    for column in contract.columns:
        if column.name in contract.unique_key and column.sim and column.sim.role == "category":
            return column.name
    return None


def _unique_key_ids(contract: SourceContract) -> list[str]:
    """String key columns without a role: the generator numbers them (licence numbers)."""
    return [
        c.name
        for c in contract.columns
        if c.name in contract.unique_key and c.type == ColumnType.string and c.sim is None
    ]


def licence_rows(contract: SourceContract, world: World, rng: np.random.Generator) -> Rows:
    """Licences held by covered entities, re-delivered when their status changes.

    Each entity holds one licence or a few, issued within one validity period (3-5 years)
    before the end date. A licence first arrives with the status column's first allowed value
    (valid); some later change status, drawn from the column's weights with the stress weights
    mixed in by the entity's stress at the change, and arrive again with the new status. Date
    columns without a role carry the licence's expiry.
    """
    cal = world.calendar
    covered = np.flatnonzero(covered_entities(contract, world, rng))
    firm = np.repeat(covered, 1 + rng.poisson(0.3, len(covered)))
    n = len(firm)
    validity_years = rng.integers(3, 6, n)
    validity = (validity_years * 365.25).astype(np.int64)
    established = world.array("established_date")[firm]
    earliest = np.maximum(established, cal.end_day - validity.astype("timedelta64[D]"))
    span = np.maximum((cal.end_day - earliest).astype(np.int64), 1)
    issued = earliest + np.floor(rng.random(n) * span).astype("timedelta64[D]")
    keep = _alive_mask(world, firm, issued, issued)
    firm, issued, validity = firm[keep], issued[keep], validity[keep]
    n = len(firm)
    expiry = issued + validity.astype("timedelta64[D]")
    sim = contract.simulation
    base = Rows(
        firm=firm,
        day=issued,
        arrival=arrival_times(rng, world.params.arrivals, issued, sim.delay_days),
        stress=_stress(world, contract, firm, issued),
        secondary_day=expiry,
    )
    licence_no = _licence_numbers(contract, issued)
    base.fixed = {name: licence_no for name in _unique_key_ids(contract)}
    status = _status_column(contract)
    if status is None or n == 0:
        return base
    allowed = contract.column(status).allowed or []
    base.fixed[status] = np.full(n, allowed[0], dtype=object)
    # A status change happens some time after issue, before the end date or the expiry.
    horizon = np.minimum(expiry, cal.end_day)
    gap = np.maximum((horizon - issued).astype(np.int64), 1)
    changed_on = issued + np.floor(rng.random(n) * gap).astype("timedelta64[D]")
    stress_then = _stress(world, contract, firm, changed_on)
    new_status = category_codes(rng, contract.column(status), stress_then, sim.stress_sensitivity)
    changes = np.flatnonzero(new_status != 0)
    if len(changes) == 0:
        return base
    change = base.take(changes)
    change.fixed[status] = np.array(allowed, dtype=object)[new_status[changes]]
    # A status change reaches the platform after the licence it changes (a change made on the
    # day of issue would otherwise often arrive first, and the issue row would win as the latest).
    change.arrival = np.maximum(
        arrival_times(rng, world.params.arrivals, changed_on[changes], sim.delay_days),
        base.arrival[changes] + np.timedelta64(1, "s"),
    )
    change.stress = stress_then[changes]
    return concat_rows([base, change])


def _licence_numbers(contract: SourceContract, issued: np.ndarray) -> np.ndarray:
    years = np.datetime_as_string(issued, unit="Y")
    serial = encode(np.arange(1, len(issued) + 1), DIGITS, 7)
    return join_columns(source_abbreviation(contract.id), years, serial).astype(object)


def source_abbreviation(source_id: str) -> str:
    """Initials of a source id, digits kept whole: complaint_12345 -> C12345."""
    parts = source_id.split("_")
    return "".join(p if p.isdigit() else p[0] for p in parts).upper()


def linked_rows(contract: SourceContract, world: World, rng: np.random.Generator) -> Rows:
    """Links from covered entities to other entities, re-delivered when a linked one exits.

    An entity wants Poisson(rate) links: if it wants any, it is linked to every other entity its
    legal representative represents, then to random entities of the park up to that number.
    A link arrives when it starts with the status column's first allowed value; when the linked
    entity's registration status changes to one of the column's allowed values (revoked,
    cancelled), the link arrives again with it.
    """
    sim = contract.simulation
    cal = world.calendar
    covered = np.flatnonzero(covered_entities(contract, world, rng))
    firm, linked = _links(world, covered, rng.poisson(sim.rate, len(covered)), rng)
    established = world.array("established_date")
    start = np.maximum(established[firm], established[linked])
    keep = (start <= cal.end_day) & (world.alive_until()[firm] >= start)
    firm, linked, start = firm[keep], linked[keep], start[keep]
    base = Rows(
        firm=firm,
        day=start,
        arrival=arrival_times(rng, world.params.arrivals, start, sim.delay_days),
        stress=_stress(world, contract, firm, start),
        counterpart=linked,
    )
    status = _status_column(contract)
    if status is None or len(firm) == 0:
        return base
    allowed = contract.column(status).allowed or []
    base.fixed[status] = np.full(len(firm), allowed[0], dtype=object)
    exit_status = world.array("exit_status")[linked]
    changed_on = world.array("status_date")[linked]
    changes = np.flatnonzero(
        ~np.isnat(changed_on)
        & (changed_on <= cal.end_day)
        & (changed_on >= start)
        & np.isin(exit_status, [a for a in allowed if a != ACTIVE])
    )
    if len(changes) == 0:
        return base
    change = base.take(changes)
    change.day = changed_on[changes]
    change.fixed[status] = exit_status[changes].astype(object)
    change.arrival = arrival_times(rng, world.params.arrivals, change.day, sim.delay_days)
    change.stress = _stress(world, contract, change.firm, change.day)
    return concat_rows([base, change])


def _links(
    world: World, covered: np.ndarray, wanted: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (entity, linked entity): co-represented entities first, then random others."""
    person = world.array("legal_rep_person")
    order = np.argsort(person, kind="stable")
    sorted_person = person[order]
    group_start = np.searchsorted(sorted_person, person[covered], side="left")
    group_size = np.searchsorted(sorted_person, person[covered], side="right") - group_start
    firms, linked = [], []
    # An entity with any link knows all the person's other entities; random ones fill up to
    # the wanted number.
    max_size = int(group_size.max()) if len(covered) else 0
    for k in range(max_size):
        here = (group_size > k) & (wanted > 0)
        other = order[group_start[here] + k]
        mine = covered[here]
        new = other != mine
        firms.append(mine[new])
        linked.append(other[new])
    taken = np.bincount(
        np.concatenate([np.searchsorted(covered, f) for f in firms])
        if firms
        else np.zeros(0, dtype=np.int64),
        minlength=len(covered),
    )
    extra = np.maximum(wanted - taken, 0)
    mine = np.repeat(covered, extra)
    other = rng.integers(0, world.n - 1, len(mine))
    other = np.where(other >= mine, other + 1, other)  # never the entity itself
    firms.append(mine)
    linked.append(other)
    pairs = np.unique(np.stack([np.concatenate(firms), np.concatenate(linked)]), axis=1)
    return pairs[0], pairs[1]


def outcome_rows(contract: SourceContract, world: World, rng: np.random.Generator) -> Rows:
    """The ground truth: every distress event of a covered industry, confirmed and delivered
    ``delay_days`` (heavy-tailed) later. Date columns without a role hold the confirmation
    day, between the event and its arrival."""
    covered = covered_entities(contract, world, rng)
    distress = world.array("distress_date")
    firm = np.flatnonzero(covered & ~np.isnat(distress) & (distress <= world.calendar.end_day))
    day = distress[firm]
    arrival = arrival_times(rng, world.params.arrivals, day, contract.simulation.delay_days)
    lead = np.maximum((arrival.astype("datetime64[D]") - day).astype(np.int64), 0)
    confirmed = day + np.floor(rng.random(len(firm)) * (lead + 1)).astype("timedelta64[D]")
    return Rows(
        firm=firm,
        day=day,
        arrival=arrival,
        stress=_stress(world, contract, firm, day),
        secondary_day=confirmed,
    )


# ---------------------------------------------------------------- the regulators themselves

# An inspector stays on a department's roster for years; this share leaves (and is replaced by a
# newcomer) each year.
INSPECTOR_TURNOVER_PER_YEAR = 0.08
# Capacity declared for February, the month of the Spring Festival holiday, relative to others.
FEBRUARY_CAPACITY = 0.7
CAPACITY_NOISE_SD = 0.08


def _role_columns(contract: SourceContract, role: str) -> list[Column]:
    return [c for c in contract.columns if c.sim and c.sim.role == role]


def department_firms(world: World, department: Department) -> int:
    """Enterprises (not individual businesses) in the department's industries."""
    in_scope = np.isin(world.array("industry"), department.industries)
    return int((in_scope & (world.array("entity_kind") != "individual")).sum())


def department_capacity(world: World, department: Department) -> float:
    """The firms a department can inspect in an ordinary month (at least one)."""
    return max(1.0, department.simulation.capacity_share * department_firms(world, department))


def roster_rows(contract: SourceContract, world: World, rng: np.random.Generator) -> Rows:
    """Every enforcing department's inspectors, as the roster stood on each snapshot date.

    A department has enough inspectors for two per firm it can inspect in a month. Each holds a
    certificate number (region, year of issue, serial) and a name; each year some leave and are
    replaced. Snapshots are the backfill's month ends and the weekly dates, like the registry's.
    Rows: one per inspector on the roster at a snapshot (``firm`` is unused: 0).
    """
    cal = world.calendar
    departments, joined, left = [], [], []
    for department in load_departments().departments.values():
        seats = max(
            3,
            int(
                np.ceil(
                    2
                    * department_capacity(world, department)
                    / department.simulation.visits_per_inspector
                )
            ),
        )
        for _ in range(seats):
            # Who holds the seat: a chain of inspectors, each for an exponential tenure.
            start = cal.window_start - np.timedelta64(int(rng.integers(365, 365 * 15)), "D")
            while start < cal.grid_end:
                tenure = int(rng.exponential(365 / INSPECTOR_TURNOVER_PER_YEAR))
                end = start + np.timedelta64(max(tenure, 30), "D")
                departments.append(department.name.zh)
                joined.append(start)
                left.append(end)
                start = end
    n = len(joined)
    joined_days = np.array(joined, dtype="datetime64[D]")
    left_days = np.array(left, dtype="datetime64[D]")
    years = np.datetime_as_string(joined_days, unit="Y")
    serial = encode(np.arange(1, n + 1), DIGITS, 4)
    ids = join_columns("320594", years, serial).astype(object)
    names = person_names(rng, vocabulary(), n).astype(object)
    delay = np.timedelta64(contract.simulation.delay_days, "D")
    month_ends = (np.arange(cal.window_start_month, cal.end_month + 1) + 1).astype(
        "datetime64[D]"
    ) - DAY
    snapshots = np.concatenate(
        [month_ends[month_ends + delay <= cal.backfill_date], cal.weekly_dates - delay]
    )
    parts = [np.flatnonzero((joined_days <= day) & (left_days > day)) for day in snapshots]
    person = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    day = np.repeat(snapshots, [len(p) for p in parts])
    batch_time = rng.integers(0, NIGHT_BATCH_US // 1_000_000, len(snapshots)) * 1_000_000
    arrival = (snapshots + delay).astype("datetime64[us]") + batch_time.astype("timedelta64[us]")
    fixed = {}
    for column in _role_columns(contract, "inspector"):
        fixed[column.name] = (ids if column.sim.attr == "id" else names)[person]
    for column in _role_columns(contract, "department"):
        fixed[column.name] = np.array(departments, dtype=object)[person]
    return Rows(
        firm=np.zeros(len(person), dtype=np.int64),
        day=day,
        arrival=np.repeat(arrival, [len(p) for p in parts]),
        stress=np.zeros(len(person)),
        fixed=fixed,
    )


def department_month_rows(contract: SourceContract, world: World, rng: np.random.Generator) -> Rows:
    """Each department's declared capacity for every month of the window and the next one.

    A department declares a month's capacity in the first ``delay_days`` days of the month
    before (the row's day) and the row arrives that same working day, so next month's capacity
    is known once this month is a few days old. Date columns without a role hold the month
    planned. Capacity is the department's ordinary month with noise, lower in February.
    """
    cal = world.calendar
    months = np.arange(cal.window_start_month, cal.end_month + 2)
    rows: dict[str, list] = {"department": [], "month": [], "capacity": []}
    for department in load_departments().departments.values():
        base = department_capacity(world, department)
        season = np.where((months.astype(int) % 12) == 1, FEBRUARY_CAPACITY, 1.0)
        noise = rng.lognormal(0.0, CAPACITY_NOISE_SD, len(months))
        rows["department"].extend([department.name.zh] * len(months))
        rows["month"].extend(months)
        rows["capacity"].extend(np.maximum(1, np.round(base * season * noise)).astype(np.int64))
    month = np.array(rows["month"], dtype="datetime64[M]")
    start = month.astype("datetime64[D]")
    window = max(1, contract.simulation.delay_days)
    before = (month - 1).astype("datetime64[D]")
    declared = before + rng.integers(0, window, len(start)).astype("timedelta64[D]")
    seconds = rng.integers(8 * 3600, 18 * 3600, len(start)) * 1_000_000
    arrival = declared.astype("datetime64[us]") + seconds.astype("timedelta64[us]")
    fixed = {
        column.name: np.array(rows["department"], dtype=object)
        for column in _role_columns(contract, "department")
    }
    capacity = np.array(rows["capacity"], dtype=np.int64)
    fixed |= {column.name: capacity for column in _role_columns(contract, "capacity")}
    return Rows(
        firm=np.zeros(len(start), dtype=np.int64),
        day=declared,
        arrival=arrival,
        stress=np.zeros(len(start)),
        secondary_day=start,
        fixed=fixed,
    )


def category_codes(
    rng: np.random.Generator, column: Column, stress: np.ndarray, sensitivity: float
) -> np.ndarray:
    """Index into ``column.allowed`` per row: ``weights``, with ``stress_weights`` mixed in.

    The stress weights take over in proportion to stress x sensitivity (at least stress).
    """
    n_allowed = len(column.allowed or [])
    sim = column.sim
    weights = np.array(sim.weights if sim and sim.weights else np.ones(n_allowed), dtype=float)
    calm = rng.choice(n_allowed, size=len(stress), p=weights / weights.sum())
    if not (sim and sim.stress_weights):
        return calm
    stressed_w = np.array(sim.stress_weights, dtype=float)
    stressed = rng.choice(n_allowed, size=len(stress), p=stressed_w / stressed_w.sum())
    share = np.clip(stress * max(1.0, sensitivity), 0.0, 1.0)
    return np.where(rng.random(len(stress)) < share, stressed, calm)


def concat_rows(parts: list[Rows]) -> Rows:
    def cat(name: str):
        values = [getattr(p, name) for p in parts]
        return None if any(v is None for v in values) else np.concatenate(values)

    keys = set(parts[0].fixed)
    return Rows(
        firm=cat("firm"),
        day=cat("day"),
        arrival=cat("arrival"),
        stress=cat("stress"),
        counterpart=cat("counterpart"),
        secondary_day=cat("secondary_day"),
        fixed={k: np.concatenate([p.fixed[k] for p in parts]) for k in keys},
    )


def _empty_rows() -> Rows:
    return Rows(
        firm=np.zeros(0, dtype=np.int64),
        day=np.zeros(0, dtype="datetime64[D]"),
        arrival=np.zeros(0, dtype="datetime64[us]"),
        stress=np.zeros(0),
    )


def repair_rows(contract: SourceContract, world: World, rng: np.random.Generator) -> Rows:
    """Repairs of records of the sources the contract's ``refers_to`` names (simulate/repairs.py;
    imported here because it simulates those sources through ``sources.py``, which imports this
    module)."""
    from data_contracts.simulate.repairs import repairs_of_named_records

    return repairs_of_named_records(contract, world, rng)


GENERATORS: dict[str, Callable[[SourceContract, World, np.random.Generator], Rows]] = {
    "entity_snapshot": snapshot_rows,
    "monthly_panel": monthly_rows,
    "events": event_rows,
    "annual": annual_rows,
    "licences": licence_rows,
    "linked_firms": linked_rows,
    "outcomes": outcome_rows,
    "roster": roster_rows,
    "department_months": department_month_rows,
    "repairs": repair_rows,
}


def source_rows(contract: SourceContract, world: World, rng: np.random.Generator) -> Rows:
    """The source's rows that have arrived by the end date, in (day, entity, arrival) order."""
    kind = contract.simulation.generator
    if kind not in GENERATORS:
        raise ValueError(f"{contract.id}: no generator for simulation kind {kind!r}")
    rows = GENERATORS[kind](contract, world, rng)
    arrived = rows.arrival.astype("datetime64[D]") <= world.calendar.end_day
    rows = rows.take(np.flatnonzero(arrived))
    # Stable: rows of one entity and day keep the generator's order (a licence before its change).
    order = np.argsort(rows.day.astype(np.int64) * (world.n + 1) + rows.firm, kind="stable")
    return rows.take(order)
