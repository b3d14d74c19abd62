"""Figures: drawn by name, in one style, labelled from what the result files say ran."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib import style
from omegaconf import OmegaConf

from experiments.figures import FIGURES, STYLE, FigureError, draw, figure, main, make_figures
from experiments.figures.metrics import run_metrics
from experiments.figures.registry import lookup
from experiments.provenance import ExperimentRecord
from experiments.results import ResultsError, config_hash, make_provenance, result_path, write_run
from sim.config import load_config
from sim.params import Config

REPO = Path(__file__).resolve().parent.parent
OUTCOMES = (
    "cohesion",
    "burden",
    "business_performance",
    "sensing_error",
    "floating_gap",
    "floating_members",
    "identification",
    "effective_coverage",
    "new_strata_recruit_share",
)
BASE_PROVENANCE = make_provenance(Config().to_dict())


def fake_run(scenario: str, seed: int, steps: int = 60, lift: float = 0.0) -> pd.DataFrame:
    """A run's per-step table: flat outcomes that depend on the seed, a spike in week 30."""
    step = np.arange(1, steps + 1)
    df = pd.DataFrame({"step": step, "seed": seed, "scenario": scenario})
    for i, name in enumerate(OUTCOMES):
        df[name] = 0.3 + 0.01 * i + lift + 0.002 * seed + 0.0 * step
    df["mobilization"] = np.where(step == 30, 0.4 + lift + 0.01 * seed, 0.0)
    return df


def write_experiment(root: Path, runs: list[dict], created: str = "2025-01-01T00:00:00+00:00"):
    """Write result files whose provenance records the given nested configs."""
    for i, data in enumerate(runs):
        cfg = Config.from_dict({k: v for k, v in data.items() if k != "_created"})
        prov = copy.deepcopy(BASE_PROVENANCE)
        config = cfg.to_dict()
        prov |= {"config": config, "config_hash": config_hash(config), "seed": cfg.seed}
        prov |= {"scenario": cfg.scenario, "experiment": cfg.experiment.name}
        prov["created_utc"] = data.get("_created", created)
        path = result_path(cfg)
        lift = 0.05 * i % 0.2
        write_run(fake_run(cfg.scenario, cfg.seed, cfg.run.steps, lift), path, prov)
    return root


def packages(
    name: str, policies: list[str], seeds: int = 2, figure_name="scenario_bars", **model
) -> list[dict]:
    """Configs of an experiment comparing policy packages (one scenario each)."""
    model = {"crisis_start": 20, "crisis_weeks": 4} | model
    return [
        {
            "seed": seed,
            "model": model,
            "run": {"steps": 60},
            "policy": {"name": policy},
            "experiment": {"name": name, "policies": policies, "figure": figure_name},
        }
        for policy in policies
        for seed in range(seeds)
    ]


def run_main(args: list[str], capsys) -> tuple[int, list[str]]:
    """``python -m experiments.figures <args>`` in this process: exit status, stderr lines."""
    capsys.readouterr()
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's exit
        code = exc.code
    return code, capsys.readouterr().err.strip().splitlines()


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("SIM_OUTPUT_ROOT", str(tmp_path))
    return tmp_path


def test_caption_and_order_come_from_the_files_not_todays_config(root):
    today = load_config(["experiment=default"])
    assert today.model.people == 10_000 and today.experiment.policies[0] == "baseline"
    write_experiment(root, packages("default", ["openness", "baseline"], people=2000))
    record = ExperimentRecord.read("default")
    drawing = draw("scenario_bars", record)
    assert drawing.caption == (
        "default: mean and 95% CI of the mean over 2 seeds per scenario (2,000 people, 60 weeks)"
    )
    assert drawing.figure.get_suptitle() == drawing.caption
    assert [t.get_text() for t in drawing.figure.axes[0].get_xticklabels()] == [
        "openness",
        "baseline",
    ]
    paths = make_figures("default")
    table = pd.read_csv(paths["summary"][0])
    assert paths["summary"][0] == root / "default" / "figures" / "scenario_bars.csv"
    assert list(table["scenario"][:2]) == ["openness", "baseline"]
    assert set(table["n"]) == {2}


