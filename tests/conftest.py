"""Shared fixtures. Reference data from peer implementations is read in place, never copied."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _find(env: str, relative: str) -> Path | None:
    if os.environ.get(env):
        p = Path(os.environ[env])
        return p if p.is_dir() else None
    for base in (REPO, Path.cwd()):
        p = (base / ".." / relative).resolve()
        if p.is_dir():
            return p
    return None


def _required(env: str, relative: str) -> Path:
    path = _find(env, relative)
    if path is None:
        msg = (f"../{relative} not found (set ${env}); "
               "peer reference data is read in place and never copied into the repo")
        if os.environ.get("CI"):
            pytest.fail(msg + " — it must be present in CI")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def reference() -> Path:
    """``../shared/reference`` (or ``$ACCORD_REFERENCE``): peers' inputs and trajectories."""
    return _required("ACCORD_REFERENCE", "shared/reference")


@pytest.fixture(scope="session")
def corpus() -> Path:
    """``../shared/corpus`` (or ``$ACCORD_CORPUS_ROOT``): the flagship's source texts."""
    return _required("ACCORD_CORPUS_ROOT", "shared/corpus")


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def launch_chromium():
    """Launch Debian's Chromium from a Playwright handle: ``browser = launch_chromium(p)``.

    Skips without /usr/bin/chromium (fails in CI, which installs it); never downloads a browser.
    """
    if not Path(CHROMIUM).exists():
        msg = f"{CHROMIUM} not found (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(msg + " — it must be present in CI")
        pytest.skip(msg)
    pytest.importorskip("playwright.sync_api")
    return lambda p: p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
