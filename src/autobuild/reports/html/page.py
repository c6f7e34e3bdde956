"""The HTML of a report page: escaped text, sortable tables, figures and the page itself.

A page is a list of :class:`_Section` s, each a list of blocks: HTML text (:func:`_table`,
:func:`_key_values`) or a :class:`_Figure`, embedded as a PNG ``data:`` URI by
:func:`_write_page`, which writes the page with its inline style and sorting script.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias, TypeGuard

from autobuild._atomic import write_text_atomic
from autobuild.reports._style import MATPLOTLIB_HINT

# The package's logger (autobuild.reports.html), as before the package was split.
logger = logging.getLogger(__package__)

#: Rows shown per table; longer tables show their first rows and name the file with all.
MAX_ROWS = 500

_INSTALL_HINT = "pip install 'autobuild[plot]'"

# --------------------------------------------------------------------------------------------
# The page's building blocks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Figure:
    """A figure: the PNG ``file`` of the folder when present, else drawn by ``draw``."""

    file: str
    title: str
    caption: str
    draw: Callable[[Path], object] | None = None


_Block: TypeAlias = "str | _Figure"


def _histogram_figure(
    file: str,
    title: str,
    caption: str,
    values: list[float],
    marks: dict[str, float],
    *,
    xlabel: str,
    plot_title: str,
) -> _Figure:
    """A histogram of ``values``, with a vertical line per entry of ``marks``."""

    def draw(path: Path) -> object:
        from autobuild.reports.plots import plot_accuracy_histogram

        return plot_accuracy_histogram(
            path,
            values,
            marks,
            xlabel=xlabel,
            log=False,
            title=plot_title,
            low_percentile=0.0,
            bins=min(60, max(10, len(values) // 2)),
        )

    return _Figure(file, title, caption, draw)


@dataclass
class _Section:
    title: str
    blocks: list[_Block] = field(default_factory=list)


@dataclass
class _Figures:
    """What became of the figures while rendering: embedded, or left out (and why)."""

    embedded: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _para(text: str) -> str:
    return f"<p>{_esc(text)}</p>"


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell_text(value: Any) -> str:
    """Display form of a cell: integers as such, other numbers with 4 significant digits."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _table(
    rows: Sequence[Mapping[str, Any]],
    *,
    caption: str = "",
    columns: Sequence[str] | None = None,
    source: str = "",
) -> str:
    """A sortable HTML table of ``rows`` (the union of their keys as header).

    Columns whose values are all numbers are right-aligned and sort numerically (their cells
    carry the raw value in ``data-sort``). At most :data:`MAX_ROWS` rows are shown; ``source``
    names the file that holds them all.
    """
    keys: list[str] = list(columns or [])
    if columns is None:
        for row in rows:
            keys.extend(k for k in row if k not in keys)
    if not rows or not keys:
        return _para(f"{caption}: none." if caption else "No rows.")
    numeric = {
        k: all(_is_number(r[k]) for r in rows if r.get(k) is not None)
        and any(r.get(k) is not None for r in rows)
        for k in keys
    }
    shown = rows[:MAX_ROWS]
    head = "".join(
        f'<th scope="col"{" class=num" if numeric[k] else ""}'
        f' data-type="{"number" if numeric[k] else "text"}">{_esc(k)}</th>'
        for k in keys
    )
    body = []
    for row in shown:
        cells = []
        for k in keys:
            value = row.get(k)
            if numeric[k]:
                sort = f"{float(value)!r}" if _is_number(value) and math.isfinite(value) else ""
                cells.append(f'<td class="num" data-sort="{sort}">{_esc(_cell_text(value))}</td>')
            else:
                cells.append(f"<td>{_esc(_cell_text(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(rows) > len(shown):
        where = f"; all of them are in {source}" if source else ""
        more = f" (first {len(shown)} of {len(rows)} rows{where})"
    cap = f'<h3 class="cap">{_esc(caption + more)}</h3>' if caption or more else ""
    label = f' aria-label="{_esc(caption)}"' if caption else ""
    return (
        f'{cap}<div class="scroll"><table class="sortable"{label}><thead><tr>{head}</tr>'
        f"</thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _key_values(pairs: Iterable[tuple[str, Any]], caption: str = "") -> str:
    """A two-column table of ``(name, value)`` pairs (not sortable: the order is the point)."""
    rows = "".join(
        f'<tr><th scope="row">{_esc(k)}</th><td>{_esc(_cell_text(v))}</td></tr>' for k, v in pairs
    )
    cap = f'<h3 class="cap">{_esc(caption)}</h3>' if caption else ""
    return f'{cap}<table class="pairs"><tbody>{rows}</tbody></table>'


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def _figure_html(figure: _Figure, folder: Path | None, scratch: Path, done: _Figures) -> str:
    """The ``<figure>`` of ``figure``, or the empty string when it is left out."""
    existing = folder / figure.file if folder is not None else None
    png: bytes | None = None
    if existing is not None and existing.is_file():
        png = existing.read_bytes()
    elif figure.draw is not None:
        target = scratch / figure.file
        try:
            figure.draw(target)
        except ImportError:
            done.left_out.append(figure.title)
            return ""
        png = target.read_bytes()
    if png is None:  # neither in the folder nor drawable
        done.left_out.append(figure.title)
        return ""
    done.embedded.append(figure.title)
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_esc(figure.title)}">'
        f"<figcaption>{_esc(figure.caption)}</figcaption></figure>"
    )


