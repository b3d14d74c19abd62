"""The sweep index: one small status file per run and seed, and an atomic claim on each.

Every run of an experiment (a run id and a seed) has, under ``<root>/<experiment>/status/``,

* ``<run>-seed=<n>.json``: its status record, rewritten atomically at each change: ``status``
  (``running``, ``done`` or ``failed``), ``run``, ``seed``, ``scenario``, ``overrides``,
  ``seconds``, ``host``, ``pid``, ``error`` and ``traceback`` (for a failure), times, model
  version and git commit. One file per run means concurrent writers (sweeps on several
  machines, SLURM array tasks) never contend for one index; :func:`read_index` aggregates them,
  and :func:`write_index` stores the aggregate as ``index.csv`` for tools that want a table
  (CSV, not Parquet, so that ``read_parquet('outputs/<experiment>/**/*.parquet')`` reads
  results only).
* ``<run>-seed=<n>.lock``: the claim of whoever is running it, created with
  ``O_CREAT | O_EXCL`` (atomic, also on NFS v3+) and holding host, pid and start time. A claim
  whose process is gone (same host, pid dead) or that is older than ``$SIM_CLAIM_TTL`` seconds
  (default 24 hours, for claims from other hosts) is stale and is taken over, under a second
  exclusive lock so that two takers never both win.

The result file, not the status record, is the truth about whether a run is done: the status
says why a run is not done (failed, with its error) or who is on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.results import atomic_path, experiment_dir, remove_stale_temps_under

#: Environment variable: seconds after which a claim from another host counts as stale.
CLAIM_TTL_ENV = "SIM_CLAIM_TTL"
DEFAULT_CLAIM_TTL = 24 * 3600
#: Seconds after which an interrupted takeover of a stale claim is itself stale.
TAKEOVER_TTL = 60


def status_dir(experiment: str) -> Path:
    """``<root>/<experiment>/status``."""
    return experiment_dir(experiment) / "status"


def _stem(run: str, seed: int) -> str:
    return f"{run}-seed={seed}"


def status_path(experiment: str, run: str, seed: int) -> Path:
    """The status record of one run and seed."""
    return status_dir(experiment) / f"{_stem(run, seed)}.json"


def claim_path(experiment: str, run: str, seed: int) -> Path:
    """The claim (lock) file of one run and seed."""
    return status_dir(experiment) / f"{_stem(run, seed)}.lock"


def host() -> str:
    """This machine's name."""
    return socket.gethostname()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def claim_is_stale(info: dict[str, Any] | None, age: float) -> bool:
    """Whether a claim's holder is gone.

    Args:
        info: The claim's content (None if unreadable, e.g. caught half-written).
        age: Seconds since the claim file was last modified.
    """
    if info is None:
        return age > TAKEOVER_TTL  # a claim being written is younger than this
    if info.get("host") == host():
        return not _pid_alive(int(info.get("pid", -1)))
    ttl = float(os.environ.get(CLAIM_TTL_ENV) or DEFAULT_CLAIM_TTL)
    return age > ttl


@dataclass
class Claim:
    """An exclusive claim on one run and seed; release it when done (or use ``with``)."""

    path: Path
    token: str

    def release(self) -> None:
        """Remove the claim if it is still ours."""
        info = _read_json(self.path)
        if info is not None and info.get("token") == self.token:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _create(path: Path, token: str) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    except FileExistsError:
        return False
    info = {"host": host(), "pid": os.getpid(), "token": token, "started": time.time()}
    with os.fdopen(fd, "w") as fh:
        json.dump(info, fh)
    return True


def try_claim(experiment: str, run: str, seed: int) -> Claim | None:
    """Claim one run and seed for this process, taking over a stale claim.

    Returns:
        The claim, or None if a live process holds it.
    """
    path = claim_path(experiment, run, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = f"{host()}:{os.getpid()}:{time.time_ns()}"
    if _create(path, token):
        return Claim(path, token)
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return Claim(path, token) if _create(path, token) else None
    stale = _read_json(path)
    if not claim_is_stale(stale, age):
        return None
    # Take over under a lock of its own, re-checking that the claim is still the stale one.
    guard = path.with_suffix(".takeover")
    if not _create(guard, token):
        with contextlib.suppress(OSError):
            if time.time() - guard.stat().st_mtime > TAKEOVER_TTL:
                guard.unlink()
        return None
    try:
        if _read_json(path) != stale:
            return None
        path.unlink(missing_ok=True)
        return Claim(path, token) if _create(path, token) else None
    finally:
        guard.unlink(missing_ok=True)


def holder(experiment: str, run: str, seed: int) -> dict[str, Any] | None:
    """The live claim on a run and seed (host, pid, ...), or None if free or stale."""
    path = claim_path(experiment, run, seed)
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None
    info = _read_json(path)
    return None if claim_is_stale(info, age) else info or {}


def tidy(experiment: str) -> int:
    """Release the claims and remove the temporary files that dead processes left behind.

    A stale claim is released by taking it over and letting it go (so the takeover lock keeps
    this safe against a concurrent sweep); a claim that is live is left alone.

    Returns:
        How many claims and files were removed.
    """
    removed = len(remove_stale_temps_under(experiment_dir(experiment)))
    folder = status_dir(experiment)
    for lock in folder.glob("*.lock") if folder.is_dir() else []:
        run, _, seed = lock.stem.rpartition("-seed=")
        if run and seed.isdigit() and holder(experiment, run, int(seed)) is None:
            claim = try_claim(experiment, run, int(seed))
            if claim is not None:
                claim.release()
                removed += 1
    return removed


def write_status(experiment: str, record: dict[str, Any]) -> Path:
    """Write (atomically) the status record of ``record["run"]``, ``record["seed"]``."""
    path = status_path(experiment, record["run"], record["seed"])
    record = {"host": host(), "pid": os.getpid(), "updated": time.time(), **record}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record, default=str, indent=1))
    return path


def failure(exc: BaseException) -> dict[str, str]:
    """The ``error`` (one line) and ``traceback`` fields of a failed run."""
    text = str(exc).strip().splitlines()
    error = f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
    return {"error": error, "traceback": "".join(traceback.format_exception(exc))}


def read_index(experiment: str) -> pd.DataFrame:
    """Every status record of an experiment as a table (one row per run and seed).

    Columns: ``run``, ``seed``, ``scenario``, ``status``, ``seconds``, ``host``, ``pid``,
    ``overrides``, ``error``, ``traceback``, ``updated`` (and any other recorded fields).
    """
    records = []
    folder = status_dir(experiment)
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            record = _read_json(path)
            if record is not None:
                records.append(record)
    columns = ["run", "seed", "scenario", "status", "seconds", "host", "pid", "overrides"]
    columns += ["error", "traceback", "updated"]
    df = pd.DataFrame(records)
    for column in columns:
        if column not in df.columns:
            df[column] = None
    return df


def write_index(experiment: str) -> Path:
    """Aggregate the status records into ``<root>/<experiment>/index.csv`` (atomically)."""
    df = read_index(experiment)
    df["overrides"] = df["overrides"].map(lambda o: " ".join(o) if isinstance(o, list) else o)
    path = experiment_dir(experiment) / "index.csv"
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return path
