"""Reading and writing run results: one Parquet file per run, with provenance inside.

A run is its config. Each run's tidy table (one row per step) goes to::

    outputs/<experiment>/runs/scenario=<scenario>/run=<run id>/seed=<seed>.parquet

The run id (:func:`run_id`) is a short hash of everything that determines the numbers (the
model, policy and run sections and :data:`sim.params.MODEL_VERSION`; not the seed, which has
its own file, and not the experiment section, which only says how results are organised), so
two runs that differ in any parameter never share a file. The scenario name is sanitised
(:func:`safe_name`): a user string never becomes a path outside the store. The layout is
Hive-style, and every model/policy/run parameter is also a constant column of the file, so
DuckDB reads a whole experiment, varied parameters included, in one line::

    duckdb -c "SELECT * FROM read_parquet('outputs/smoke/**/*.parquet', hive_partitioning=true)"

The file's schema metadata carries, under ``sim_provenance``, a JSON record of where the
numbers come from (the resolved config, seed, scenario, run id, model version, git commit and
dirty flag, package versions, Python version and time) and, under ``sim_integrity``, the row
count and a SHA-256 of the data, checked on every read (:func:`check_result`), so a damaged
file is reported by path and redone, never taken as done. Files are written atomically
(temporary file in the same folder, fsync, rename) with the permissions the umask allows.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import hashlib
import json
import os
import platform
import re
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.params import MODEL_VERSION, Config, ModelParams, PolicyParams, RunParams, field_types

#: Key of the provenance record in the Parquet schema metadata.
PROVENANCE_KEY = b"sim_provenance"
#: Key of the integrity record (row count, SHA-256 of the data) in the schema metadata.
INTEGRITY_KEY = b"sim_integrity"
#: Config sections whose values determine a run's numbers (written as columns, hashed).
RUN_SECTIONS = {"model": ModelParams, "policy": PolicyParams, "run": RunParams}
#: Environment variable that moves the output root (default ``outputs`` in the working dir).
OUTPUT_ROOT_ENV = "SIM_OUTPUT_ROOT"
#: Packages whose versions always go into the provenance record (with the simulator's own
#: dependencies as its installed metadata lists them).
PACKAGES = ("sim", "mesa", "numpy", "scipy", "pandas", "pyarrow", "hydra-core", "omegaconf")
#: Temporary files older than this (seconds) are left over from a killed run.
STALE_SECONDS = 3600
REPO_ROOT = Path(__file__).resolve().parent.parent


class ResultsError(ValueError):
    """Result files that cannot be read as one experiment; the message is one line."""


def output_root() -> Path:
    """The folder all experiments write under: ``$SIM_OUTPUT_ROOT``, else ``outputs``."""
    return Path(os.environ.get(OUTPUT_ROOT_ENV) or "outputs")


def experiment_dir(name: str) -> Path:
    """``<output root>/<experiment name>``."""
    return output_root() / name


_SAFE = re.compile(r"[^0-9A-Za-z_\-\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def safe_name(name: str) -> str:
    """A scenario name as a folder name: the same name if it is safe, else a safe variant.

    Letters, digits, ``_``, ``-`` and CJK characters are kept; anything else (``/``, ``.``,
    spaces, ...) becomes ``_``, and a changed or empty name gets a short hash of the original,
    so different names never share a folder and no name leaves the store (no absolute paths,
    no ``..``, no ``.`` or empty name).

    Args:
        name: The scenario name as the config says it.

    Returns:
        A non-empty folder name of at most 80 characters.
    """
    kept = _SAFE.sub("_", name)[:60]
    if kept == name and name:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{kept}-{digest}" if kept.strip("_") else f"_-{digest}"


def run_config(config: dict[str, Any]) -> dict[str, Any]:
    """The sections of a nested config that determine a run's numbers, seed excluded."""
    return {k: config[k] for k in RUN_SECTIONS if k in config}


