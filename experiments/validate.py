"""Validation (DESIGN §11): a lever screen and the paper's testable claims -> docs/validation.md.

Runs paired-seed comparisons of the model and writes, generated from those runs:

* a **lever screen**: every policy lever low vs high (everything else at the baseline), its
  mean paired effect on every headline outcome with a flag where the 95% CI excludes 0;
* a **table of claims** of the paper, each with its section, the comparison that tests it, the
  effect with its 95% CI at two population sizes, the verdict and how the model produces it.

Verdicts: *reproduced* (the expected sign, CI excluding 0, at both sizes), *reproduced at
the larger size only*, *partly reproduced* (naming the comparisons that fail), *not
reproduced* (CI includes 0 at a size, or the sign is wrong), and *by construction* where the
comparison holds by the definition of a mechanism (the row names the code). Nothing is tuned
per claim; every run uses the defaults of ``sim/params.py`` except what the comparison
changes.

Also writes ``docs/validation.json`` (each claim's verdict and sign per size) for the fast check
in ``tests/test_validation.py`` and the raw per-run summaries to
``<output root>/validation/runs.parquet``.

Usage:
    python -m experiments.validate                 # full: 3,000 and 10,000 people, 8 seeds
    python -m experiments.validate --quick         # a smoke-size version (no docs written)
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from experiments.stats import t_interval

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"

#: Headline outcomes of the lever screen (column -> label).
HEADLINE = {
    "cohesion": "cohesion",
    "identification": "identification",
    "mobilization_peak": "mobilization (peak)",
    "unmet_needs": "unmet needs",
}
#: Further outcomes reported when a lever moves them.
OTHER = (
    "burden",
    "floating_members",
    "formal_coverage",
    "effective_coverage",
    "floating_gap",
    "sensing_error",
    "answered_share",
    "business_performance",
    "members",
    "engaged_share",
    "new_strata_recruit_share",
)


@dataclass(frozen=True)
class Setting:
    """One condition: a policy package plus overrides of policy and model fields."""

    package: str = "baseline"
    policy: tuple[tuple[str, object], ...] = ()
    model: tuple[tuple[str, object], ...] = ()

    def with_(self, **kw) -> Setting:
        policy = dict(self.policy)
        model = dict(self.model)
        for k, v in kw.items():
            (model if k.startswith("model_") else policy)[k.removeprefix("model_")] = v
        return replace(
            self, policy=tuple(sorted(policy.items())), model=tuple(sorted(model.items()))
        )

    def label(self) -> str:
        parts = [] if self.package == "baseline" else [f"policy={self.package}"]
        parts += [f"policy.{k}={v}" for k, v in self.policy]
        parts += [f"model.{k}={v}" for k, v in self.model]
        return " ".join(parts) or "baseline"


BASE = Setting()


@dataclass(frozen=True)
class Diff:
    """A contrast of two settings (a minus b, paired by seed): one side of a
    difference-in-differences comparison."""

    a: Setting
    b: Setting

    def settings(self) -> tuple[Setting, Setting]:
        return (self.a, self.b)

    def with_model(self, **model) -> Diff:
        return Diff(with_model(self.a, **model), with_model(self.b, **model))


def settings_of(x: Setting | Diff) -> tuple[Setting, ...]:
    """The settings a comparison side needs runs of."""
    return x.settings() if isinstance(x, Diff) else (x,)


def with_model(x: Setting | Diff, **model) -> Setting | Diff:
    """The same side with model fields overridden (used for the boost repeat of claim d)."""
    if isinstance(x, Diff):
        return x.with_model(**model)
    return replace(x, model=tuple(sorted({**dict(x.model), **model}.items())))


#: Every policy lever, low and high (booleans off/on; the fusion mode is compared in claims).
LEVERS: dict[str, tuple[object, object]] = {
    "coverage": (0.1, 0.9),
    "platform_coverage": (0.1, 0.9),
    "online_branches": (0.1, 0.9),
    "embedding": (0.1, 0.9),
    "mutual_recognition": (False, True),
    "responsiveness": (0.1, 0.9),
    "openness": (0.1, 0.9),
    "new_strata_outreach": (0.1, 0.9),
    "social_org_partnership": (0.1, 0.9),
    "open_activities": (0.1, 0.9),
    "care_service": (0.1, 0.9),
    "escalation": (0.0, 0.5),
    "unified_table": (False, True),
    "simplify_downward": (False, True),
    "trace_requirement": (0.0, 1.5),
    "sensing_fidelity": (0.3, 1.0),
    "integration_effort": (0.1, 0.9),
    "evaluation": ("traces", "outcomes"),
}
#: Why a lever that moves no headline outcome has no such effect (shown in its row).
QUIET = {
    "mutual_recognition": "acts only through dual-registered members' load (see embedding)",
    "platform_coverage": "it acts on platform workers' members only (platform workers are 9% "
    "of people with low membership odds, and those left without a platform branch are mostly "
    "taken in by online branches): floating members fall, but too few members are involved to "
    "move the averages in a stable society; it matters as people move to platforms (claim d)",
    "new_strata_outreach": "it changes who among the new strata (5% of people) is recruited and "
    "reached by targeted activities, not how many: over three years the shift is too small to "
    "move population averages (the sensitivity analysis ranks it)",
    "sensing_fidelity": "better sensing puts support where needs are (tests/test_sensing.py: "
    "test_better_fidelity_puts_support_where_needs_are), but support is 0.4 hours a week per "
    "member, 30% of it split equally, small against the branches' own hours, so targeting it "
    "better does not move the headline outcomes",
}


@dataclass
class Claim:
    """A testable claim: one or more comparisons (treated - control, expected sign)."""

    key: str
    section: str
    text: str
    comparisons: list[tuple[str, Setting | Diff, Setting | Diff, str, int]]
    how: str
    construction: str = ""  #: non-empty: the comparison holds by construction (names code)
    conditions: str = ""  #: conditions under which a verdict holds, when stated


def claims() -> list[Claim]:
    """The paper's claims (issue 9, item 5; DESIGN §11)."""
    esc0, esc5 = BASE.with_(escalation=0.0), BASE.with_(escalation=0.5)
    one = BASE.with_(model_departments=1)
    many, unified = BASE.with_(model_departments=3), BASE.with_(unified_table=True)
    cov_lo_emb = BASE.with_(coverage=0.9, embedding=0.1, mutual_recognition=True)
    cov_hi_emb = BASE.with_(coverage=0.9, embedding=0.9, mutual_recognition=True)
    shift = {"model_platform_shift": 0.1, "model_social_change_every": 13}
    stable, moving = BASE, BASE.with_(**shift)
    kept = BASE.with_(**shift, platform_coverage=0.9, online_branches=0.9)
    kept_static = BASE.with_(platform_coverage=0.9, online_branches=0.9)
    emb_lo, emb_hi = (BASE.with_(embedding=e, mutual_recognition=True) for e in (0.1, 0.9))
    emb_lo_nm, emb_hi_nm = (BASE.with_(embedding=e, mutual_recognition=False) for e in (0.1, 0.9))
    integ = BASE.with_(fusion_mode="integrated", integration_effort=0.3)
    iso = BASE.with_(fusion_mode="isolated", integration_effort=0.3)
    gen = BASE.with_(fusion_mode="generalized", integration_effort=0.3)
    open_lo = BASE.with_(new_strata_outreach=0.1, social_org_partnership=0.1)
    open_hi = BASE.with_(new_strata_outreach=0.9, social_org_partnership=0.9)
    resp_lo, resp_hi = BASE.with_(responsiveness=0.1), BASE.with_(responsiveness=0.9)
    packages = [Setting(package=k) for k in ("subject", "foundation", "fusion", "openness")]
    allfour = Setting(package="four")
    return [
        Claim(
            "a",
            "1.1, 3.1",
            "escalation (层层加码) raises burden and lowers cohesion",
            [
                ("burden", esc5, esc0, "burden", +1),
                ("cohesion", esc5, esc0, "cohesion", -1),
            ],
            "emergent for cohesion: demand x committees' margins -> paperwork hours -> fewer "
            "hours of organisational life (§5.2) -> commitment (§5.6); formalistic contacts and "
            "mobilization cost follow burden",
            construction="burden rises with escalation by the demand formula "
            "(sim/mechanisms/assessment.py: branch_demand)",
        ),
        Claim(
            "b",
            "1.1, 3.1",
            "multi-head assessment (多头考核) adds burden that a unified table (一表统管) "
            "removes, not all of it",
            [
                ("burden: 3 departments vs 1", many, one, "burden", +1),
                ("burden: unified table vs separate", unified, many, "burden", -1),
                ("burden: unified table vs one department", unified, one, "burden", +1),
                ("cohesion: unified table vs separate", unified, many, "cohesion", +1),
            ],
            "burden by the demand formula; cohesion emergent through hours of life (§5.2, §5.6)",
            construction="H_eff = 1 + (H - 1)(1 - overlap) (assessment.effective_heads)",
        ),
        Claim(
            "c",
            "2.1-2.2",
            "coverage without embedding floats (悬浮化): formally covered masses whom no one "
            "reaches",
            [
                (
                    "floating gap: coverage without vs with embedding",
                    cov_lo_emb,
                    cov_hi_emb,
                    "floating_gap",
                    +1,
                ),
                (
                    "effective coverage: without vs with embedding",
                    cov_lo_emb,
                    cov_hi_emb,
                    "effective_coverage",
                    -1,
                ),
            ],
            "emergent: dual-registered members move service hours to their neighbours "
            "(§5.4); formal coverage (constituency) and effective contact are measured apart "
            "(§6)",
        ),
        Claim(
            "d",
            "2.3",
            "as stable units dissolve the organisation erodes unless platform and online "
            "organisation keeps members attached",
            [
                (
                    "floating members: 10%/year platform shift",
                    moving,
                    stable,
                    "floating_members",
                    +1,
                ),
                ("cohesion: 10%/year platform shift", moving, stable, "cohesion", -1),
                (
                    "floating members: the shift's effect without minus with platform + "
                    "online branches",
                    Diff(moving, stable),
                    Diff(kept, kept_static),
                    "floating_members",
                    +1,
                ),
                (
                    "cohesion: the shift's effect without minus with platform + online branches",
                    Diff(moving, stable),
                    Diff(kept, kept_static),
                    "cohesion",
                    -1,
                ),
            ],
            "emergent: movers lose their unit's branch (§5.1, sim/organisation.py relocate); "
            "floating members lose commitment and may lapse (§5.6, §5.9); platform and "
            "online branches take movers in",
            conditions="the movers' online boost (model.mover_online_boost) is an assumption; "
            "the row 'd, boost 3' repeats the comparison with a larger boost",
        ),
        Claim(
            "e",
            "2.2",
            "dual registration with mutual recognition (双报到, 双边互认) strengthens cohesion "
            "without doubling the load",
            [
                (
                    "cohesion: embedding high vs low, with recognition",
                    emb_hi,
                    emb_lo,
                    "cohesion",
                    +1,
                ),
                (
                    "member load: embedding high vs low, with recognition",
                    emb_hi,
                    emb_lo,
                    "member_load",
                    +1,
                ),
                (
                    "cohesion: embedding high vs low, without recognition",
                    emb_hi_nm,
                    emb_lo_nm,
                    "cohesion",
                    +1,
                ),
            ],
            "emergent: community life and serving neighbours raise commitment (§5.6); without "
            "recognition duplicated life adds load, which costs only beyond what a member "
            "carries (L*)",
        ),
        Claim(
            "f",
            "3.1-3.3",
            "integration (融合) beats isolation (两张皮) and over-generalisation (泛化) for "
            "business and cohesion",
            [
                ("business: integrated vs isolated", integ, iso, "business_performance", +1),
                ("business: integrated vs generalized", integ, gen, "business_performance", +1),
                ("cohesion: integrated vs isolated", integ, iso, "cohesion", +1),
                ("cohesion: integrated vs generalized", integ, gen, "cohesion", +1),
            ],
            "business by the mode's performance curve (§5.7); cohesion emergent: life quality "
            "of the integration hours (§5.2) and business feedback on commitment (§5.7)",
            construction="business performance of each mode is its curve "
            "(sim/mechanisms/fusion.py: performance)",
        ),
        Claim(
            "g",
            "4.1-4.3",
            "openness to new strata and social organisations raises mobilization",
            [
                (
                    "mobilization peak: outreach + partnership high vs low",
                    open_hi,
                    open_lo,
                    "mobilization_peak",
                    +1,
                ),
                (
                    "identification: outreach + partnership high vs low",
                    open_hi,
                    open_lo,
                    "identification",
                    +1,
                ),
            ],
            "emergent: targeted activities pull the new strata's identification (§5.5), "
            "partnered organisations relay service and calls (§5.10) and report needs (§5.3)",
        ),
        Claim(
            "h",
            "2.3",
            "responsiveness to out-of-system members (有机性融入) raises their commitment",
            [
                (
                    "cohesion of out-of-system members",
                    resp_hi,
                    resp_lo,
                    "cohesion_out_of_system",
                    +1,
                ),
                ("cohesion of all members", resp_hi, resp_lo, "cohesion", +1),
            ],
            "emergent: an answered problem raises commitment, a waiting one erodes it, both "
            "weighted for members outside the state system (§5.6)",
        ),
        Claim(
            "i",
            "1-4 (system)",
            "the four dimensions together beat any single one; the whole against the sum",
            [("cohesion: all four vs " + s.package, allfour, s, "cohesion", +1) for s in packages]
            + [
                ("identification: all four vs " + s.package, allfour, s, "identification", +1)
                for s in packages
            ],
            "emergent from the channels of each package; the synergy row reports all four "
            "minus the baseline against the sum of the single packages' effects",
        ),
    ]


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Job:
    setting: Setting
    people: int
    seed: int


