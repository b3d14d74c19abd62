"""The real configs under configs/, composed with Hydra's compose API through sim.load_config."""

from __future__ import annotations

import dataclasses
import re
import shutil
import tomllib
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from packaging.specifiers import SpecifierSet
from packaging.version import Version

import sim.config
from sim.config import (
    CONFIG_DIR,
    HYDRA_CHECKED,
    available_options,
    compose_config,
    config_to_yaml,
    expand_sweep,
    hydra_arguments,
    load_config,
    load_configs,
    mutable_schema,
    split_sweep,
    to_config,
)
from sim.params import (
    Config,
    ConfigError,
    ExperimentParams,
    FieldType,
    ModelParams,
    PolicyParams,
    field_types,
)

POLICIES = ["baseline", "coverage", "embedding", "openness"]


def test_defaults():
    cfg = load_config()
    assert isinstance(cfg, Config)
    assert cfg.model.people == 10_000
    assert cfg.run.steps == 260
    assert cfg.seed == 0
    assert cfg.policy.name == "baseline"
    assert (cfg.policy.coverage, cfg.policy.embedding, cfg.policy.openness) == (0.5, 0.2, 0.3)
    assert cfg.experiment.name == "default"
    assert cfg.experiment.policies == POLICIES
    assert cfg.experiment.seeds == 5
    assert cfg.experiment.figure == "scenario_bars"


def test_yaml_defaults_agree_with_params():
    """What model/default.yaml shows is what params.py says (the YAML only shows, never moves)."""
    shown = yaml.safe_load((CONFIG_DIR / "model" / "default.yaml").read_text())
    defaults = ModelParams()
    for key, value in shown.items():
        assert getattr(defaults, key) == value, key


def test_group_options_are_the_files():
    for group in ("model", "policy", "run", "experiment"):
        files = sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))
        assert available_options(group) == files
    assert set(POLICIES) <= set(available_options("policy"))
    assert {"default", "smoke"} <= set(available_options("experiment"))


@pytest.mark.parametrize("name", available_options("policy"))
def test_every_policy_file_loads(name):
    assert load_config([f"policy={name}"]).policy.name == name


@pytest.mark.parametrize("name", available_options("experiment"))
def test_every_experiment_file_loads_and_expands(name):
    cfg = load_config([f"experiment={name}"])
    assert cfg.experiment.name == name
    jobs = expand_sweep([f"experiment={name}"])
    assert jobs
    configs = load_configs(jobs)
    seeds = {c.seed for c in configs}
    assert len(seeds) == cfg.experiment.seeds


@pytest.mark.parametrize("name", POLICIES)
def test_headline_policies_start_from_baseline(name):
    cfg = load_config([f"policy={name}"])
    assert cfg.policy.name == name
    base = load_config().policy
    changed = {
        f.name
        for f in dataclasses.fields(PolicyParams)
        if getattr(cfg.policy, f.name) != getattr(base, f.name)
    }
    expected = {
        "baseline": set(),
        "coverage": {"name", "coverage"},
        "embedding": {"name", "embedding", "mutual_recognition"},
        "openness": {"name", "openness"},
    }[name]
    assert changed == expected


def test_policy_values():
    assert load_config(["policy=coverage"]).policy.coverage == 0.95
    emb = load_config(["policy=embedding"]).policy
    assert emb.embedding == 0.8 and emb.mutual_recognition is True
    assert load_config(["policy=openness"]).policy.openness == 0.8


def test_smoke_experiment():
    cfg = load_config(["experiment=smoke"])
    assert cfg.experiment.name == "smoke"
    assert cfg.model.people == 500
    assert cfg.run.steps == 30
    assert cfg.experiment.seeds == 2
    assert 0 <= cfg.model.crisis_start < cfg.run.steps


def test_overrides_apply():
    cfg = load_config(["policy=openness", "model.people=2000", "policy.coverage=0.7", "seed=9"])
    assert cfg.model.people == 2000
    assert cfg.policy.coverage == 0.7
    assert cfg.policy.openness == 0.8
    assert cfg.seed == 9


def test_repeated_calls_and_any_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = load_config(["seed=1"])
    second = load_config(["seed=1"])
    assert first == second
    assert load_config(["seed=2"]).seed == 2
    assert not GlobalHydra.instance().is_initialized()
    assert list(tmp_path.iterdir()) == []


