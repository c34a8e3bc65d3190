"""The consistency-rule engine (pure): rules from ``data_contracts/consistency`` evaluated on
lake frames, point in time.

``examine(rules, sources, as_of, firms=..., revisit=...)`` gives every period (or licence, or
status) each rule looked at for each firm at the as-of date, with both values, their sources and
dates, the measure and whether the rule is violated (``features.rules.examined``); anomalies are
its violated rows, rendered for people by ``features.rules.render``. ``evaluate(rule, grid,
sources)`` is the same on any grid of firms and as-of dates: the consistency features of the
models read the rules through it.

Only what was usable at the as-of date counts (event time and arrival both on or before it, the
latest arrival of a revised row), exactly as in the feature table.
"""

from features.rules.evaluate import Examination, evaluate, examine

__all__ = ["Examination", "evaluate", "examine"]