def _config(setting: Setting, people: int, steps: int, crisis: int):
    import sim

    package = setting.package
    if package == "four":
        overrides = list(four_dimensions_overrides())
    else:
        overrides = [f"policy={package}"]
    cfg = _compose(tuple(overrides))
    policy = cfg.policy.replace(**dict(setting.policy))
    model = cfg.model.replace(people=people, crisis_start=crisis, **dict(setting.model))
    run = cfg.run.replace(steps=steps)
    return replace(cfg, policy=policy, model=model, run=run), sim


_COMPOSED: dict = {}


def _compose(overrides: tuple[str, ...]):
    import sim

    if overrides not in _COMPOSED:
        _COMPOSED[overrides] = sim.load_config(list(overrides))
    return _COMPOSED[overrides]


@functools.cache
def four_dimensions_overrides() -> tuple[str, ...]:
    """The four packages together: every lever each package sets (later ones don't clash)."""
    import sim

    base = sim.load_config(["policy=baseline"]).policy
    merged = {}
    for package in ("subject", "foundation", "fusion", "openness"):
        pol = sim.load_config([f"policy={package}"]).policy
        for f in pol.__dataclass_fields__:
            if f != "name" and getattr(pol, f) != getattr(base, f):
                merged[f] = getattr(pol, f)
    return ("policy=baseline", "policy.name=four") + tuple(
        f"policy.{k}={'null' if v is None else str(v).lower() if isinstance(v, bool) else v}"
        for k, v in merged.items()
    )