def test_inside_an_initialised_hydra():
    """load_config works inside another Hydra session and leaves that session as it was."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        assert load_config(["policy=coverage"]).policy.coverage == 0.95
        assert GlobalHydra.instance().is_initialized()
        assert compose(config_name="config").model.people == 10_000
    assert not GlobalHydra.instance().is_initialized()


def test_schema_is_registered_and_mirrors_params():
    assert ConfigStore.instance().repo["config_schema.yaml"] is not None
    twin = mutable_schema(ModelParams)
    assert not twin.__dataclass_params__.frozen
    ours = {f.name: f.default for f in dataclasses.fields(twin)}
    theirs = {f.name: f.default for f in dataclasses.fields(ModelParams)}
    assert ours == theirs


def test_to_config_and_yaml_round_trip():
    composed = compose_config(["policy=embedding"], return_hydra_config=True)
    cfg = to_config(composed)
    assert cfg.policy.name == "embedding"
    again = Config.from_dict(yaml.safe_load(config_to_yaml(cfg)))
    assert again == cfg


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("policy.coverage=abc", "policy.coverage = 'abc': must be a number in [0, 1]"),
        ("policy.coverage=1.5", "policy.coverage = 1.5: must be a number in [0, 1]"),
        ("policy.coverage=nan", "policy.coverage = nan"),
        ("policy.colour=1", "policy.colour = 1: unknown key 'colour'; allowed keys in policy: "),
        ("+policy.colour=1", "unknown key 'colour'"),
        ("policy=nope", "policy = 'nope': unknown option; available options: baseline, coverage"),
        ("policy.mutual_recognition=7", "policy.mutual_recognition = 7: must be a boolean"),
        ("policy.mutual_recognition=yes", "must be a boolean"),
        (
            "policy.unified_table=on",
            "policy.unified_table = 'on': must be a boolean (true or false)",
        ),
        ("policy.unified_table=0", "policy.unified_table = 0: must be a boolean"),
        ("policy.unified_table=null", "policy.unified_table = null: must be a boolean"),
        ("model.people=3.5", "model.people = 3.5: must be a whole number"),
        ("experiment.policies=abc", "must be a list"),
        ("seed=-1", "seed = -1"),
        ("foo=1", "allowed keys at the top level: experiment, model, policy, run, seed"),
        ("policy.coverage=[", "cannot parse this override"),
        ("policy=baseline,coverage", "needs multirun"),
        ("hydra/launcher=nope", "available options: basic, joblib"),
    ],
)
def test_errors_are_one_line(override, fragment):
    with pytest.raises(ConfigError) as info:
        load_config([override])
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_errors_in_yaml_files_name_the_file(tmp_path):
    configs = tmp_path / "configs"
    shutil.copytree(CONFIG_DIR, configs)
    (configs / "policy" / "typo.yaml").write_text("name: typo\ncolour: red\n")
    (configs / "policy" / "wrongtype.yaml").write_text("name: wrongtype\ncoverage: lots\n")
    (configs / "policy" / "broken.yaml").write_text("name: [broken\n")
    cases = {
        "typo": "policy.colour: unknown key 'colour'",
        "wrongtype": "policy.coverage = 'lots': must be a number in [0, 1]",
        "broken": "YAML syntax error",
    }
    for option, fragment in cases.items():
        with pytest.raises(ConfigError) as info:
            load_config([f"policy={option}"], config_dir=configs)
        assert fragment in str(info.value)
        if option != "broken":
            assert f"policy/{option}.yaml" in str(info.value)


def test_booleans_in_yaml_files_must_be_true_or_false(tmp_path):
    """The schema keeps a boolean key's value as written, and sim.params rejects non-booleans.

    Unlike other type errors, these messages do not name the file: the check runs on the
    composed config. (An unquoted yes/on is a YAML 1.1 boolean to the YAML loader, so it
    arrives as true and is accepted, as it always was.)
    """
    configs = tmp_path / "configs"
    shutil.copytree(CONFIG_DIR, configs)
    files = {
        "intbool": ("mutual_recognition: 1", "policy.mutual_recognition = 1: must be a boolean"),
        "quoted": ("unified_table: 'yes'", "policy.unified_table = 'yes': must be a boolean"),
        "text": ("simplify_downward: maybe", "policy.simplify_downward = 'maybe': must be"),
        "numeric": ("unified_table: ${policy.coverage}", "policy.unified_table = 0."),
        "mapping": ("unified_table: {a: 1}", "policy.unified_table = {'a': 1}: must be"),
    }
    for option, (line, fragment) in files.items():
        (configs / "policy" / f"{option}.yaml").write_text(f"name: {option}\n{line}\n")
        with pytest.raises(ConfigError) as info:
            load_config([f"policy={option}"], config_dir=configs)
        assert fragment in str(info.value)
        assert "\n" not in str(info.value)
    (configs / "policy" / "linked.yaml").write_text(
        "defaults: [baseline, _self_]\nname: linked\nmutual_recognition: true\n"
        "unified_table: ${policy.mutual_recognition}\n"
    )
    linked = load_config(["policy=linked"], config_dir=configs).policy
    assert linked.unified_table is True


def test_missing_config_dir(tmp_path):
    with pytest.raises(ConfigError, match="no config.yaml"):
        load_config(config_dir=tmp_path)


def test_expand_sweep_uses_the_experiment_file():
    jobs = expand_sweep(["experiment=default"])
    assert len(jobs) == 20
    pairs = {(j[0], j[1]) for j in jobs}
    assert ("policy=openness", "seed=4") in pairs
    smoke = expand_sweep(["experiment=smoke"])
    assert len(smoke) == 8
    assert all("experiment=smoke" in job for job in smoke)


def test_load_configs_is_load_config_for_each_job():
    jobs = expand_sweep(["experiment=smoke", "model.people=200", "policy.openness=0.9"])
    jobs.append(["policy=embedding", "model.people=300"])
    assert load_configs(jobs) == [load_config(job) for job in jobs]
    first, second = load_configs([["model.people=100"], ["seed=1"]])
    assert (first.model.people, second.model.people) == (100, 10_000)


@pytest.mark.parametrize(
    ("job", "fragment"),
    [
        (["seed=-1"], "seed = -1"),
        (["policy.colour=1"], "unknown key 'colour'"),
        (["policy.coverage=abc"], "policy.coverage = 'abc'"),
        (["policy.mutual_recognition=7"], "must be a boolean"),
        (["policy=nope"], "unknown option"),
    ],
)
def test_load_configs_errors(job, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        load_configs([["seed=1"], job])


def test_expand_sweep_command_line_wins():
    jobs = expand_sweep(["policy=coverage", "seed=7,8"])
    assert jobs == [["policy=coverage", "seed=7"], ["policy=coverage", "seed=8"]]


def test_expand_sweep_rejects_unknown_option():
    with pytest.raises(ConfigError, match="policy = 'nope': unknown option"):
        expand_sweep(["policy=baseline,nope"])


def test_config_dir_is_the_repository_folder():
    assert CONFIG_DIR == Path(__file__).resolve().parent.parent / "configs"


def test_field_types_unwrap_optional_and_generic_annotations():
    assert field_types(ExperimentParams)["policies"] == FieldType(list[str], list, False)
    assert field_types(PolicyParams)["platform_coverage"] == FieldType(float, float, True)
    assert field_types(PolicyParams)["unified_table"].kind == "boolean"
    assert field_types(Config)["policy"].base is PolicyParams


def test_hydra_internals_are_where_the_adapter_expects():
    """Fails if a Hydra release moved the private API sim/config.py wraps (or left the pin)."""
    pinned = [
        r.removeprefix("hydra-core")
        for r in tomllib.loads((CONFIG_DIR.parent / "pyproject.toml").read_text())["project"][
            "dependencies"
        ]
        if r.startswith("hydra-core")
    ]
    assert pinned == [HYDRA_CHECKED]
    assert Version(sim.config.hydra_version) in SpecifierSet(HYDRA_CHECKED)
    args = hydra_arguments(["-m", "--cfg", "job", "policy=coverage", "seed=1,2"])
    assert (args.multirun, args.cfg, args.overrides) == (
        True,
        "job",
        ["policy=coverage", "seed=1,2"],
    )
    flags = ("help", "hydra_help", "info", "config_path", "config_name", "config_dir")
    assert all(hasattr(args, flag) for flag in flags)
    parsed = OverridesParser.create().parse_overrides(["seed=0,1", "policy=coverage", "seed=5,6"])
    assert split_sweep(parsed) == [
        ["seed=5", "policy=coverage"],
        ["seed=6", "policy=coverage"],
    ]


def test_moved_hydra_internals_fail_with_a_clear_message():
    with pytest.raises(RuntimeError, match=r"hydra._internal.utils.gone not found.*sim/config.py"):
        sim.config._hydra_internal("utils", "gone")