def _write_page(
    target: Path, title: str, intro: str, sections: Sequence[_Section], folder: Path | None
) -> Path:
    done = _Figures()
    parts: list[str] = []
    with tempfile.TemporaryDirectory(prefix="autobuild-report-") as tmp:
        for section in sections:
            parts.append(f"<section><h2>{_esc(section.title)}</h2>")
            for block in section.blocks:
                if isinstance(block, _Figure):
                    parts.append(_figure_html(block, folder, Path(tmp), done))
                else:
                    parts.append(block)
            parts.append("</section>")
    notice = ""
    if done.left_out:
        logger.warning(
            "%s: %d figure(s) left out of %s (%s)",
            MATPLOTLIB_HINT,
            len(done.left_out),
            target,
            ", ".join(done.left_out),
        )
        notice = (
            '<p class="notice">Figures left out: '
            f"{_esc(', '.join(done.left_out))}. Drawing them needs matplotlib: "
            f"<code>{_esc(_INSTALL_HINT)}</code>, then run <code>autobuild report</code> "
            "again.</p>"
        )
    page = _PAGE.format(
        title=_esc(title),
        intro=_esc(intro),
        notice=notice,
        body="\n".join(parts),
        style=_STYLE,
        script=_SCRIPT,
    )
    return write_text_atomic(target, page)


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1100px;padding:1.5rem;color:#1d1d1f;background:#fff;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.25rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;
margin-top:2rem}
.notice{background:#fff4e5;border-left:4px solid #DD8452;padding:.6rem .8rem}
.scroll{overflow:auto;max-height:32rem;margin:.3rem 0 .8rem}
table{border-collapse:collapse;font-size:.88rem;margin:0}
h3.cap{font-size:.95rem;margin:1.2rem 0 .3rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
thead th{background:#eef2f8;position:sticky;top:0}
table.sortable thead th{cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.pairs th{background:#f6f6f6;font-weight:600}
tbody tr:nth-child(even){background:#fafafa}
figure{margin:1.2rem 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.88rem;color:#555;margin-top:.3rem}
.hint{display:none;color:#555;font-size:.85rem}.js .hint{display:block}
"""

# Sorts a table.sortable by the clicked (or Enter-ed) header: numbers by their data-sort
# value (missing ones last), text by locale order; a second click reverses.
_SCRIPT = """
document.documentElement.className += " js";
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    th.tabIndex = 0;
    th.title = "Sort by this column";
    function key(row) {
      var cell = row.cells[col];
      if (th.getAttribute("data-type") !== "number") { return cell.textContent; }
      var v = cell.getAttribute("data-sort");
      return v === null || v === "" ? null : parseFloat(v);
    }
    function sort() {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null || y === null) { return (x === null) - (y === null); }
        var r = typeof x === "number" ? x - y : x.localeCompare(y, undefined, {numeric: true});
        return asc ? r : -r;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
    });
  });
});
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<h1>{title}</h1>
<p>{intro}</p>
<p class="hint">Click a column header to sort a table by it; click again to reverse.</p>
{notice}
{body}
<script>{script}</script>
</body>
</html>
"""