def run_job(job: Job, steps: int, crisis: int) -> dict[str, float]:
    """One run's headline numbers (outcomes averaged over the last 52 weeks; the call's peak)."""
    import logging

    logging.getLogger("MESA").setLevel(logging.WARNING)
    cfg, sim = _config(job.setting, job.people, steps, crisis)
    model = sim.PartyBuildingModel.from_config(cfg, rng=job.seed)
    model.run_for(steps)
    frame = model.results()
    before_call = frame.iloc[: max(crisis - 1, 1)]
    out = sim.summarise_run(before_call, last_weeks=52)
    out = {k.removesuffix("_final"): v for k, v in out.items()}
    out["mobilization_peak"] = float(frame["mobilization"].max())
    return out


def sim_source_hash() -> str:
    """A hash of the model's source files: stored runs are reused only under the same code."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted((REPO / "sim").rglob("*.py")):
        h.update(path.relative_to(REPO).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


@dataclass
class Runner:
    """Runs jobs once each (a cache keyed by job), in parallel processes."""

    steps: int
    crisis: int
    jobs: int = 2
    cache: dict[Job, dict[str, float]] = field(default_factory=dict)

    def preload(self, path: Path) -> int:
        """Reuse the runs a previous validation stored, when the model's code is the same.

        Rows count only if they were made by the same ``sim/`` source (a hash of its files) with
        the same weeks and call; returns how many were taken.
        """
        if not path.exists():
            return 0
        frame = pd.read_parquet(path)
        needed = {"setting", "people", "seed", "steps", "crisis", "sim_hash"}
        if not needed <= set(frame.columns):
            return 0
        same = frame[
            (frame.sim_hash == sim_source_hash())
            & (frame.steps == self.steps)
            & (frame.crisis == self.crisis)
        ]
        outcome_cols = [c for c in frame.columns if c not in needed]
        self._stored = {
            (r.setting, int(r.people), int(r.seed)): {c: float(getattr(r, c)) for c in outcome_cols}
            for r in same.itertuples(index=False)
        }
        return len(self._stored)

    def run(self, jobs: list[Job], desc: str) -> None:
        stored = getattr(self, "_stored", {})
        for j in dict.fromkeys(jobs):
            key = (j.setting.label(), j.people, j.seed)
            if j not in self.cache and key in stored:
                self.cache[j] = stored[key]
        todo = [j for j in dict.fromkeys(jobs) if j not in self.cache]
        if not todo:
            return
        with ProcessPoolExecutor(max_workers=self.jobs) as pool:
            futures = {pool.submit(run_job, j, self.steps, self.crisis): j for j in todo}
            for f in tqdm(futures, desc=desc, unit="run", file=sys.stderr):
                self.cache[futures[f]] = f.result()

    def values(self, x: Setting | Diff, outcome: str, people: int, seeds: range) -> pd.Series:
        """Per-seed values of a setting, or of a contrast of two settings."""
        if isinstance(x, Diff):
            return self.values(x.a, outcome, people, seeds) - self.values(
                x.b, outcome, people, seeds
            )
        return pd.Series({s: self.cache[Job(x, people, s)][outcome] for s in seeds})

    def paired(
        self, treated: Setting | Diff, control: Setting | Diff, outcome: str, people: int, seeds
    ):
        a = self.values(treated, outcome, people, seeds)
        b = self.values(control, outcome, people, seeds)
        return t_interval((a - b).to_numpy())


# --------------------------------------------------------------------------- report


def fmt(ci, digits: int = 3) -> str:
    star = "*" if ci.n > 1 and (ci.low > 0 or ci.high < 0) else ""
    return f"{ci.mean:+.{digits}f}{star} [{ci.low:+.{digits}f}, {ci.high:+.{digits}f}]"


def verdict(results: list[tuple[int, list]], construction: str, labels=None) -> str:
    """From (expected sign, [interval per size]) of each comparison: the claim's verdict.

    *reproduced*: every comparison has the expected sign with its CI excluding 0 at both sizes;
    *partly reproduced*: some do, and the verdict names those that do not; *not reproduced*:
    none does, or one shows the opposite with its CI excluding 0.
    """
    held = [
        all(sign * ci.low > 0 if sign > 0 else ci.high < 0 for ci in cis) for sign, cis in results
    ]
    wrong = [
        any(sign * ci.mean < 0 and (ci.low > 0 or ci.high < 0) for ci in cis)
        for sign, cis in results
    ]
    if all(held):
        return "reproduced" + (" (partly by construction)" if construction else "")
    held_large = [
        (sign > 0 and cis[-1].low > 0) or (sign < 0 and cis[-1].high < 0) for sign, cis in results
    ]
    if all(held_large) and not any(wrong):
        return (
            "reproduced at the larger size only (at the smaller size some intervals include 0)"
            + (" (partly by construction)" if construction else "")
        )
    if any(wrong):
        return "not reproduced (the opposite holds in a comparison)"
    if any(held):
        missing = [lab for lab, ok in zip(labels or [], held, strict=False) if not ok]
        return "partly reproduced" + (": not for " + "; ".join(missing) if missing else "")
    return "not reproduced"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs=2, default=[3000, 10000])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--steps", type=int, default=156)
    ap.add_argument("--crisis", type=int, default=140)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--quick", action="store_true", help="smoke size, nothing written to docs")
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the stored runs of a previous validation made by the same sim/ code",
    )
    ap.add_argument("--out", type=Path, default=DOCS / "validation.md")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.seeds, args.steps, args.crisis = [1000, 1500], 3, 60, 50
    if not 0 < args.crisis < args.steps:
        print(f"--crisis = {args.crisis}: must be inside (0, --steps = {args.steps})")
        return 2
    started = time.time()
    seeds = range(args.seeds)
    runner = Runner(args.steps, args.crisis, args.jobs)
    from experiments.results import output_root

    if args.reuse:
        taken = runner.preload(output_root() / "validation" / "runs.parquet")
        print(f"reusing {taken} stored runs made by the same sim/ code", file=sys.stderr)
    small, large = args.sizes
    # lever screen, at the small size
    screen_jobs = []
    for lever, (lo, hi) in LEVERS.items():
        for v in (lo, hi):
            screen_jobs += [Job(BASE.with_(**{lever: v}), small, s) for s in seeds]
    runner.run(screen_jobs, "lever screen")
    # claims, at both sizes
    the_claims = claims()
    boost = BASE.with_(model_mover_online_boost=3.0)
    claim_jobs = []
    for c in the_claims:
        for _, t, k, _, _ in c.comparisons:
            for people in (small, large):
                claim_jobs += [
                    Job(x, people, s) for side in (t, k) for x in settings_of(side) for s in seeds
                ]
    d_boost = [
        (label, with_model(t, **dict(boost.model)), with_model(k, **dict(boost.model)), o, sgn)
        for label, t, k, o, sgn in the_claims[3].comparisons
    ]
    synergy = [Setting(package=p) for p in ("subject", "foundation", "fusion", "openness")]
    for people in (small, large):
        claim_jobs += [
            Job(x, people, s)
            for _, t, k, _, _ in d_boost
            for side in (t, k)
            for x in settings_of(side)
            for s in seeds
        ]
        claim_jobs += [Job(x, people, s) for x in [BASE, Setting("four"), *synergy] for s in seeds]
    runner.run(claim_jobs, "claims")
    minutes = (time.time() - started) / 60
    text, record = report(runner, the_claims, d_boost, synergy, args, seeds, minutes)
    if args.quick:
        print(text)
        return 0
    args.out.write_text(text)
    (args.out.with_suffix(".json")).write_text(json.dumps(record, indent=1))
    code = sim_source_hash()
    rows = [
        {
            "setting": j.setting.label(),
            "people": j.people,
            "seed": j.seed,
            "steps": args.steps,
            "crisis": args.crisis,
            "sim_hash": code,
            **v,
        }
        for j, v in runner.cache.items()
    ]

    folder = output_root() / "validation"
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(folder / "runs.parquet", index=False)
    print(f"wrote {args.out} and {args.out.with_suffix('.json')} ({minutes:.1f} min)")
    return 0


def runs_note(runner: Runner, minutes: float) -> str:
    """How the runs were obtained: run now, or reused from a validation of the same code."""
    reused = len(getattr(runner, "_stored", {}))
    if reused:
        return f"{reused} reused from a previous validation of the same sim/ code"
    return f"{minutes:.0f} min on this machine"


def report(runner, the_claims, d_boost, synergy, args, seeds, minutes) -> tuple[str, dict]:
    small, large = args.sizes
    lines = [
        "# Validation: lever screen and the paper's claims",
        "",
        "Generated by `python -m experiments.validate` from "
        f"{len(runner.cache)} runs ({runs_note(runner, minutes)}); do not edit by hand.",
        "",
        f"Every comparison is paired: the same {len(seeds)} seeds run under both conditions. "
        f"Runs last {args.steps} weeks with a mobilization call in week {args.crisis}; outcomes "
        "are means over the 52 weeks before the call, mobilization is the call's peak. An "
        "effect is treated minus control, with its 95% t-interval over seeds; * marks an "
        "interval that excludes 0. Everything else stays at the defaults of `sim/params.py` "
        "(and `configs/policy/baseline.yaml`); no parameter is tuned per claim.",
        "",
        f"## Lever screen ({small:,} people, low vs high)",
        "",
        "| lever | low -> high | "
        + " | ".join(HEADLINE.values())
        + " | other outcomes moved (*) |",
        "|---|---|" + "---|" * len(HEADLINE) + "---|",
    ]
    record: dict = {
        "sizes": args.sizes,
        "seeds": len(seeds),
        "steps": args.steps,
        "crisis": args.crisis,
        "claims": {},
        "levers": {},
    }
    for lever, (lo, hi) in LEVERS.items():
        t, k = BASE.with_(**{lever: hi}), BASE.with_(**{lever: lo})
        cells, moved = [], []
        for o in HEADLINE:
            ci = runner.paired(t, k, o, small, seeds)
            cells.append(fmt(ci))
            record["levers"].setdefault(lever, {})[o] = [ci.mean, ci.low, ci.high]
        for o in OTHER:
            ci = runner.paired(t, k, o, small, seeds)
            if ci.n > 1 and (ci.low > 0 or ci.high < 0):
                moved.append(f"{o} {ci.mean:+.3f}")
        note = "; ".join(moved) or "none"
        if not any("*" in c for c in cells):
            note += f" — no headline effect: {QUIET.get(lever, 'see the claims and ODD')}"
        lines.append(f"| `{lever}` | {lo} -> {hi} | " + " | ".join(cells) + f" | {note} |")
    lines += [
        "",
        f"## Claims ({small:,} and {large:,} people)",
        "",
        f"| claim | paper | comparison | outcome | effect at {small:,} | effect at {large:,} |",
        "|---|---|---|---|---|---|",
    ]
    verdicts = []
    for c in the_claims:
        results = []
        for label, t, k, o, sign in c.comparisons:
            cis = [runner.paired(t, k, o, n, seeds) for n in (small, large)]
            results.append((sign, cis))
            lines.append(
                f"| {c.key} | {c.section} | {label} (expected {'+' if sign > 0 else '-'}) | "
                f"{o} | {fmt(cis[0])} | {fmt(cis[1])} |"
            )
            record["claims"].setdefault(c.key, []).append(
                {
                    "label": label,
                    "outcome": o,
                    "sign": sign,
                    "effects": [[ci.mean, ci.low, ci.high] for ci in cis],
                }
            )
        if c.key == "d":
            for label, t, k, o, _sign in d_boost:
                cis = [runner.paired(t, k, o, n, seeds) for n in (small, large)]
                lines.append(
                    f"| d, boost 3 | 2.3 | {label} | {o} | {fmt(cis[0])} | {fmt(cis[1])} |"
                )
        labels = [label for label, *_ in c.comparisons]
        verdict_text = verdict(results, c.construction, labels)
        if c.conditions and verdict_text.startswith("reproduced"):
            verdict_text += " under stated conditions"
        verdicts.append((c, verdict_text))
    lines += [
        "",
        "## Verdicts",
        "",
        "| claim | verdict | how the model produces it |",
        "|---|---|---|",
    ]
    for c, v in verdicts:
        how = c.how + (f". By construction: {c.construction}" if c.construction else "")
        how += f". Conditions: {c.conditions}" if c.conditions else ""
        lines.append(f"| ({c.key}) {c.text} | **{v}** | {how} |")
        record["claims"][c.key + "_verdict"] = v
    # synergy of the four dimensions
    lines += ["", "## Synergy of the four dimensions", ""]
    for o in ("cohesion", "identification", "mobilization_peak", "unmet_needs"):
        for n in (small, large):
            whole = pd.Series({s: runner.cache[Job(Setting("four"), n, s)][o] for s in seeds})
            base = pd.Series({s: runner.cache[Job(BASE, n, s)][o] for s in seeds})
            parts = sum(
                pd.Series({s: runner.cache[Job(p, n, s)][o] for s in seeds}) - base for p in synergy
            )
            ci_whole = t_interval((whole - base).to_numpy())
            ci_syn = t_interval((whole - base - parts).to_numpy())
            lines.append(
                f"- {o}, {n:,} people: all four minus baseline {fmt(ci_whole)}; "
                f"whole minus the sum of the four single effects {fmt(ci_syn)}"
            )
    return "\n".join(lines) + "\n", record


if __name__ == "__main__":
    sys.exit(main())
