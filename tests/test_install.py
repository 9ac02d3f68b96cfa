"""A non-editable install works on its own: the wheel carries every subpackage and the shipped cases,
and the commands read and write relative to the working folder, not to where minplan is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env,
                          check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv (dependencies from this environment) with minplan installed from a wheel; its bin folder."""
    base = tmp_path_factory.mktemp("install")
    src = base / "src"  # a copy, so that building leaves nothing in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "cli.py"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "cases", src / "cases")
    shutil.copytree(ROOT / "model", src / "model", symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", base / "dist", "."],
                 cwd=src)
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = next((base / "dist").glob("minplan-*.whl"))
    env_dir = base / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    done = _run([sys.executable, "-m", "pip", "--python", bin_dir / "python", "install", "--no-deps", "--no-index", "-q",
                 wheel], cwd=base)
    assert done.returncode == 0, done.stdout + done.stderr
    return bin_dir


def test_installed_wheel_validates_and_solves_a_shipped_case_into_the_working_folder(installed, tmp_path):
    where = _run([installed / "python", "-c", "from model.shipped import shipped_cases; print(shipped_cases())"],
                 cwd=tmp_path)
    shipped = Path(where.stdout.strip())
    assert where.returncode == 0 and installed.parent in shipped.parents, where.stdout + where.stderr
    assert (shipped / "base.xlsx").is_file()

    minplan = installed / "minplan"
    checked = _run([minplan, "validate", shipped / "example.xlsx"], cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no problems found" in checked.stdout or "the case can be solved" in checked.stdout

    solved = _run([minplan, "solve"], cwd=tmp_path, timeout=300)  # no CASE: the shipped cases/base.xlsx
    assert solved.returncode == 0, solved.stdout + solved.stderr
    written = list((tmp_path / "outputs").glob("*.xlsx"))
    assert len(written) == 1 and f"result: {written[0]}" in solved.stdout
    assert not any((d / "outputs").exists() for d in shipped.parents[:2])  # nothing written beside the installed package
