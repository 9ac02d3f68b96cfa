"""How a run was started, and how it reports progress: shared by the solve, the writers and sweeps."""

from __future__ import annotations

import datetime as dt
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunInfo:
    """How the run was started: recorded in the Manifest."""

    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    command: str = field(default_factory=lambda: shlex.join(["minplan", *sys.argv[1:]]))
    overrides: dict[str, Any] = field(default_factory=dict)  # solver options given on the command line
    clock: float = field(default_factory=time.perf_counter)  # perf_counter at start, for the duration


Progress = Callable[[str], None]
