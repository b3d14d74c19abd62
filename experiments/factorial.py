"""The analysis of the four-dimension factorial (DESIGN §8, ``four_dimensions``).

The experiment runs every cell of the 2^4 design of the four packages (subject S, foundation F,
integration I, openness O) with the same seeds. A cell is named by its switches, the letter for
on and ``-`` for off (``SF--``). From a per-run table (:func:`run_outcomes`) this module gives

* :func:`factorial_effects`: every main effect and interaction (2-, 3- and 4-way) with the
  standard +-1 contrast coding. A term's effect is the mean of the outcome over the cells where
  the product of its factors' codes is +1 minus the mean where it is -1 (twice the regression
  coefficient of the full model); it is estimated within each seed, over that seed's 16 runs,
  and the interval is the t-interval of the per-seed estimates (common random numbers: what a
  seed does to every cell cancels);
* :func:`synergy`: whether the whole beats the sum, ``(SFIO - ----) - sum_d (d - ----)`` per
  seed, with its t-interval, beside the whole and the sum;
* :func:`conditional_effects`: the effect of switching each dimension on alone (the others off)
  and with the other three on, the data of the interaction plot.

Only seeds that have all 16 cells are used (pairing needs them all).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict

import numpy as np
import pandas as pd

from experiments.stats import LEVEL, t_interval

#: Letters of the dimensions in a cell's name, in order.
DIMENSIONS = "SFIO"
#: Letter -> what the dimension is (the policy package switched on).
DIMENSION_NAMES = {"S": "subject", "F": "foundation", "I": "integration", "O": "openness"}
#: The cell with every dimension off (the baseline) and with all on.
NONE, ALL = "----", "SFIO"
#: Weeks at the end of a run over which final-year outcomes are averaged.
FINAL_WEEKS = 52

#: Outcomes of the factorial: name -> (column of the per-step table, reduction, axis label).
OUTCOMES: dict[str, tuple[str, str, str]] = {
    "cohesion": ("cohesion", "final", "Cohesion (mean member commitment, final year)"),
    "mobilization": ("mobilization", "peak", "Mobilization (peak participation in the call)"),
    "identification": ("identification", "final", "Identification (masses' mean, final year)"),
    "unmet_needs": ("unmet_needs", "final", "Unmet needs (share of people, final year)"),
}

_CELL = re.compile(r"[S-][F-][I-][O-]")


def cells() -> list[str]:
    """The 16 cell names, baseline first, then by number of dimensions on."""
    out = []
    for k in range(len(DIMENSIONS) + 1):
        for on in itertools.combinations(DIMENSIONS, k):
            out.append("".join(d if d in on else "-" for d in DIMENSIONS))
    return out


def terms() -> list[str]:
    """The 15 effect terms: main effects, then 2-, 3- and the 4-way interaction (``SF``...)."""
    return [c.replace("-", "") for c in cells()[1:]]


def codes(cell: str) -> dict[str, int]:
    """The +-1 code of each dimension in a cell.

    Raises:
        ValueError: If the name is not a cell (one line naming it).
    """
    if not _CELL.fullmatch(cell):
        raise ValueError(
            f"scenario = {cell!r}: not a four_dimensions cell (four characters, each its "
            f"dimension's letter of {DIMENSIONS} or '-')"
        )
    return {d: 1 if d in cell else -1 for d in DIMENSIONS}


def contrast(term: str, cell: str) -> int:
    """The +-1 contrast coefficient of a term in a cell: the product of its factors' codes."""
    c = codes(cell)
    return int(np.prod([c[d] for d in term]))


