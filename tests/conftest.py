"""Shared test helpers: build tiny case workbooks in code, run the real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from model.case.writer import write_case

ROOT = Path(__file__).resolve().parents[1]


def minimal_sheets() -> dict:
    """A tiny valid case: one member, one material, one existing project meeting demand."""
    return {
        "Regions": [{"region": "US", "bloc": "ally", "member": "Y"}],
        "Materials": [{"material": "mag", "stage": "magnet", "price_usd_per_t": 1000, "shortfall_penalty_usd_per_t": 5000}],
        "Demand": [{"region": "US", "material": "mag", "year": 2026, "demand_t": 10}],
        "Projects": [{"project": "old", "region": "US", "status": "existing", "output": "mag", "capacity_tpy": 10}],
    }


@pytest.fixture
def make_case(tmp_path):
    """make_case(settings=None, name='case.xlsx', **sheets) -> path of a written case workbook."""

    def _make(settings: dict | None = None, name: str = "case.xlsx", **sheets) -> Path:
        s = {"start_year": 2026, "end_year": 2026}
        s.update(settings or {})
        return write_case(tmp_path / name, s, sheets)

    return _make


def run_cli(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python cli.py ARGS` in a subprocess, as a planner would."""
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], check=False, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
