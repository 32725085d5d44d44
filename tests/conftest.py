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


@pytest.fixture
def accord_server():
    """``start(data, *args)`` runs ``accord serve DATA --port P ARGS`` on a free port and returns
    its URL once it answers; every server started is stopped at teardown."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    procs = []

    def start(data: Path, *args: str) -> str:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep +
               os.environ.get("PYTHONPATH", "")}
        proc = subprocess.Popen([sys.executable, "-c", "from accord.cli import main; main()",
                                 "serve", str(data), "--port", str(port), *args], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/api/scenarios", timeout=30).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"accord serve did not start: {out}")
            time.sleep(0.2)

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