def test_one_seed_caption_says_no_interval(root):
    write_experiment(root, packages("default", ["baseline"], seeds=1, people=3000))
    caption = draw("scenario_bars", ExperimentRecord.read("default")).caption
    assert "1 seed per scenario, no interval" in caption and "CI" not in caption


def test_pdf_embeds_truetype_fonts_and_png_is_300_dpi(root):
    write_experiment(root, packages("smoke", ["baseline", "coverage"]))
    paths = make_figures("smoke")
    pdf, png = paths["figures"]
    assert pdf.read_bytes()[:4] == b"%PDF"
    assert b"/Type3" not in pdf.read_bytes() and b"/FontFile2" in pdf.read_bytes()
    height, width = matplotlib.image.imread(png).shape[:2]
    assert (width, height) == (8 * 300, round(3.6 * 300))
    # the check can fail: matplotlib's defaults embed Type 3 fonts
    drawing = draw("scenario_bars", ExperimentRecord.read("smoke"))
    with style.context("default"):
        drawing.figure.savefig(root / "plain.pdf")
    assert b"/Type3" in (root / "plain.pdf").read_bytes()


def test_style_file_settings():
    text = STYLE.read_text()
    for line in (
        "pdf.fonttype:         42",
        "ps.fonttype:          42",
        "savefig.dpi:          300",
    ):
        assert line in text


def test_registry_rejects_an_unknown_name_in_one_line():
    with pytest.raises(FigureError) as exc:
        lookup("nope")
    message = str(exc.value)
    assert "\n" not in message and message.startswith("figure 'nope': unknown; registered")
    assert all(name in message for name in FIGURES)
    with pytest.raises(ValueError, match="registered twice"):
        figure("scenario_bars")(lambda record: None)


def test_every_experiment_config_names_a_registered_figure():
    names = {
        OmegaConf.load(path).experiment.figure
        for path in (REPO / "configs" / "experiment").glob("*.yaml")
    }
    assert names and names <= set(FIGURES), names - set(FIGURES)


def test_cli_unknown_figure_in_the_results_is_one_line(root, capsys):
    write_experiment(root, packages("smoke", ["baseline"], figure_name="nope"))
    for args in (["smoke"], ["smoke", "--figure", "bogus"]):
        code, lines = run_main(args, capsys)
        assert code == 2
        assert len(lines) == 1 and "unknown; registered figures: " in lines[0], lines
        assert ("'nope'" if len(args) == 1 else "'bogus'") in lines[0]
    assert not (root / "smoke" / "figures").exists()


def test_cli_mixed_population_within_a_scenario_is_one_line(root, capsys):
    runs = packages("smoke", ["baseline"], people=2000)
    runs[1]["model"] = runs[1]["model"] | {"people": 10_000}
    write_experiment(root, runs)
    code, lines = run_main(["smoke"], capsys)
    assert code == 1 and len(lines) == 1, lines
    line = lines[0]
    assert "model.people within scenario 'baseline'" in line
    assert "2,000 in " in line and "seed=0.parquet" in line
    assert "10,000 in " in line and "seed=1.parquet" in line
    assert not (root / "smoke" / "figures").exists()


def test_cli_bad_arguments_are_one_line(root, capsys):
    for args, expected in (
        (["../etc"], "experiment = '../etc': not an experiment name"),
        (["smoke", "model.people=5"], "unrecognized arguments: model.people=5"),
        ([], "the following arguments are required: experiment"),
    ):
        code, lines = run_main(args, capsys)
        assert code == 2
        assert len(lines) == 1 and expected in lines[0], lines


def test_newest_run_names_the_figure_with_a_warning(root):
    old = packages("default", ["baseline"], figure_name="scenario_bars")
    new = packages("default", ["coverage"], figure_name="social_change_series")
    for run in new:
        run["_created"] = "2025-06-01T00:00:00+00:00"
    write_experiment(root, old + new)
    record = ExperimentRecord.read("default")
    assert record.figures == ("social_change_series",)
    (warning,) = record.warnings
    assert warning.startswith("warning: results disagree on experiment.figure: ")
    assert "scenario=baseline/run=" in warning and "scenario=coverage/run=" in warning


