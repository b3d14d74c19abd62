"""Reading and writing run results: one Parquet file per run, with provenance inside.

Each run of the simulator is one tidy table (one row per step) written to
``outputs/<experiment>/runs/<scenario>/seed=<seed>.parquet``. The file's schema metadata
carries, under the key ``sim_provenance``, a JSON record of where the numbers come from: the
resolved config, seed, scenario, git commit and dirty flag, package versions, Python version and
time. Files are written atomically (temporary file in the same folder, fsync, rename), so a
killed sweep leaves no half-written result and a rerun can skip what is done.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import platform
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

#: Key of the provenance record in the Parquet schema metadata.
PROVENANCE_KEY = b"sim_provenance"
#: Environment variable that moves the output root (default ``outputs`` in the working dir).
OUTPUT_ROOT_ENV = "SIM_OUTPUT_ROOT"
#: Packages whose versions always go into the provenance record (with the simulator's own
#: dependencies as its installed metadata lists them).
PACKAGES = ("sim", "mesa", "numpy", "scipy", "pandas", "pyarrow", "hydra-core", "omegaconf")
#: Temporary files older than this (seconds) are left over from a killed run.
STALE_SECONDS = 3600
REPO_ROOT = Path(__file__).resolve().parent.parent


def output_root() -> Path:
    """The folder all experiments write under: ``$SIM_OUTPUT_ROOT``, else ``outputs``."""
    return Path(os.environ.get(OUTPUT_ROOT_ENV) or "outputs")


def experiment_dir(name: str) -> Path:
    """``<output root>/<experiment name>``."""
    return output_root() / name


def run_path(experiment: str, scenario: str, seed: int) -> Path:
    """Where one run's result goes: ``<root>/<experiment>/runs/<scenario>/seed=<seed>.parquet``.

    Args:
        experiment: Experiment name.
        scenario: Scenario label (the policy package's name).
        seed: Root seed of the run.
    """
    return experiment_dir(experiment) / "runs" / scenario / f"seed={seed}.parquet"


def config_hash(config: dict[str, Any]) -> str:
    """A stable hash of the parts of a config that determine a run's numbers.

    The ``experiment`` section (name, description, figure) only says how results are organised
    and drawn, so it is left out: the same run reached from two experiments hashes the same.

    Args:
        config: The nested dict of a validated config (``Config.to_dict()``).

    Returns:
        Hex SHA-256 digest.
    """
    relevant = {k: v for k, v in config.items() if k != "experiment"}
    text = json.dumps(relevant, sort_keys=True, default=str, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state() -> tuple[str, bool | None]:
    """(commit hash or ``"unknown"``, whether the work tree has uncommitted changes or None)."""
    commit = _git("rev-parse", "HEAD") or "unknown"
    status = _git("status", "--porcelain")
    dirty = None if status is None else bool(status)
    return commit, dirty


def package_versions() -> dict[str, str]:
    """Installed versions of the simulator and its dependencies."""
    names = list(PACKAGES)
    try:
        for requirement in metadata.requires("sim") or []:
            if "extra ==" not in requirement:
                names.append(re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0])
    except metadata.PackageNotFoundError:
        pass
    versions = {}
    for name in dict.fromkeys(names):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def make_provenance(config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The provenance record of one run.

    Args:
        config: The nested dict of the validated config (``Config.to_dict()``).
        **extra: More fields to record (e.g. the command-line overrides).

    Returns:
        A JSON-serialisable dict.
    """
    commit, dirty = git_state()
    record = {
        "config": config,
        "config_hash": config_hash(config),
        "seed": config.get("seed"),
        "scenario": config.get("policy", {}).get("name"),
        "experiment": config.get("experiment", {}).get("name"),
        "git_commit": commit,
        "git_dirty": dirty,
        "packages": package_versions(),
        "python": platform.python_version(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    record.update(extra)
    return record


def remove_stale_temps(path: str | Path, max_age: float = STALE_SECONDS) -> list[Path]:
    """Delete temporary files of ``path`` left behind by a killed writer.

    Args:
        path: A result file (it need not exist).
        max_age: Only temporary files older than this many seconds are removed, so a writer
            that is still running is never disturbed.

    Returns:
        The files removed.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return []
    now = time.time()
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > max_age:
                tmp.unlink()
                removed.append(tmp)
    return removed


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it onto ``path`` atomically.

    The temporary file is flushed to disk before the rename, and removed if the block fails,
    so ``path`` is either absent, the old file, or the complete new file.

    Args:
        path: The final file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_run(df: pd.DataFrame, path: str | Path, provenance: dict[str, Any]) -> Path:
    """Write one run's table to Parquet atomically, with provenance in the schema metadata.

    Args:
        df: The run's table (one row per step).
        path: Destination ``.parquet`` file; parent folders are created.
        provenance: JSON-serialisable record (see :func:`make_provenance`).

    Returns:
        The path written.
    """
    path = Path(path)
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[PROVENANCE_KEY] = json.dumps(provenance, default=str).encode()
    table = table.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


def read_provenance(path: str | Path) -> dict[str, Any] | None:
    """The provenance record of a result file, or None if it has none (or is unreadable).

    Args:
        path: A ``.parquet`` file written by :func:`write_run`.
    """
    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return None
    raw = meta.get(PROVENANCE_KEY)
    return json.loads(raw) if raw else None


def result_files(folder: str | Path) -> list[Path]:
    """All finished result files under ``folder`` (temporary files excluded), sorted."""
    folder = Path(folder)
    return sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith("."))


def _read_file(path: Path, provenance: dict[str, Any] | None) -> pd.DataFrame:
    """One result file's table; ``scenario`` and ``seed`` filled from provenance if absent."""
    df = pd.read_parquet(path)
    prov = provenance or {}
    if "scenario" not in df.columns:
        df["scenario"] = prov.get("scenario", path.parent.name)
    if "seed" not in df.columns:
        df["seed"] = prov.get("seed", int(path.stem.partition("=")[2] or -1))
    return df


def read_runs(folder: str | Path) -> pd.DataFrame:
    """All runs under a folder as one tidy table.

    Args:
        folder: E.g. ``outputs/default/runs``; searched recursively for ``*.parquet``.

    Returns:
        The concatenated tables. Columns ``scenario`` and ``seed`` are always present (taken
        from the provenance record if a file lacks them).

    Raises:
        FileNotFoundError: If the folder holds no result files.
    """
    files = result_files(folder)
    if not files:
        raise FileNotFoundError(f"no result files (*.parquet) under {folder}")
    return pd.concat([_read_file(p, read_provenance(p)) for p in files], ignore_index=True)


def stored_experiments(root: str | Path | None = None) -> list[str]:
    """Names of the experiments that have result files under the output root, sorted."""
    root = Path(root) if root is not None else output_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if result_files(p / "runs"))


class ResultsError(ValueError):
    """Result files that cannot be read as one experiment; the message is one line."""


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config as ``{"model.people": 2000, ...}``; lists become tuples (hashable)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = tuple(value) if isinstance(value, list) else value
    return flat


def read_experiment(
    experiment: str, root: str | Path | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Everything an experiment's result files hold: the runs and what each run was.

    This is the one entry point for analysis (figures, notebooks): it alone knows how runs are
    laid out on disk.

    Args:
        experiment: Experiment name.
        root: Output root (default: :func:`output_root`).

    Returns:
        ``(runs, manifest)``: ``runs`` is the per-step table of every run (columns ``scenario``
        and ``seed`` always present); ``manifest`` has one row per run: ``file``, ``scenario``,
        ``seed``, ``config_hash``, ``git_commit``, ``created_utc`` and every key of the run's
        recorded config as a dotted column (``model.people``, ``policy.coverage``,
        ``experiment.figure``, ...).

    Raises:
        FileNotFoundError: If the experiment has no result files.
        ResultsError: If a result file carries no provenance record.
    """
    folder = (Path(root) if root is not None else output_root()) / experiment / "runs"
    files = result_files(folder)
    if not files:
        raise FileNotFoundError(f"no result files (*.parquet) under {folder}")
    frames, rows = [], []
    for path in files:
        prov = read_provenance(path)
        if not prov or not isinstance(prov.get("config"), dict):
            raise ResultsError(
                f"{path}: no provenance record; it was not written by experiments.run "
                "(move it away or rerun)"
            )
        frames.append(_read_file(path, prov))
        row = {"file": str(path), "scenario": prov.get("scenario"), "seed": prov.get("seed")}
        row |= {k: prov.get(k) for k in ("config_hash", "git_commit", "created_utc")}
        rows.append(row | {k: v for k, v in flatten(prov["config"]).items() if k != "seed"})
    return pd.concat(frames, ignore_index=True), pd.DataFrame(rows)