def run_outcomes(runs: pd.DataFrame, final_weeks: int = FINAL_WEEKS) -> pd.DataFrame:
    """Each run reduced to one number per outcome of :data:`OUTCOMES`.

    ``final`` outcomes are the mean over the last ``final_weeks`` steps, ``peak`` the maximum.

    Args:
        runs: Per-step table with ``scenario``, ``seed``, ``step`` and the outcome columns.
        final_weeks: Length of the final window.

    Returns:
        One row per run: ``scenario``, ``seed`` and one column per outcome.
    """
    rows = []
    for (scenario, seed), run in runs.groupby(["scenario", "seed"], sort=False):
        row: dict[str, object] = {"scenario": scenario, "seed": seed}
        last = run["step"].max()
        for name, (column, how, _) in OUTCOMES.items():
            series = run[column].astype(float)
            row[name] = (
                series.max() if how == "peak" else series[run["step"] > last - final_weeks].mean()
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _outcome_columns(metrics: pd.DataFrame) -> list[str]:
    return [c for c in metrics.columns if c not in ("scenario", "seed")]


def complete_seeds(metrics: pd.DataFrame) -> pd.DataFrame:
    """The runs of the seeds that have every cell, as one (seed x cell) frame per outcome.

    Args:
        metrics: One row per run: ``scenario`` (a cell name), ``seed`` and outcome columns.

    Returns:
        The rows of complete seeds, indexed by (seed, scenario).

    Raises:
        ValueError: If a scenario is not a cell, or no seed has all 16 cells.
    """
    for cell in metrics["scenario"].unique():
        codes(cell)
    if metrics.duplicated(["scenario", "seed"]).any():
        raise ValueError("metrics: more than one run per cell and seed; pairing needs one")
    have = metrics.groupby("seed")["scenario"].nunique()
    full = have.index[have == len(cells())]
    if full.empty:
        raise ValueError(
            f"metrics: no seed has all {len(cells())} cells (most: {int(have.max())}); "
            "run the whole factorial"
        )
    return metrics[metrics["seed"].isin(full)].set_index(["seed", "scenario"]).sort_index()


def _interval_row(label: dict[str, object], values: np.ndarray, level: float) -> dict:
    iv = asdict(t_interval(values, level))
    iv["ci_low"], iv["ci_high"] = iv.pop("low"), iv.pop("high")
    return label | iv


def effects_by_seed(metrics: pd.DataFrame) -> pd.DataFrame:
    """Every term's effect on every outcome, estimated within each complete seed.

    Returns:
        One row per seed and term: ``seed``, ``term``, ``order`` and one column per outcome.
    """
    data = complete_seeds(metrics)
    outcomes = _outcome_columns(metrics)
    rows = []
    for seed, part in data.groupby(level="seed"):
        values = part.droplevel("seed")
        for term in terms():
            sign = np.array([contrast(term, c) for c in values.index], dtype=float)
            effect = values[outcomes].to_numpy(float)[sign > 0].mean(axis=0) - values[
                outcomes
            ].to_numpy(float)[sign < 0].mean(axis=0)
            rows.append(
                {"seed": seed, "term": term, "order": len(term)}
                | dict(zip(outcomes, effect, strict=True))
            )
    return pd.DataFrame(rows)


def factorial_effects(metrics: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """Main effects and interactions with their t-intervals over seeds.

    Args:
        metrics: One row per run (see :func:`complete_seeds`).
        level: Confidence level.

    Returns:
        One row per term and outcome: ``term``, ``order``, ``metric``, ``mean`` (the effect),
        ``half_width``, ``ci_low``, ``ci_high``, ``n`` (seeds), ``sd``, ``level``.
    """
    by_seed = effects_by_seed(metrics)
    rows = []
    for term in terms():
        part = by_seed[by_seed["term"] == term]
        for metric in _outcome_columns(metrics):
            label = {"term": term, "order": len(term), "metric": metric}
            rows.append(_interval_row(label, part[metric].to_numpy(float), level))
    return pd.DataFrame(rows)


def single(d: str) -> str:
    """The cell with only dimension ``d`` on."""
    return "".join(x if x == d else "-" for x in DIMENSIONS)


def without(d: str) -> str:
    """The cell with every dimension on but ``d``."""
    return "".join("-" if x == d else x for x in DIMENSIONS)


def synergy(metrics: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """Whether the whole beats the sum of its parts, paired by seed.

    Per seed: ``whole = SFIO - ----``, ``sum = sum_d (d alone - ----)`` and
    ``synergy = whole - sum`` (positive: the four together do more than their single effects
    add up to).

    Returns:
        One row per quantity (``whole``, ``sum of singles``, ``synergy``) and outcome, with the
        interval columns of :func:`factorial_effects` (``term`` is the quantity).
    """
    data = complete_seeds(metrics)
    rows = []
    for metric in _outcome_columns(metrics):
        table = data[metric].unstack("scenario")  # seeds x cells
        whole = table[ALL] - table[NONE]
        parts = sum(table[single(d)] - table[NONE] for d in DIMENSIONS)
        for name, values in (
            ("whole", whole),
            ("sum of singles", parts),
            ("synergy", whole - parts),
        ):
            label = {"term": name, "order": 0, "metric": metric}
            rows.append(_interval_row(label, values.to_numpy(float), level))
    return pd.DataFrame(rows)


def conditional_effects(metrics: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """The effect of switching each dimension on, alone and with the other three on.

    Per seed, ``alone = d - ----`` and ``with others = SFIO - (SFIO without d)``; their
    difference is the dimension's interaction with the rest. Lines that are not parallel in the
    interaction plot are this difference.

    Returns:
        One row per dimension, context (``alone``, ``with others``, ``difference``) and outcome:
        ``dimension``, ``context``, ``metric`` and the interval columns.
    """
    data = complete_seeds(metrics)
    rows = []
    for metric in _outcome_columns(metrics):
        table = data[metric].unstack("scenario")
        for d in DIMENSIONS:
            alone = table[single(d)] - table[NONE]
            others = table[ALL] - table[without(d)]
            for context, values in (
                ("alone", alone),
                ("with others", others),
                ("difference", others - alone),
            ):
                label = {"dimension": d, "context": context, "metric": metric}
                rows.append(_interval_row(label, values.to_numpy(float), level))
    return pd.DataFrame(rows)
