"""End to end: the explorer served by ``solara run`` and driven in real headless Chromium.

Debian's ``chromium`` (``.ci/run`` installs it) is driven by Playwright's Python package with
``executable_path`` pointing at it; no browser is downloaded. The server is started on a free
port of 127.0.0.1 and killed at the end. The front-end packages the page loads are put into
solara's asset cache first (from the npm registry, see ``app.install_assets``), since the
server cannot fetch them from a CDN here.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is missing "
        "(install Debian's chromium: apt-get install -y chromium)",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``solara run app.py`` on a free local port; yields its URL, kills it afterwards."""
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "install_assets.py"), "--quiet"],
        check=True,
        capture_output=True,
    )
    from stored import store_experiment

    # a tiny stored experiment for the sweep view (the server reads results under this root)
    results = tmp_path_factory.mktemp("results")
    store_experiment(results, "tiny", [["policy=baseline"], ["policy=fusion"]], seeds=2)
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "solara.log"
    env = {
        **os.environ,
        "SIM_OUTPUT_ROOT": str(results),
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
    }
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "solara",
                "run",
                "app.py",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--production",
                "--no-open",
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"solara exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"solara did not answer within 90 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture()
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            browser.close()


def week(page) -> int:
    text = page.locator(".explorer-status").inner_text()
    return int(text.split()[-1])


def test_move_a_lever_step_play_and_see_the_plots_change(server, browser_page, tmp_path):
    page = browser_page
    page.goto(server, timeout=120_000)
    step = page.get_by_role("button", name="Step")
    step.wait_for(timeout=120_000)
    page.locator(".explorer-status").wait_for(timeout=120_000)
    assert week(page) == 0
    plots = page.locator("img.outcome-plots")
    network = page.locator("img.network-view")
    plots.wait_for()
    network.wait_for()
    before_plot = plots.screenshot()
    before_network = network.get_attribute("src")
    before_row = page.locator(".lever-table tr", has_text="boundaryless").inner_text()
    assert "0.500" in before_row

    # move the coverage lever to its maximum with the keyboard, rebuild, then step
    slider = (
        page.locator(".v-slider")
        .filter(has=page.locator("label", has_text=re.compile(r"^\s*coverage\s*$")))
        .get_by_role("slider")
    )
    slider.focus()
    slider.press("End")
    assert slider.get_attribute("aria-valuenow") == "1"
    page.get_by_role("button", name="Reset").click()
    page.locator(".lever-table tr", has_text="boundaryless").filter(has_text="1.000").wait_for(
        timeout=60_000
    )
    for n in range(1, 4):
        step.click()
        page.locator(".explorer-status", has_text=f"Week {n}").wait_for(timeout=30_000)
    time.sleep(0.5)  # let the last images arrive
    assert week(page) == 3
    after_plot = plots.screenshot()
    assert after_plot != before_plot, "the outcome plots did not change"
    assert network.get_attribute("src") != before_network, "the network view did not change"
    # play runs weeks on its own until paused
    page.get_by_role("button", name="▶").click()
    page.locator(".explorer-status", has_text=re.compile(r"Week ([6-9]|\d\d)")).wait_for(
        timeout=60_000
    )
    page.get_by_role("button", name="❚❚").click()
    page.get_by_role("button", name="▶").wait_for(timeout=30_000)
    paused = week(page)
    time.sleep(0.5)
    assert week(page) == paused, "the run went on after pause"
    assert page.errors == []  # type: ignore[attr-defined]

    shot = tmp_path / "explorer.png"
    page.screenshot(path=str(shot), full_page=True)
    out = REPO / "outputs"
    out.mkdir(exist_ok=True)
    shutil.copyfile(shot, out / "app_screenshot.png")


def test_choose_a_package_adjust_a_lever_and_see_a_bad_value_rejected(server, browser_page):
    page = browser_page
    page.goto(server, timeout=120_000)
    page.locator(".explorer-status").wait_for(timeout=120_000)
    lever_row = page.locator(".lever-table tr")

    # choose the fusion package: its levers start at its values
    page.locator(".v-select").filter(
        has=page.locator("label", has_text=re.compile(r"^\s*policy package\s*$"))
    ).click()
    page.get_by_role("option", name="fusion", exact=True).click()
    effort = (
        page.locator(".v-slider")
        .filter(has=page.locator("label", has_text=re.compile(r"^\s*integration effort\s*$")))
        .get_by_role("slider")
    )
    page.wait_for_function(
        "el => el.getAttribute('aria-valuenow') === '0.3'", arg=effort.element_handle()
    )
    # then adjust one lever on top of the package, and rebuild
    effort.focus()
    for _ in range(10):
        effort.press("ArrowRight")
    page.locator(".next-config", has_text="policy.integration_effort=0.4").wait_for(timeout=30_000)
    page.get_by_role("button", name="Reset").click()
    lever_row.filter(has_text="integration effort").filter(has_text="0.400").wait_for(
        timeout=60_000
    )
    assert "integrated" in lever_row.filter(has_text="fusion mode").inner_text()
    assert "fusion" in lever_row.filter(has_text="package").first.inner_text()
    config = page.locator(".explorer-config").inner_text()
    assert config.startswith("policy=fusion") and "policy.integration_effort=0.4" in config

    # a bad value: its one-line error on the page, and the run is kept
    page.get_by_role("button", name="Step").click()
    page.locator(".explorer-status", has_text="Week 1").wait_for(timeout=30_000)
    extra = page.get_by_label("Hydra overrides, e.g. model.need_rate=0.05")
    extra.fill("model.people=10")
    extra.press("Enter")
    page.locator(".next-config", has_text="model.people=10").wait_for(timeout=30_000)
    page.get_by_role("button", name="Reset").click()
    error = page.locator(".config-error")
    error.wait_for(timeout=30_000)
    assert "model.people = 10: must be a whole number in [50, 5,000,000]" in error.inner_text()
    assert "Traceback" not in page.locator("body").inner_text()
    assert week(page) == 1
    assert page.errors == []  # type: ignore[attr-defined]


def test_sweep_view_shows_a_stored_experiment(server, browser_page):
    page = browser_page
    page.goto(server, timeout=120_000)
    page.locator(".explorer-status").wait_for(timeout=120_000)
    page.get_by_role("tab", name="Sweep results").click()
    plots = page.locator("img.sweep-plots")
    plots.wait_for(timeout=60_000)
    caption = page.locator(".sweep-caption")
    assert "tiny: 2 scenarios, 2 seeds each, 300 people, 24 weeks" in caption.inner_text()
    assert "showing cohesion" in caption.inner_text()
    before = plots.get_attribute("src")
    page.locator(".v-select").filter(
        has=page.locator("label", has_text=re.compile(r"^\s*outcome\s*$"))
    ).click()
    page.get_by_role("option", name="mobilization", exact=True).click()
    page.locator(".sweep-caption", has_text="showing mobilization").wait_for(timeout=30_000)
    page.wait_for_function(
        "([el, old]) => el.getAttribute('src') !== old", arg=[plots.element_handle(), before]
    )
    assert plots.is_visible()
    time.sleep(0.5)  # let the new image arrive
    out = REPO / "outputs"
    out.mkdir(exist_ok=True)
    page.screenshot(path=str(out / "app_sweep_screenshot.png"), full_page=True)
    # the live model is still there, beside it, and the sweep view hides
    page.get_by_role("tab", name="Live model").click()
    page.locator(".explorer-status").wait_for(timeout=30_000)
    plots.wait_for(state="hidden", timeout=30_000)
    assert page.errors == []  # type: ignore[attr-defined]
