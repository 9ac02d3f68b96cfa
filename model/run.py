"""How a run was started, and how it reports progress: shared by the solve, the writers, sweeps and studies."""

from __future__ import annotations

import datetime as dt
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO


@dataclass
class RunInfo:
    """How the run was started: recorded in the Manifest."""

    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    command: str = field(default_factory=lambda: shlex.join(["minplan", *sys.argv[1:]]))
    overrides: dict[str, Any] = field(default_factory=dict)  # solver options given on the command line
    clock: float = field(default_factory=time.perf_counter)  # perf_counter at start, for the duration


Progress = Callable[[str], None]


def bar_text(what: str, done: int, total: int, elapsed_s: float, note: str = "", width: int = 24) -> str:
    """'sweep [#########...............]  3/8  12 s, about 20 s left  v03 optimal': counts, time spent and left.

    Time left is the time spent so far per finished item, times the items still to do (blank before the first).
    """
    total = max(total, 1)
    filled = min(width, int(width * done / total))
    left = f", about {_seconds(elapsed_s / done * (total - done))} left" if 0 < done < total else ""
    text = f"{what} [{'#' * filled}{'.' * (width - filled)}] {done:>{len(str(total))}}/{total}  {_seconds(elapsed_s)}{left}"
    return text + (f"  {note}" if note else "")


def _seconds(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min"


class ProgressBar:
    """Progress of long work a person watches (sweeps, studies, PH iterations).

    On a terminal: one line redrawn in place, a bar with counts and the time left. Otherwise (a log file, a
    pipe, CI): one plain line per update, with the same counts and times, so a log reads top to bottom.

        bar = ProgressBar("sweep", total=8)
        bar.update(3, "v03 optimal")   # after each finished item
        bar.close()                    # ends the terminal line
    """

    def __init__(self, what: str, total: int, stream: TextIO | None = None, tty: bool | None = None):
        self.what, self.total = what, total
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)()) if tty is None else tty
        self.started = time.perf_counter()
        self._open = False

    def update(self, done: int, note: str = "") -> None:
        elapsed = time.perf_counter() - self.started
        if self.tty:
            columns = shutil.get_terminal_size((100, 20)).columns
            line = bar_text(self.what, done, self.total, elapsed, note)[: columns - 1]
            self.stream.write("\r" + line.ljust(columns - 1))
            self._open = True
            if done >= self.total:
                self.close()
        else:
            self.stream.write(f"[{elapsed:7.1f} s] {bar_text(self.what, done, self.total, elapsed, note, width=0)}\n")
        self.stream.flush()

    def close(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