def run_id(config: dict[str, Any] | Config) -> str:
    """The id of a run: a short hash of what determines its numbers, model version included.

    The seed is left out (each seed is a file of the run), and so is the experiment section
    (name, description, figure, design): the same run reached from two experiments has one id.

    Args:
        config: A validated config or its nested dict (``Config.to_dict()``).

    Returns:
        12 hex digits.
    """
    if isinstance(config, Config):
        config = config.to_dict()
    payload = {"model_version": MODEL_VERSION, **run_config(config)}
    text = json.dumps(payload, sort_keys=True, default=str, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_dir(experiment: str, scenario: str, run: str) -> Path:
    """``<root>/<experiment>/runs/scenario=<safe scenario>/run=<run id>``."""
    return experiment_dir(experiment) / "runs" / f"scenario={safe_name(scenario)}" / f"run={run}"


def run_path(experiment: str, scenario: str, seed: int, run: str) -> Path:
    """Where one run's result goes.

    Args:
        experiment: Experiment name.
        scenario: Scenario label (the policy package's name; sanitised here).
        seed: Root seed of the run.
        run: The run id (:func:`run_id`).

    Returns:
        ``<root>/<experiment>/runs/scenario=<s>/run=<id>/seed=<seed>.parquet``.
    """
    return run_dir(experiment, scenario, run) / f"seed={seed}.parquet"


def result_path(cfg: Config) -> Path:
    """Where the result of a validated config goes (see :func:`run_path`)."""
    return run_path(cfg.experiment.name, cfg.scenario, cfg.seed, run_id(cfg))


def config_hash(config: dict[str, Any]) -> str:
    """A stable hash of the parts of a config that determine a run's numbers, seed included.

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


@functools.cache
def git_state() -> tuple[str, bool | None]:
    """(commit hash or ``"unknown"``, whether the work tree has uncommitted changes or None).

    Read once per process: a sweep's workers record the state the code was in when they
    started (asking git for every run would cost more than a small run's writing).
    """
    commit = _git("rev-parse", "HEAD") or "unknown"
    status = _git("status", "--porcelain")
    dirty = None if status is None else bool(status)
    return commit, dirty


@functools.cache
def package_versions() -> dict[str, str]:
    """Installed versions of the simulator and its dependencies (read once per process)."""
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
        "run_id": run_id(config),
        "model_version": MODEL_VERSION,
        "seed": config.get("seed"),
        "scenario": config.get("policy", {}).get("name"),
        "experiment": config.get("experiment", {}).get("name"),
        "git_commit": commit,
        "git_dirty": dirty,
        "packages": dict(package_versions()),
        "python": platform.python_version(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    record.update(extra)
    return record


def _temp_prefix(path: Path) -> str:
    """``.<name>.<host>-<pid>-``: a temporary file names its writer, so a dead one's is known."""
    return f".{path.name}.{socket.gethostname()}-{os.getpid()}-"


def _writer_is_dead(tmp: Path) -> bool:
    """Whether a temporary file's writer ran on this host and has exited.

    The name is ``.<file>.<host>-<pid>-<random>.tmp`` (:func:`_temp_prefix`). File names and
    host names may both hold dots and hyphens, so the name is matched against this host's
    own name rather than split: a pattern that captured "the host" from the first dot took
    the file's name as part of it and never recognised a dead writer.
    """
    host = re.escape(socket.gethostname())
    match = re.search(rf"\.{host}-(?P<pid>\d+)-[^-./]+\.tmp$", tmp.name)
    if not match:
        return False
    try:
        os.kill(int(match["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


def remove_stale_temps(path: str | Path, max_age: float = STALE_SECONDS) -> list[Path]:
    """Delete temporary files of ``path`` left behind by a killed writer.

    Args:
        path: A result file (it need not exist).
        max_age: Temporary files older than this many seconds are removed, and younger ones
            whose writer (named in the file name) ran on this host and has exited, so a writer
            that is still running is never disturbed.

    Returns:
        The files removed.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return []
    return _remove_temps(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"), max_age)


def remove_stale_temps_under(folder: str | Path, max_age: float = STALE_SECONDS) -> list[Path]:
    """:func:`remove_stale_temps` for every file under ``folder`` (recursively)."""
    folder = Path(folder)
    return _remove_temps(folder.rglob(".*.tmp"), max_age) if folder.is_dir() else []


def _remove_temps(temps: Iterable[Path], max_age: float) -> list[Path]:
    now = time.time()
    removed = []
    for tmp in temps:
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > max_age or _writer_is_dead(tmp):
                tmp.unlink()
                removed.append(tmp)
    return removed


def _umask() -> int:
    """The process's umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=_temp_prefix(path), suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it owner-only; the umask decides
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


def param_columns(config: dict[str, Any], rows: int) -> dict[str, pa.Array]:
    """Every model, policy and run parameter as a constant column, typed from the schema.

    Typed (not inferred) so that files of one experiment share a schema even where a value is
    null in some runs and a number in others.

    Args:
        config: The nested dict of a validated config.
        rows: Length of the columns.

    Returns:
        Dotted name (``policy.coverage``) -> Arrow array.
    """
    kinds = {int: pa.int64(), float: pa.float64(), bool: pa.bool_(), str: pa.string()}
    columns = {}
    for section, cls in RUN_SECTIONS.items():
        values = config.get(section) or {}
        for name, ft in field_types(cls).items():
            value = values.get(name)
            kind = kinds.get(ft.base)
            if kind is None:  # lists and the like: their JSON text
                kind, value = pa.string(), json.dumps(value, default=str)
            columns[f"{section}.{name}"] = pa.array([value] * rows, type=kind)
    return columns


def data_digest(blob: bytes) -> str:
    """SHA-256 of the data part of a Parquet file: every byte before its footer.

    The footer (schema, metadata, row-group index) holds this digest, so it cannot be part of
    it; the data pages do not depend on the metadata, so they hash the same before and after
    the digest is added.

    Args:
        blob: The bytes of a whole Parquet file.

    Returns:
        Hex digest.
    """
    if len(blob) < 12 or blob[-4:] != b"PAR1":
        raise ValueError("not a complete Parquet file (no footer)")
    footer = int.from_bytes(blob[-8:-4], "little")
    return hashlib.sha256(memoryview(blob)[: len(blob) - 8 - footer]).hexdigest()


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def write_run(df: pd.DataFrame, path: str | Path, provenance: dict[str, Any]) -> Path:
    """Write one run's table to Parquet atomically, with provenance in the schema metadata.

    The run's parameters (from ``provenance["config"]``) are added as constant columns, and
    the row count and a checksum of the data as the integrity record.

    Args:
        df: The run's table (one row per step).
        path: Destination ``.parquet`` file; parent folders are created.
        provenance: JSON-serialisable record (see :func:`make_provenance`).

    Returns:
        The path written.
    """
    path = Path(path)
    table = pa.Table.from_pandas(df, preserve_index=False)
    config = provenance.get("config")
    if isinstance(config, dict):
        # added at once: appending the 150-odd columns one by one rebuilt the table each time
        have = set(table.column_names)
        extra = {
            name: column
            for name, column in param_columns(config, table.num_rows).items()
            if name not in have
        }
        table = pa.Table.from_arrays(
            [*table.columns, *extra.values()],
            names=[*table.column_names, *extra],
            metadata=table.schema.metadata,
        )
    meta = dict(table.schema.metadata or {})
    meta[PROVENANCE_KEY] = json.dumps(provenance, default=str).encode()
    digest = data_digest(_parquet_bytes(table.replace_schema_metadata(meta)))
    meta[INTEGRITY_KEY] = json.dumps({"rows": table.num_rows, "sha256": digest}).encode()
    blob = _parquet_bytes(table.replace_schema_metadata(meta))
    if data_digest(blob) != digest:  # the data pages must not depend on the metadata
        raise RuntimeError(f"{path}: Parquet data pages changed with the metadata; not written")
    with atomic_path(path) as tmp:
        tmp.write_bytes(blob)
    return path


def _verify(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(provenance, None) if a result file is sound, else (provenance or None, why not).

    Reads the file's bytes once: footer, row count and the checksum of the data pages.
    """
    try:
        blob = path.read_bytes()
        footer = pq.read_metadata(pa.BufferReader(blob))
    except (OSError, pa.ArrowException) as exc:
        return None, f"unreadable ({_first_line(exc)})"
    meta = footer.metadata or {}
    try:
        provenance = json.loads(meta[PROVENANCE_KEY]) if PROVENANCE_KEY in meta else None
        integrity = json.loads(meta[INTEGRITY_KEY]) if INTEGRITY_KEY in meta else None
    except ValueError:
        return None, "its metadata is not valid JSON"
    if integrity is None:
        return provenance, None  # written before checksums: nothing to check against
    if footer.num_rows != integrity.get("rows"):
        return provenance, f"{footer.num_rows} rows, {integrity.get('rows')} recorded"
    if data_digest(blob) != integrity.get("sha256"):
        return provenance, "checksum mismatch: the data is not what was written"
    return provenance, None


def _load(path: Path) -> tuple[pa.Table, dict[str, Any] | None, str | None]:
    """(table, provenance, None) of a sound result file, or (empty, provenance, why not)."""
    provenance, problem = _verify(path)
    if problem:
        return pa.table({}), provenance, problem
    try:
        return pq.read_table(path), provenance, None
    except (OSError, pa.ArrowException) as exc:
        return pa.table({}), provenance, f"data unreadable ({_first_line(exc)})"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:160] if text else type(exc).__name__


def check_result(path: str | Path, run: str | None = None) -> str | None:
    """Why a result file is not a sound, finished result of run ``run``; None if it is.

    Reads the whole file: the row count and the checksum of the data pages must match the
    integrity record, and the provenance must name the run id.

    Args:
        path: A result file.
        run: The expected run id, or None to skip that check.

    Returns:
        None, ``"missing"``, or a short reason (e.g. ``"checksum mismatch: ..."``).
    """
    path = Path(path)
    if not path.exists():
        return "missing"
    provenance, problem = _verify(path)
    if problem:
        return problem
    if not provenance or not isinstance(provenance.get("config"), dict):
        return "no provenance record"
    if run is not None and provenance.get("run_id") != run:
        return f"made for run {provenance.get('run_id')}, not {run}"
    return None


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


def _read_file(path: Path, provenance: dict[str, Any] | None = None) -> pd.DataFrame:
    """One result file's table, parameter columns left out (they are in the manifest).

    ``scenario`` and ``seed`` are filled from the provenance if absent, and ``run`` added.

    Raises:
        ResultsError: If the file is damaged (naming the file and what is wrong).
    """
    table, prov, problem = _load(path)
    if problem:
        raise ResultsError(f"{path}: damaged result ({problem}); rerun its sweep to redo it")
    prov = provenance or prov or {}
    keep = [c for c in table.column_names if c.split(".")[0] not in RUN_SECTIONS]
    df = table.select(keep).to_pandas()
    if "scenario" not in df.columns:
        df["scenario"] = prov.get("scenario", path.parent.name)
    if "seed" not in df.columns:
        df["seed"] = prov.get("seed", int(path.stem.partition("=")[2] or -1))
    if isinstance(prov.get("config"), dict):
        df["run"] = prov.get("run_id") or run_id(prov["config"])
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
        ResultsError: If a file is damaged.
    """
    files = result_files(folder)
    if not files:
        raise FileNotFoundError(f"no result files (*.parquet) under {folder}")
    return pd.concat([_read_file(p) for p in files], ignore_index=True)


def stored_experiments(root: str | Path | None = None) -> list[str]:
    """Names of the experiments that have result files under the output root, sorted."""
    root = Path(root) if root is not None else output_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if result_files(p / "runs"))


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
        ``(runs, manifest)``: ``runs`` is the per-step table of every run (columns ``scenario``,
        ``seed`` and ``run`` always present); ``manifest`` has one row per run (a seed of a
        run id): ``file``, ``scenario``, ``seed``, ``run``, ``config_hash``, ``git_commit``,
        ``model_version``, ``created_utc``, ``design_row`` (None outside a design) and every
        key of the run's recorded config as a dotted column (``model.people``,
        ``policy.coverage``, ``experiment.figure``, ...).

    Raises:
        FileNotFoundError: If the experiment has no result files.
        ResultsError: If a result file is damaged or carries no provenance record (the
            message names the file).
    """
    folder = (Path(root) if root is not None else output_root()) / experiment / "runs"
    files = result_files(folder)
    if not files:
        raise FileNotFoundError(f"no result files (*.parquet) under {folder}")
    frames, rows = [], []
    for path in files:
        frame = _read_file(path)
        prov = read_provenance(path)
        if not prov or not isinstance(prov.get("config"), dict):
            raise ResultsError(
                f"{path}: no provenance record; it was not written by experiments.run "
                "(move it away or rerun)"
            )
        frames.append(frame)
        row = {"file": str(path), "scenario": prov.get("scenario"), "seed": prov.get("seed")}
        row["run"] = prov.get("run_id") or run_id(prov["config"])
        keys = ("config_hash", "git_commit", "model_version", "created_utc", "design_row")
        row |= {k: prov.get(k) for k in keys}
        rows.append(row | {k: v for k, v in flatten(prov["config"]).items() if k != "seed"})
    return pd.concat(frames, ignore_index=True), pd.DataFrame(rows)
