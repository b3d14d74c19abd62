"""Who turns out in a call, and how fast (DESIGN §8, ``crisis``).

The model records, every week, the active share of members, of the masses and of each
sector's people (``mobilization_members``, ``mobilization_masses``, ``mobilization_<sector>``;
:mod:`sim.outcomes`). This module cuts the weeks of the call out of each run
(:func:`call_curves`) and measures each group's peak and time to half its peak
(:func:`half_peak_weeks`, :func:`call_summary`).

The cascade advances one round a week, so the time to half the peak is interpolated linearly
between the weekly values, from zero participation at the call's start: 0.5 means half the
peak was reached halfway through the first week.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.stats import LEVEL, paired_summary, summarise

#: The groups of the call's curves: name -> column of the per-step table.
GROUPS: dict[str, str] = {
    "members": "mobilization_members",
    "masses": "mobilization_masses",
    "state": "mobilization_state",
    "enterprise": "mobilization_enterprise",
    "platform": "mobilization_platform",
    "outside work": "mobilization_none",
    "rural": "mobilization_rural",
}


def half_peak_weeks(values: np.ndarray | pd.Series) -> float:
    """Weeks from a call's start until a curve first reaches half its peak.

    Args:
        values: The active share at the end of each week of the call, in order (the value at
            the start of the call, time 0, is taken as 0).

    Returns:
        The interpolated time in weeks, in (0, len(values)]; NaN if no one turned out.
    """
    v = np.asarray(values, dtype=float)
    peak = float(v.max()) if v.size else 0.0
    if not peak > 0:
        return float("nan")
    k = int(np.flatnonzero(v >= peak / 2)[0])
    before = v[k - 1] if k > 0 else 0.0
    return k + (peak / 2 - before) / (v[k] - before)


def call_curves(runs: pd.DataFrame, start: int, weeks: int) -> pd.DataFrame:
    """Each group's participation during the call, in long form.

    Args:
        runs: Per-step table with ``scenario``, ``seed``, ``step`` and the :data:`GROUPS`
            columns.
        start: The call's first week (``model.crisis_start``).
        weeks: Its length (``model.crisis_weeks``).

    Returns:
        Columns ``scenario``, ``seed``, ``week`` (weeks since the call began: 0 the week
        before, 1 its first week), ``group`` and ``share``.
    """
    missing = [c for c in GROUPS.values() if c not in runs.columns]
    if missing:
        raise ValueError(
            f"runs: no column {missing[0]}; the results predate the per-group mobilization "
            "outcomes: rerun the experiment"
        )
    window = runs[(runs["step"] >= start - 1) & (runs["step"] < start + weeks)]
    long = window.melt(
        id_vars=["scenario", "seed", "step"],
        value_vars=list(GROUPS.values()),
        var_name="column",
        value_name="share",
    )
    long["group"] = long["column"].map({c: g for g, c in GROUPS.items()})
    long["week"] = long["step"] - (start - 1)
    return long[["scenario", "seed", "week", "group", "share"]]


def run_call_metrics(curves: pd.DataFrame) -> pd.DataFrame:
    """Per run and group: the peak share and the weeks to half of it.

    Args:
        curves: Output of :func:`call_curves`.

    Returns:
        Columns ``scenario``, ``seed``, ``group``, ``peak`` and ``half_peak_weeks``.
    """
    rows = []
    inside = curves[curves["week"] >= 1]
    for (scenario, seed, group), part in inside.groupby(["scenario", "seed", "group"], sort=False):
        values = part.sort_values("week")["share"].to_numpy(float)
        rows.append(
            {
                "scenario": scenario,
                "seed": seed,
                "group": group,
                "peak": float(values.max()),
                "half_peak_weeks": half_peak_weeks(values),
            }
        )
    return pd.DataFrame(rows)


def call_summary(
    curves: pd.DataFrame, reference: str, order: list[str], level: float = LEVEL
) -> pd.DataFrame:
    """Peak and time to half the peak per scenario and group, levels and paired differences.

    Args:
        curves: Output of :func:`call_curves`.
        reference: The scenario differences are taken from (paired by seed).
        order: Scenarios in the order of the table.
        level: Confidence level.

    Returns:
        Columns ``scenario``, ``group``, ``quantity`` (``level`` or ``minus <reference>``),
        ``metric`` (``peak``, ``half_peak_weeks``) and the interval columns of
        :func:`experiments.stats.summarise`.
    """
    metrics = run_call_metrics(curves)
    parts = []
    for group in GROUPS:
        one = metrics[metrics["group"] == group].drop(columns="group")
        levels = summarise(one, level=level).assign(quantity="level")
        parts.append(levels.assign(group=group))
        ref = one[one["scenario"] == reference]
        if not ref.empty:
            diff = paired_summary(one, ref.drop(columns="scenario"), level=level)
            parts.append(diff.assign(quantity=f"minus {reference}", group=group))
    out = pd.concat(parts, ignore_index=True)
    out["scenario"] = pd.Categorical(out["scenario"], order, ordered=True)
    out["group"] = pd.Categorical(out["group"], list(GROUPS), ordered=True)
    out = out.sort_values(["quantity", "metric", "group", "scenario"], kind="stable")
    out[["scenario", "group"]] = out[["scenario", "group"]].astype(str)
    first = ["scenario", "group", "quantity", "metric"]
    return out[first + [c for c in out.columns if c not in first]].reset_index(drop=True)
