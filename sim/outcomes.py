"""Outcomes recorded every step, computed from arrays (DESIGN §6), and per-run summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Per-step outcome columns, in the order they appear in results.
OUTCOME_COLUMNS = (
    "cohesion",
    "engaged_share",
    "floating_members",
    "identification",
    "polarisation",
    "mobilization",
    "formal_coverage",
    "effective_coverage",
    "floating_gap",
    "burden",
    "sensing_error",
    "business_performance",
    "unmet_needs",
    "members",
    # recruitment (§5.8, sim.recruitment): full members admitted this step; share of the new
    # strata and platform workers among the recruits of the last 52 weeks; applicants and
    # activists per member; mean weekly hours of party work per member (sim.embedding)
    "recruits",
    "new_strata_recruit_share",
    "applicants",
    "activists",
    "member_load",
)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else 0.0


def compute_outcomes(
    *,
    member: np.ndarray,
    x: np.ndarray,
    home_branch: np.ndarray,
    engaged_level: float,
    active: np.ndarray,
    unit_branch: np.ndarray,
    reached: np.ndarray,
    need: np.ndarray,
    branch_burden: np.ndarray,
    branch_members: np.ndarray,
    sensing_error: float = 0.0,
    business_performance: float = 0.0,
) -> dict[str, float]:
    """All per-step outcomes.

    ``cohesion`` is mean member commitment; ``engaged_share`` the share of members above the
    engagement level; ``floating_members`` the share of members without a branch;
    ``identification`` the masses' mean identification and ``polarisation`` four times its
    variance (0 when all agree, 1 when split evenly between 0 and 1); ``mobilization`` the
    active share of all people; ``formal_coverage`` the share of work units (platform
    organisations included) attached to a branch; ``effective_coverage`` the share of masses
    within one tie (on a layer open to the member) of an engaged member of a branch that is not
    formalistic; ``floating_gap`` formal minus effective coverage; ``burden`` the mean paperwork
    share over branches, weighted by members; ``sensing_error`` the top committee's mean absolute
    error about branches' need and ``business_performance`` the mean performance index of units
    with a branch (both computed by the model, ``sim.sensing`` and ``sim.fusion``);
    ``unmet_needs`` the share of people with a need.
    """
    c = x[member]
    mass = ~member
    xm = x[mass]
    weights = branch_members.sum()
    formal = _mean((unit_branch >= 0).astype(float))
    effective = _mean(reached[mass].astype(float))
    return {
        "cohesion": _mean(c),
        "engaged_share": _mean((c > engaged_level).astype(float)),
        "floating_members": _mean((home_branch[member] < 0).astype(float)),
        "identification": _mean(xm),
        "polarisation": float(4.0 * xm.var()) if xm.size else 0.0,
        "mobilization": _mean(active.astype(float)),
        "formal_coverage": formal,
        "effective_coverage": effective,
        "floating_gap": formal - effective,
        "burden": float((branch_burden * branch_members).sum() / weights) if weights else 0.0,
        "sensing_error": float(sensing_error),
        "business_performance": float(business_performance),
        "unmet_needs": _mean(need.astype(float)),
        "members": float(member.sum()),
    }


def summarise_run(frame: pd.DataFrame, last_weeks: int = 52) -> dict[str, float]:
    """One run's headline numbers from its per-step table.

    ``mobilization_peak`` is the highest active share during a call and
    ``mobilization_half_weeks`` the weeks from the call's first active step to the first step at
    half the peak (0 when the cascade completes within the first week); other outcomes are
    averaged over the last ``last_weeks`` steps.
    """
    tail = frame.tail(last_weeks)
    out = {f"{k}_final": float(tail[k].mean()) for k in OUTCOME_COLUMNS if k in frame}
    mob = frame["mobilization"].to_numpy()
    peak = float(mob.max()) if mob.size else 0.0
    out["mobilization_peak"] = peak
    if peak > 0:
        start = int(np.flatnonzero(mob > 0)[0])
        half = int(np.flatnonzero(mob >= peak / 2)[0])
        out["mobilization_half_weeks"] = float(half - start)
    else:
        out["mobilization_half_weeks"] = float("nan")
    return out
