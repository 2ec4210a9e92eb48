"""How commands talk to people and machines: tables, JSON and progress bars, all in one place.

A command never calls ``print``; it hands data to ``ctx.out`` (an :class:`Output`):

* ``out.emit(data, render)`` — with ``--json`` prints ``data`` as JSON, otherwise calls ``render(out, data)``
  (which usually calls ``out.table``). This keeps "--json where output is data" a one-liner.
* ``out.table(columns, rows, title=None)`` — a rich table on a terminal; on a pipe or file plain columns, no
  box drawing (:func:`plain_table`).
* ``out.line(text)`` / ``out.warn(text)`` — a line on stdout / a ``warning:`` line on stderr.
* ``with out.progress("Writing", total=n) as bar: bar.update(done)`` — a progress bar on stderr, silent
  with ``--json``/``--quiet`` or when stderr is not a terminal; ``bar`` is also a ``callback(done, total)``.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

__all__ = ["Output", "add_json_option", "to_json"]


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--json`` to a (sub)command parser. SUPPRESS keeps a top-level ``htctl --json …`` working."""
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print machine-readable JSON instead of a table")


def _default(obj):
    # dates, Paths and sets turn up in report data; JSON has no type for them.
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    return str(obj)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=_default)


class Output:
    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None, json_mode: bool = False,
                 quiet: bool = False, width: int | None = None) -> None:
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.json = bool(json_mode)
        self.quiet = bool(quiet)
        # A fixed width off-terminal keeps piped/tested tables stable and untruncated.
        tty = self._tty = _isatty(self.stdout)
        self._console = Console(file=self.stdout, width=width or (None if tty else 120), highlight=False,
                                no_color=not tty, soft_wrap=False)
        self._err_tty = _isatty(self.stderr)

    # -- data ---------------------------------------------------------------------------------------------
    def emit(self, data: Any, render: Callable[[Output, Any], None] | None = None) -> None:
        if self.json or render is None:
            self.stdout.write(to_json(data) + "\n")
        else:
            render(self, data)

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
        if not self._tty:
            self.stdout.write(plain_table(columns, rows, title))
            return
        t = Table(title=title, show_lines=False, header_style="bold", expand=False)
        for c in columns:
            t.add_column(str(c), overflow="fold")
        for r in rows:
            t.add_row(*["" if v is None else str(v) for v in r])
        self._console.print(t)

    def line(self, text: str = "") -> None:
        if not self.json:
            self.stdout.write(str(text) + "\n")

    def warn(self, text: str) -> None:
        self.stderr.write("warning: %s\n" % text)

    # -- progress -----------------------------------------------------------------------------------------
    def progress(self, description: str, total: int | None = None, unit: str = "bytes") -> ProgressBar:
        enabled = not (self.json or self.quiet) and self._err_tty
        return ProgressBar(description, total, enabled, self.stderr, unit)


def plain_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> str:
    """A table for pipes and files: columns padded with spaces, a dashed rule under the header, no box drawing
    (grep/awk/cut see one record per line; a cell's extra lines follow under its column)."""
    cells = [[("" if v is None else str(v)).split("\n") for v in r] for r in rows]
    head = [str(c) for c in columns]
    widths = [len(h) for h in head]
    for r in cells:
        for i, lines in enumerate(r):
            widths[i] = max(widths[i], *(len(x) for x in lines))

    def line(vals):
        return "  ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()
    out = [title] if title else []
    out += [line(head), line(["-" * w for w in widths])]
    for r in cells:
        for k in range(max(len(lines) for lines in r) if r else 0):
            out.append(line([lines[k] if k < len(lines) else "" for lines in r]))
    return "\n".join(out) + "\n"


def _isatty(stream):
    try:
        return stream.isatty()
    except Exception:
        return False


class ProgressBar:
    """Context manager around rich's Progress; records what it was told so tests can check it."""

    def __init__(self, description: str, total: int | None, enabled: bool, stream: TextIO, unit: str) -> None:
        self.description = description
        self.total = total
        self.done = 0
        self.updates = 0
        self._enabled = enabled
        self._stream = stream
        self._unit = unit
        self._progress = None
        self._task = None

    def __enter__(self) -> ProgressBar:
        if self._enabled:
            cols = [TextColumn("{task.description}"), BarColumn()]
            cols.append(DownloadColumn() if self._unit == "bytes" else TextColumn("{task.completed}/{task.total}"))
            cols.append(TimeRemainingColumn())
            self._progress = Progress(*cols, console=Console(file=self._stream), transient=False)
            self._progress.__enter__()
            self._task = self._progress.add_task(self.description, total=self.total)
        return self

    def __exit__(self, *exc: object) -> bool:
        if self._progress is not None:
            self._progress.__exit__(*exc)
        return False

    def update(self, done: int, total: int | None = None) -> None:
        """Absolute position; ``total`` may arrive late (esptool only knows it once compressed)."""
        if total is not None:
            self.total = total
        self.done = done
        self.updates += 1
        if self._progress is not None:
            self._progress.update(self._task, completed=done, total=self.total)

    def advance(self, n: int = 1) -> None:
        self.update(self.done + n)

    __call__ = update
