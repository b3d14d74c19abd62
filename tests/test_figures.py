"""Figures: drawn by name, in one style, labelled from what the result files say ran."""

from __future__ import annotations

import copy
import itertools
import re
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib import style
from matplotlib.collections import PathCollection
from omegaconf import OmegaConf

from experiments.figures import FIGURES, STYLE, FigureError, draw, figure, main, make_figures
from experiments.figures import lang as figure_lang
from experiments.figures.metrics import SHARES, run_metrics
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


def pdf_font_types(path: Path) -> dict[str, str]:
    """The fonts a PDF embeds: base font name -> font subtype (``Type3``, ``Type0``, ...)."""
    text = path.read_bytes().decode("latin-1")
    fonts = {}
    for body in re.findall(r"<<(.*?)>>", text, flags=re.S):
        if re.search(r"/Type\s*/Font\b", body):
            subtype = re.search(r"/Subtype\s*/(\w+)", body)
            base = re.search(r"/BaseFont\s*/([^\s/>]+)", body)
            if subtype and base:
                fonts[base.group(1)] = subtype.group(1)
    return fonts


def test_caption_and_order_come_from_the_files_not_todays_config(root):
    today = load_config(["experiment=default"])
    assert today.model.people == 10_000 and today.experiment.policies[0] == "baseline"
    write_experiment(root, packages("default", ["openness", "baseline"], people=2000))
    record = ExperimentRecord.read("default")
    drawing = draw("scenario_bars", record)
    assert drawing.caption == (
        "default: mean and 95% CI of the mean over 2 seeds per scenario (2,000 people, 60 weeks)"
        "; intervals of shares cut to [0, 1]; differences: minus baseline, mean and 95% CI of "
        "the seed-paired difference"
    )
    assert drawing.figure.get_suptitle().replace("\n", " ") == drawing.caption
    assert [t.get_text() for t in drawing.figure.axes[0].get_xticklabels()] == [
        "openness",
        "baseline",
    ]
    paths = make_figures("default")
    table = pd.read_csv(paths["summary"][0])
    assert paths["summary"][0] == root / "default" / "figures" / "scenario_bars.csv"
    levels = table[table["kind"] == "level"]
    assert list(levels["scenario"][:2]) == ["openness", "baseline"]
    assert set(table["n"]) == {2}


def test_differences_from_the_reference_are_paired_by_seed_with_precision(root):
    # fake runs: baseline seeds lift 0 and 0.05, coverage 0.10 and 0.15 (write_experiment),
    # so coverage - baseline is 0.1 for both seeds: a paired interval of width 0
    write_experiment(root, packages("default", ["baseline", "coverage"]))
    drawing = draw("scenario_bars", ExperimentRecord.read("default"))
    assert len(drawing.figure.axes) == 4
    titles = [ax.get_title() for ax in drawing.figure.axes]
    assert titles == ["Level", "Difference from baseline"] * 2
    diff = drawing.summary[drawing.summary["kind"] == "difference"].set_index("metric")
    row = diff.loc["cohesion"]
    assert row["scenario"] == "coverage" and row["mean"] == pytest.approx(0.1)
    assert row["half_width"] == pytest.approx(0.0, abs=1e-12) and bool(row["sufficient"])
    assert np.isnan(row["d_z"])  # every seed differs by exactly 0.1: no spread to scale by
    # the unpaired level intervals of the same runs are wide: pairing is what the panel shows
    level = drawing.summary[drawing.summary["kind"] == "level"]
    assert (level["half_width"] > 0.3).all()
    # each seed's value sits beside its interval, not on top of it
    ax = drawing.figure.axes[0]
    seed_x = np.concatenate(
        [c.get_offsets()[:, 0] for c in ax.collections if isinstance(c, PathCollection)]
    )
    assert len(seed_x) == 4 and np.all(np.abs(seed_x - np.round(seed_x)) > 0.1)


def test_share_intervals_stay_inside_0_1(root):
    # two seeds 0.052 apart: the t-interval (t = 12.7) of baseline cohesion reaches below 0
    write_experiment(root, packages("default", ["baseline", "coverage"]))
    summary = draw("scenario_bars", ExperimentRecord.read("default")).summary
    levels = summary[(summary["kind"] == "level") & summary["metric"].isin(SHARES)]
    assert (levels["ci_low"] >= 0).all() and (levels["ci_high"] <= 1).all()
    base = levels.set_index(["scenario", "metric"]).loc[("baseline", "cohesion")]
    assert base["ci_low"] == 0.0 and bool(base["clipped"])
    assert base["mean"] - base["half_width"] < 0  # the raw interval did cross


