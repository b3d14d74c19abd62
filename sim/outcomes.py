"""Outcomes recorded every step, computed from arrays (DESIGN §6), and per-run summaries."""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd

from sim.mechanisms import commitment, fusion, recruitment
from sim.params import ModelParams, PolicyParams
from sim.state import COVERAGE_WEEKS, SECTORS, State

#: Per-step outcome columns, in the order they appear in results.
OUTCOME_COLUMNS = (
    "cohesion",
    "cohesion_out_of_system",
    "engaged_share",
    "floating_members",
    "identification",
    "member_identification",
    "polarisation",
    "mobilization",
    "unit_coverage",
    "formal_coverage",
    "effective_coverage",
    "floating_gap",
    "burden",
    "sensing_error",
    "answered_share",
    "business_performance",
    "unmet_needs",
    "members",
    "branches",
    "members_per_branch",
    # recruitment (§5.8): full members admitted this step; share of the new strata and
    # platform workers among the recruits of the last 52 weeks; applicants and activists per
    # member
    "recruits",
    "new_strata_recruit_share",
    "applicants",
    "activists",
    # membership change (§5.9): members who left this step (deaths and lapses), of whom died
    "exits",
    "deaths",
    # mean weekly hours of party work per member (sim.mechanisms.commitment)
    "member_load",
    # who turns out in a call (§5.11): the active share of members, of the masses, and of the
    # people of each sector (by their current sector)
    "mobilization_members",
    "mobilization_masses",
    *(f"mobilization_{s}" for s in SECTORS),
)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else 0.0


@numba.njit(cache=True, nogil=True)
def _coverage_counts(member, covered, last_reached, week, window):  # pragma: no cover
    """Masses formally covered, effectively covered (reached by real service within
    ``window`` weeks), and covered but not reached: three counts in one pass."""
    n_covered = n_effective = n_gap = 0
    for i in range(member.size):
        if member[i]:
            continue
        effective = week - last_reached[i] < window
        n_covered += covered[i]
        n_effective += effective
        n_gap += covered[i] and not effective
    return n_covered, n_effective, n_gap


def _share(count: int, size: int) -> float:
    """``count / size`` (0 for an empty group): a mean of 0/1 values, computed from the count."""
    return float(count / size) if size else 0.0


def compute_outcomes(
    state: State, p: ModelParams, policy: PolicyParams, week: int
) -> dict[str, float]:
    """All per-step outcomes (DESIGN §6), from the state.

    * ``cohesion``: mean member commitment (``cohesion_out_of_system``: of the members in
      enterprises and on platforms, outside the state system); ``engaged_share``: share of
      members above the engagement level; ``floating_members``: share of members without a
      branch;
    * ``identification``: the masses' mean identification, ``member_identification`` the
      members'; ``polarisation``: four times the masses' variance (0 when all agree, 1 when
      split evenly between 0 and 1);
    * ``mobilization``: the active share of all people;
    * ``unit_coverage``: share of work units with staff (platforms included) attached to a
      branch; ``formal_coverage``: share of masses inside some branch's constituency (tied, on
      a layer open to the member, to a member with a branch, or in a partnered organisation
      with such members); ``effective_coverage``: share of masses reached by real service in
      the last ``COVERAGE_WEEKS`` weeks; ``floating_gap``: share of the formally covered masses
      not reached in that window (coverage on paper that touches no one), in [0, 1];
    * ``burden``: mean paperwork share over branches, weighted by members; ``sensing_error``:
      the committees' member-weighted mean error about branches' need, blind spots included;
      ``answered_share``: members' own problems answered within ``ANSWER_WEEKS`` weeks, over
      the last year's cohorts (NaN before the first cohort closes);
    * ``business_performance``: mean performance index of units with a branch;
      ``unmet_needs``: share of people with a need;
    * ``members``; ``branches``: branches with members; ``members_per_branch``;
    * the recruitment and membership-change counts, and ``member_load``.
    """
    people, units, b = state.people, state.units, state.branches
    member = people.member
    ids = people.member_ids()
    c = people.commitment[ids]
    mass = ~member
    n_mass = people.n - ids.size
    xm = people.identification[mass]
    weights = b.members.sum()
    n_covered, n_effective, n_gap = _coverage_counts(
        member, people.covered, people.last_reached, week, COVERAGE_WEEKS
    )
    n_branches = int((b.members > 0).sum())
    load = commitment.MemberWeek(state, p, policy, ids).load
    # shares are counts over sizes: the same floats as means of 0/1 arrays, without the arrays
    out = {
        "cohesion": _mean(c),
        "cohesion_out_of_system": _mean(c[people.out_of_system[ids]]),
        "engaged_share": _share(np.count_nonzero(c > p.engaged_level), c.size),
        "floating_members": _share(np.count_nonzero(people.home_branch[ids] < 0), ids.size),
        "identification": _mean(xm),
        "member_identification": _mean(people.identification[ids]),
        "polarisation": float(4.0 * xm.var()) if xm.size else 0.0,
        "mobilization": _share(np.count_nonzero(people.active), people.n),
        "unit_coverage": _mean((units.branch[units.staff > 0] >= 0).astype(float)),
        "formal_coverage": _share(n_covered, n_mass),
        "effective_coverage": _share(n_effective, n_mass),
        "floating_gap": _share(n_gap, n_covered),
        "burden": float((b.burden * b.members).sum() / weights) if weights else 0.0,
        "sensing_error": float(state.hierarchy.sensing_error),
        "answered_share": commitment.answered_share(state, week),
        "business_performance": fusion.business_performance(units.branch, units.performance),
        "unmet_needs": _share(np.count_nonzero(people.need), people.n),
        "members": float(ids.size),
        "branches": float(n_branches),
        "members_per_branch": float(weights / n_branches) if n_branches else 0.0,
        "exits": float(state.tally.exits),
        "deaths": float(state.tally.deaths),
        "member_load": float(load.mean()) if ids.size else 0.0,
    }
    out.update(recruitment.outcomes(state))
    out.update(mobilization_groups(state))
    return out


def mobilization_groups(state: State) -> dict[str, float]:
    """The active share of members, of the masses and of each sector's people.

    Shares of the group's current size (0 for an empty group); all zero outside a call.
    """
    people = state.people
    active, member = people.active, people.member
    out = {"mobilization_members": 0.0, "mobilization_masses": 0.0}
    out |= {f"mobilization_{s}": 0.0 for s in SECTORS}
    if not active.any():  # outside a call: skip the counting
        return out
    out["mobilization_members"] = _mean(active[member].astype(float))
    out["mobilization_masses"] = _mean(active[~member].astype(float))
    size = np.bincount(people.sector, minlength=len(SECTORS))
    turned_out = np.bincount(people.sector[active], minlength=len(SECTORS))
    for i, s in enumerate(SECTORS):
        out[f"mobilization_{s}"] = float(turned_out[i] / size[i]) if size[i] else 0.0
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
