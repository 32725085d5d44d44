"""Regenerate the screenshots of docs/img/ (Playwright driving Debian's /usr/bin/chromium).

    PYTHONPATH=src python docs/img/screenshots.py

Writes report-first-screen.png (the report at 1400x900), serve-1280x800.png (the web app on
the flagship, every model done) and serve-whatif.png (before -> after of a what-if), and
forecast-ukraine-2025.txt (the first 25 lines of `accord forecast ukraine-2025` at 100
columns). Default draws and seed, the same as every surface.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-background-networking"]


def _cli(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "100", "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-c", "from accord.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, check=True, **kw)


def main() -> None:
    from playwright.sync_api import sync_playwright

    text = _cli("forecast", "ukraine-2025", cwd=REPO).stdout
    (HERE / "forecast-ukraine-2025.txt").write_text("\n".join(text.splitlines()[:25]) + "\n")
    tmp = Path(tempfile.mkdtemp())
    report = tmp / "ukraine-2025.html"
    _cli("report", "ukraine-2025", "-o", str(report), "--date", "2026-01-20", cwd=REPO)
    data = tmp / "data"
    shutil.copytree(REPO / "scenarios" / "ukraine-2025", data / "ukraine-2025")
    shutil.copy(REPO / "scenarios" / "eu-emissions" / "scenario.yaml", data / "eu.yaml")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    server = subprocess.Popen([sys.executable, "-c", "from accord.cli import main; main()",
                               "serve", str(data), "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(report.as_uri())
            page.wait_for_function("document.querySelectorAll('.main-svg').length > 0")
            page.wait_for_timeout(800)
            page.screenshot(path=str(HERE / "report-first-screen.png"))
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#conclusion:not([data-pending])", timeout=300_000)
            page.screenshot(path=str(HERE / "serve-1280x800.png"))
            page.click("#levers-run")
            page.wait_for_selector("#levers-out table", timeout=300_000)
            page.locator("#levers").scroll_into_view_if_needed()
            page.screenshot(path=str(HERE / "serve-levers.png"))
            button = page.locator("#cells-table button[data-field='capability']").first
            button.click()
            value = float(page.input_value("#edit-value"))
            page.fill("#edit-value", f"{value * 2:g}")
            page.click("#edit-whatif")  # outside its range: the editor offers to move it
            page.click("#edit-move-range")
            page.click("#edit-whatif")
            page.wait_for_selector("#forecast-table .was", timeout=300_000)
            page.locator("#forecast-table").scroll_into_view_if_needed()
            page.screenshot(path=str(HERE / "serve-whatif.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