def test_one_seed_caption_says_no_interval(root):
    write_experiment(root, packages("default", ["baseline", "coverage"], seeds=1, people=3000))
    drawing = draw("scenario_bars", ExperimentRecord.read("default"))
    assert "single run per scenario (1 seed), no interval" in drawing.caption
    assert "CI" not in drawing.caption and "differences" not in drawing.caption
    diff = drawing.summary[drawing.summary["kind"] == "difference"]
    assert diff["half_width"].isna().all() and not diff["sufficient"].any()


def test_pdf_embeds_truetype_fonts_and_png_is_300_dpi(root):
    write_experiment(root, packages("smoke", ["baseline", "coverage"]))
    paths = make_figures("smoke")
    pdf, png = paths["figures"]
    assert pdf.read_bytes()[:4] == b"%PDF"
    fonts = pdf_font_types(pdf)
    assert fonts and "Type3" not in fonts.values(), fonts
    assert any("DejaVuSans" in name for name in fonts)
    height, width = matplotlib.image.imread(png).shape[:2]
    assert (width, height) == (11 * 300, round(3.8 * 300))
    # the check can fail: matplotlib's defaults embed Type 3 fonts
    drawing = draw("scenario_bars", ExperimentRecord.read("smoke"))
    with style.context("default"):
        drawing.figure.savefig(root / "plain.pdf")
    assert "Type3" in pdf_font_types(root / "plain.pdf").values()


def test_chinese_labels_with_an_embedded_cjk_font(root, capsys):
    write_experiment(root, packages("smoke", ["baseline", "coverage"]))
    for args in (["smoke", "--lang", "zh"], ["smoke", "figure.lang=zh"]):
        code, lines = run_main(args, capsys)
        assert code == 0, lines
    pdf = root / "smoke" / "figures" / "scenario_bars_zh.pdf"
    fonts = pdf_font_types(pdf)
    assert any("NotoSansCJK" in name for name in fonts) and "Type3" not in fonts.values()
    drawing = draw("scenario_bars", ExperimentRecord.read("smoke"), lang="zh")
    assert drawing.figure.axes[0].get_ylabel().startswith("凝聚力")
    assert drawing.caption.startswith("smoke：均值与95%置信区间")
    code, lines = run_main(["smoke", "figure.lang=fr"], capsys)
    assert code == 2 and len(lines) == 1 and "figure.lang = 'fr': unknown" in lines[0]


def test_cjk_scenario_names_render_in_english_figures(root):
    write_experiment(root, packages("smoke", ["baseline", "社区"]))
    paths = make_figures("smoke")
    ticks = [
        t.get_text()
        for t in draw("scenario_bars", ExperimentRecord.read("smoke"))
        .figure.axes[0]
        .get_xticklabels()
    ]
    assert "社区" in ticks
    assert any("NotoSansCJK" in name for name in pdf_font_types(paths["figures"][0]))


def test_missing_cjk_font_is_one_line_naming_the_package(root, capsys, monkeypatch):
    monkeypatch.setattr(figure_lang, "cjk_available", lambda: False)
    write_experiment(root, packages("smoke", ["baseline", "coverage"]))
    code, lines = run_main(["smoke", "--lang", "zh"], capsys)
    assert code == 1 and len(lines) == 1, lines
    assert "'Noto Sans CJK SC' not found" in lines[0] and "fonts-noto-cjk" in lines[0]
    assert not (root / "smoke" / "figures").exists()
    # English labels need no CJK font
    code, _ = run_main(["smoke"], capsys)
    assert code == 0 and (root / "smoke" / "figures" / "scenario_bars.pdf").exists()


def test_cli_reports_precision_and_all_redraws_every_experiment(root, capsys):
    write_experiment(root, packages("one", ["baseline", "coverage"]))
    write_experiment(root, packages("two", ["baseline", "embedding"]))
    capsys.readouterr()
    assert main(["--all"]) == 0
    out = capsys.readouterr().out
    for name in ("one", "two"):
        assert (root / name / "figures" / "scenario_bars.png").exists()
        assert f"precision: {name}/scenario_bars: 2 headline differences: 95% CI half-width" in out
    assert "seeds suffice for 2 of 2" in out
    for args in (["one", "--all"], []):
        code, lines = run_main(args, capsys)
        assert code == 2 and len(lines) == 1 and "name one experiment or give --all" in lines[0]


