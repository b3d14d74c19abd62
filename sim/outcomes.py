"""Outcomes recorded every step, computed from arrays (DESIGN §6), and per-run summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.mechanisms import commitment, fusion, recruitment
from sim.params import ModelParams, PolicyParams
from sim.state import State

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
    # recruitment (§5.8, sim.mechanisms.recruitment): full members admitted this step; share
    # of the new strata and platform workers among the recruits of the last 52 weeks; applicants and
    # activists per member; mean weekly hours of party work per member
    # (sim.mechanisms.commitment)
    "recruits",
    "new_strata_recruit_share",
    "applicants",
    "activists",
    "member_load",
)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else 0.0


def compute_outcomes(state: State, p: ModelParams, policy: PolicyParams) -> dict[str, float]:
    """All per-step outcomes, from the state.

    ``cohesion`` is mean member commitment; ``engaged_share`` the share of members above the
    engagement level; ``floating_members`` the share of members without a branch;
    ``identification`` the masses' mean identification and ``polarisation`` four times its
    variance (0 when all agree, 1 when split evenly between 0 and 1); ``mobilization`` the
    active share of all people; ``formal_coverage`` the share of work units with staff
    (platform organisations included) attached to a branch; ``effective_coverage`` the share
    of masses reached by real service this week; ``floating_gap`` formal minus effective
    coverage; ``burden`` the mean paperwork share over branches, weighted by members;
    ``sensing_error`` the committees' mean absolute error about branches' need this week
    (:mod:`sim.mechanisms.sensing`); ``business_performance`` the mean performance index of
    units with a branch; ``unmet_needs`` the share of people with a need; ``members`` the
    number of members; the recruitment outcomes (:func:`sim.mechanisms.recruitment.outcomes`);
    ``member_load`` the members' mean weekly hours of party work.
    """
    people, units, b = state.people, state.units, state.branches
    member, x = people.member, people.x
    c = x[member]
    mass = ~member
    xm = x[mass]
    weights = b.members.sum()
    formal = _mean((units.branch[units.staff > 0] >= 0).astype(float))
    effective = _mean(people.reached[mass].astype(float))
    out = {
        "cohesion": _mean(c),
        "engaged_share": _mean((c > p.engaged_level).astype(float)),
        "floating_members": _mean((people.home_branch[member] < 0).astype(float)),
        "identification": _mean(xm),
        "polarisation": float(4.0 * xm.var()) if xm.size else 0.0,
        "mobilization": _mean(people.active.astype(float)),
        "formal_coverage": formal,
        "effective_coverage": effective,
        "floating_gap": formal - effective,
        "burden": float((b.burden * b.members).sum() / weights) if weights else 0.0,
        "sensing_error": float(state.hierarchy.sensing_error),
        "business_performance": fusion.business_performance(units.branch, units.performance),
        "unmet_needs": _mean(people.need.astype(float)),
        "members": float(member.sum()),
    }
    out.update(recruitment.outcomes(state))
    load = commitment.load(state, p, policy)
    out["member_load"] = float(load[member].mean()) if member.any() else 0.0
    return out


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
