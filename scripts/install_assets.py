"""Put the explorer's front-end packages into solara's asset cache, from the npm registry.

The page loads a few front-end packages through solara's asset proxy, which fetches them from a
CDN on first use. Where the server cannot reach one, this script puts them in the proxy's cache
beforehand (with ``npm pack``), at the versions the installed solara names in its own files.
Packages already there are left alone, so it is quick to run again; ``make app`` runs it.

Usage::

    python scripts/install_assets.py [--cache-dir DIR] [--quiet]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

#: Front-end packages the page loads through solara's asset proxy.
ASSET_PACKAGES = (
    "@widgetti/solara-vuetify3-app",
    "@widgetti/solara-vuetify-app",
    "@widgetti/vue-grid-layout",
    "requirejs",
    "font-awesome",
)


def asset_versions() -> dict[str, str]:
    """The version of each asset package that the installed solara asks for."""
    import ipyvue
    import solara

    root = Path(solara.__file__).parent
    text = "\n".join(
        p.read_text(errors="ignore")
        for pattern in ("server/templates/*.j2", "widgets/vue/*.vue", "server/settings.py")
        for p in root.glob(pattern)
    )
    vue3 = int(ipyvue.__version__.split(".")[0]) >= 3
    found = {}
    for name in ASSET_PACKAGES:
        if name.endswith("solara-vuetify-app") and vue3:
            continue
        if name.endswith("solara-vuetify3-app") and not vue3:
            continue
        versions = sorted(set(re.findall(re.escape(name) + r"@([0-9][A-Za-z0-9_.-]*)/", text)))
        if versions:
            found[name] = versions[-1]
    return found


def default_cache_dir() -> Path:
    """Solara's asset proxy cache (``SOLARA_ASSETS_PROXY_CACHE_DIR`` moves it)."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def fetch(name: str, version: str, target: Path) -> None:
    """Unpack ``name@version`` from the npm registry into ``target`` (atomically)."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is needed to fetch {name}@{version} for the page")
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [npm, "pack", f"{name}@{version}", "--json", "--silent"],
            cwd=tmp,
            check=True,
            capture_output=True,
            text=True,
        )
        tgz = Path(tmp) / json.loads(out.stdout)[0]["filename"]
        unpack = Path(tmp) / "unpacked"
        with tarfile.open(tgz) as tar:
            tar.extractall(unpack, filter="data")
        staged = target.parent / f".{target.name}.partial"
        staged.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(staged, ignore_errors=True)
        shutil.move(unpack / "package", staged)
        shutil.rmtree(target, ignore_errors=True)
        staged.rename(target)


def install_assets(cache_dir: Path | None = None, quiet: bool = False) -> Path:
    """Put the page's front-end packages into solara's asset cache (no-op when present).

    Args:
        cache_dir: The cache to fill (default: solara's asset proxy cache).
        quiet: Say nothing about packages fetched.

    Returns:
        The cache directory. Needs ``npm`` only for packages not there yet.
    """
    cache_dir = default_cache_dir() if cache_dir is None else cache_dir
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name, version in asset_versions().items():
        target = cache_dir / f"{name}@{version}"
        if (target / "package.json").exists():
            continue
        if not quiet:
            print(f"fetching {name}@{version} into {cache_dir}", file=sys.stderr)
        fetch(name, version, target)
    return cache_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, help="cache to fill (default: solara's)")
    parser.add_argument("--quiet", action="store_true", help="say nothing about fetches")
    args = parser.parse_args(argv)
    try:
        print(install_assets(args.cache_dir, quiet=args.quiet))
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        print(f"install_assets: {detail.strip().splitlines()[-1]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