def test_style_file_settings():
    text = STYLE.read_text()
    for line in (
        "pdf.fonttype:         42",
        "ps.fonttype:          42",
        "savefig.dpi:          300",
        "font.family:          DejaVu Sans, Noto Sans CJK SC",
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
        (["smoke", "--lang", "fr"], "argument --lang: invalid choice: 'fr'"),
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


def test_crisis_call_beyond_the_horizon_warns_on_stderr_and_in_the_figure(root, capsys):
    write_experiment(root, packages("smoke", ["baseline"], crisis_start=58, crisis_weeks=8))
    record = ExperimentRecord.read("smoke")
    (warning,) = record.warnings
    expected = "the crisis call (weeks 58-65) does not end within the run's 60 weeks"
    assert expected in warning
    texts = [t for t in draw("scenario_bars", record).figure.texts if expected in t.get_text()]
    assert len(texts) == 1 and texts[0].get_text().startswith("Warning: scenario 'baseline'")
    code, lines = run_main(["smoke"], capsys)
    assert code == 0 and any(expected in line for line in lines)
    # a call inside the run draws no warning
    write_experiment(root, packages("inside", ["baseline"]))
    inside = draw("scenario_bars", ExperimentRecord.read("inside")).figure
    assert not [t for t in inside.texts if "crisis call" in t.get_text()]


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
        8,  # burden and cohesion x (levels, difference) x (by depth, by variant)
    ),
    "fusion_modes": (
        {
            "policy.fusion_mode": ["narrowed", "isolated", "integrated", "generalized"],
            "policy.integration_effort": [0.2, 0.6],
            "policy.evaluation": ["traces", "outcomes"],
        },
        10,  # two difference panels, then a small panel per mode and outcome
    ),
    "coverage_embedding_heatmaps": (
        {"policy.coverage": [0.0, 1.0], "policy.embedding": [0.0, 0.5]},
        12,  # levels and differences for three outcomes, each with its colourbar
    ),
    "openness_lines": (
        {"policy.openness": [0.0, 1.0], "model.platform_shift": [0.0, 0.1]},
        8,  # four outcomes x (levels, difference)
    ),
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
    assert "seed-paired difference" in drawing.caption
    summary = drawing.summary
    assert set(summary["n"]) == {2} and (summary["ci_low"] <= summary["ci_high"]).all()
    assert set(summary["kind"]) == {"level", "difference"}
    assert summary.loc[summary["kind"] == "difference", "sufficient"].notna().all()
    colourbars = [ax for ax in drawing.figure.axes if ax.get_label() == "<colorbar>"]
    assert all(ax.get_ylabel() for ax in colourbars)
    assert len(colourbars) == (6 if name == "coverage_embedding_heatmaps" else 0)
    chinese = draw(name, record, lang="zh").figure
    labels = [ax.get_ylabel() + ax.get_xlabel() + ax.get_title() for ax in chinese.axes]
    assert any(figure_lang.has_cjk([text]) for text in labels)
    if name == "fusion_modes":  # the closed-form peak uses the recorded b1 = 0.6, not today's 0.8
        texts = [t.get_text() for ax in drawing.figure.axes for t in ax.texts]
        assert "closed-form peak b1/(2 b2) = 0.30" in texts
        paired = summary[(summary["kind"] == "difference") & (summary["metric"] == "cohesion")]
        reference = paired[(paired["mode"] == "isolated") & (paired["evaluation"] == "traces")]
        assert reference["mean"].tolist() == [0.0]


def test_social_change_series_labels_the_recorded_shift(root):
    write_experiment(root, packages("sc", ["baseline", "coverage"], platform_shift=0.07))
    drawing = draw("social_change_series", ExperimentRecord.read("sc"))
    assert "7% of stable-unit workers move to platforms each year" in drawing.caption
    assert len(drawing.figure.axes) == 12  # six outcomes x (levels, coverage - baseline)
    assert drawing.figure.axes[1].get_title() == "coverage - baseline"


def test_run_metrics_final_year_and_peak():
    runs = pd.concat([fake_run("baseline", s, steps=120) for s in range(3)])
    runs.loc[runs["step"] <= 60, "cohesion"] = 0.0  # only the final 52 weeks count
    metrics = run_metrics(runs)
    assert metrics["cohesion"].tolist() == pytest.approx([0.3, 0.302, 0.304])
    assert metrics["mobilization"].tolist() == pytest.approx([0.4, 0.41, 0.42])