def test_crisis_call_beyond_the_horizon_warns(root):
    write_experiment(root, packages("smoke", ["baseline"], crisis_start=58, crisis_weeks=8))
    (warning,) = ExperimentRecord.read("smoke").warnings
    assert "the crisis call (weeks 58-65) does not end within the run's 60 weeks" in warning


def test_recorded_value_must_agree(root):
    runs = packages("smoke", ["baseline", "coverage"])
    for run in runs[2:]:
        run["model"] = run["model"] | {"platform_shift": 0.2}
    write_experiment(root, runs)
    record = ExperimentRecord.read("smoke")
    assert record.swept() == ["model.platform_shift"]
    with pytest.raises(ResultsError, match="results disagree on model.platform_shift: 0.01 in"):
        record.value("model.platform_shift")


def sweep(name: str, figure_name: str, levers: dict[str, list], **model) -> list[dict]:
    """Configs of a lever sweep: one scenario per condition, 2 seeds each."""
    out = []
    for values in itertools.product(*levers.values()):
        data: dict = {
            "model": {"crisis_start": 20, "crisis_weeks": 4} | model,
            "run": {"steps": 60},
            "policy": {},
        }
        for key, value in zip(levers, values, strict=True):
            section, field = key.split(".")
            data[section][field] = value
        data["policy"]["name"] = "_".join(str(v) for v in values)
        data["experiment"] = {"name": name, "figure": figure_name}
        out += [data | {"seed": seed} for seed in range(2)]
    return out


DESIGNS = {
    "escalation_grid": (
        {
            "policy.escalation": [0.0, 0.3],
            "model.levels": [2, 4],
            "policy.unified_table": [False, True],
            "policy.simplify_downward": [False, True],
        },
        4,
    ),
    "fusion_modes": (
        {
            "policy.fusion_mode": ["narrowed", "isolated", "integrated", "generalized"],
            "policy.integration_effort": [0.2, 0.6],
            "policy.evaluation": ["traces", "outcomes"],
        },
        4,
    ),
    "coverage_embedding_heatmaps": (
        {"policy.coverage": [0.0, 1.0], "policy.embedding": [0.0, 0.5]},
        6,
    ),
    "openness_lines": ({"policy.openness": [0.0, 1.0], "model.platform_shift": [0.0, 0.1]}, 4),
}


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_sweep_figures_read_their_levers_from_the_files(root, name):
    levers, axes = DESIGNS[name]
    write_experiment(root, sweep("exp", name, levers, people=1500, business_lift=0.6))
    record = ExperimentRecord.read("exp")
    assert set(record.swept()) == set(levers)
    drawing = draw(name, record)
    assert len(drawing.figure.axes) == axes
    assert "(1,500 people, 60 weeks" in drawing.caption
    assert "over 2 seeds per" in drawing.caption
    summary = drawing.summary
    assert set(summary["n"]) == {2} and (summary["ci_low"] <= summary["ci_high"]).all()
    if name == "fusion_modes":  # the closed-form peak uses the recorded b1 = 0.6, not today's 0.8
        texts = [t.get_text() for ax in drawing.figure.axes for t in ax.texts]
        assert "closed-form peak b1/(2 b2) = 0.30" in texts
        paired = summary[summary["metric"] == "cohesion_vs_isolated"]
        reference = paired[(paired["mode"] == "isolated") & (paired["evaluation"] == "traces")]
        assert reference["mean"].tolist() == [0.0]


def test_social_change_series_labels_the_recorded_shift(root):
    write_experiment(root, packages("sc", ["baseline", "coverage"], platform_shift=0.07))
    drawing = draw("social_change_series", ExperimentRecord.read("sc"))
    assert "7% of stable-unit workers move to platforms each year" in drawing.caption
    assert len(drawing.figure.axes) == 6


def test_run_metrics_final_year_and_peak():
    runs = pd.concat([fake_run("baseline", s, steps=120) for s in range(3)])
    runs.loc[runs["step"] <= 60, "cohesion"] = 0.0  # only the final 52 weeks count
    metrics = run_metrics(runs)
    assert metrics["cohesion"].tolist() == pytest.approx([0.3, 0.302, 0.304])
    assert metrics["mobilization"].tolist() == pytest.approx([0.4, 0.41, 0.42])
