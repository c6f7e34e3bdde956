"""The HTML report in a real browser: headless Chromium renders a real output folder's page.

Chromium is driven through its command line only: ``--screenshot`` for a picture of the page,
``--dump-dom`` (after the page's scripts ran) for what a probe script measured in it, and
``--enable-logging=stderr`` for its console. Without a browser the tests skip, unless
``AUTOBUILD_REQUIRE_BROWSER=1`` (as in CI), where they fail.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.unit.reports.html_folders import make_folders

from autobuild.reports import write_html_report

BROWSERS = ("chromium", "chromium-browser")

# Appended to a copy of the page: measures the figures and tables once the page has loaded,
# sorts the first numeric column both ways by clicking its header, and writes what it saw
# into <pre id="probe"> for --dump-dom.
PROBE = """<script>
window.addEventListener("load", function () {
  function box(el) { var r = el.getBoundingClientRect(); return [r.width, r.height]; }
  function column(table, col) {
    return Array.prototype.map.call(table.tBodies[0].rows, function (row) {
      var v = row.cells[col].getAttribute("data-sort");
      return v === null || v === "" ? null : parseFloat(v);
    });
  }
  var out = {
    images: Array.prototype.map.call(document.images, function (img) {
      return {complete: img.complete, width: img.naturalWidth, shown: box(img)};
    }),
    tables: Array.prototype.map.call(document.querySelectorAll("table"), function (t) {
      return {rows: t.rows.length, shown: box(t)};
    }),
    svgs: document.querySelectorAll("svg").length
  };
  var th = document.querySelector('table.sortable th[data-type="number"]');
  if (th) {
    var table = th.closest("table");
    th.click();
    out.ascending = column(table, th.cellIndex);
    out.aria1 = th.getAttribute("aria-sort");
    th.click();
    out.descending = column(table, th.cellIndex);
    out.aria2 = th.getAttribute("aria-sort");
  }
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def find_browser() -> str | None:
    """The first of ``chromium``, ``chromium-browser`` on PATH."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser() -> str:
    path = find_browser()
    if path is None:
        reason = (
            f"no headless browser ({' or '.join(BROWSERS)}) on PATH; install one, e.g. "
            "apt-get install chromium"
        )
        if os.environ.get("AUTOBUILD_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason} (AUTOBUILD_REQUIRE_BROWSER=1 requires it)")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report.html of a real folder: train, score and build on the tiny space."""
    pytest.importorskip("matplotlib", reason="the page's figures need matplotlib")
    root = tmp_path_factory.mktemp("browser")
    folder = make_folders(root, ("combined",))["combined"]
    return write_html_report(folder)


def chromium(browser: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with a fresh profile; its console goes to stderr."""
    profile = tmp / "profile"
    profile.mkdir(exist_ok=True)
    cmd = [
        browser,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def console_messages(stderr: str) -> list[str]:
    """The page's console messages (errors, CSP violations, logs) in Chromium's log."""
    return [line for line in stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]


def test_report_renders_in_chromium(browser: str, page: Path, tmp_path: Path) -> None:
    # A screenshot of the page itself.
    shot = tmp_path / "shot.png"
    run = chromium(
        browser,
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=1200,1600",
        "--hide-scrollbars",
        page.as_uri(),
    )
    assert console_messages(run.stderr) == []
    from matplotlib.image import imread

    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (1600, 1200)
    colours = {tuple(p) for p in pixels[::7, ::7].reshape(-1, 3).tolist()}
    assert len(colours) > 50, "the screenshot is (nearly) one colour"

    # The same page with a probe script, dumped after the scripts ran.
    probed = tmp_path / "probed.html"
    text = page.read_text(encoding="utf-8")
    probed.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    run = chromium(
        browser,
        tmp_path,
        "--window-size=1200,1600",
        "--virtual-time-budget=5000",
        "--dump-dom",
        probed.as_uri(),
    )
    assert console_messages(run.stderr) == []
    found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, flags=re.S)
    assert found, "the probe script did not run: " + run.stdout[-2000:]
    seen: dict[str, Any] = json.loads(html.unescape(found.group(1)))

    assert len(seen["images"]) + seen["svgs"] == text.count("data:image/png;base64,") >= 5
    for image in seen["images"]:
        assert image["complete"], image
        assert image["width"] > 0, image
        assert image["shown"][0] > 100, image
        assert image["shown"][1] > 50, image
    assert len(seen["tables"]) >= 5
    for table in seen["tables"]:
        assert table["rows"] >= 2, table
        assert min(table["shown"]) > 0, table

    # Clicking a numeric header sorts its column, then reverses it; missing values last.
    assert (seen["aria1"], seen["aria2"]) == ("ascending", "descending")
    asc = [v for v in seen["ascending"] if v is not None]
    desc = [v for v in seen["descending"] if v is not None]
    assert len(asc) >= 2
    assert asc == sorted(asc)
    assert desc == sorted(desc, reverse=True)
    assert seen["ascending"][: len(asc)] == asc


def test_console_errors_are_caught(browser: str, tmp_path: Path) -> None:
    """The console check sees a script error (so a clean run above means something)."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><p>x</p><script>undefinedFunction();</script>")
    run = chromium(browser, tmp_path, "--dump-dom", bad.as_uri())
    assert any("undefinedFunction" in m for m in console_messages(run.stderr))
