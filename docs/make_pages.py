"""Render pages of a shipped case's result workbook to PNG for the README, as LibreOffice Calc prints them.

    python docs/make_pages.py                 # solves cases/china_controls.xlsx, writes docs/result_page_*.png
    python docs/make_pages.py RESULT.xlsx     # renders an existing result workbook instead

The pictures come from the workbook itself (its Summary and its Dashboard), so they cannot drift from what
minplan writes. Needs soffice (LibreOffice) and pdftoppm (poppler-utils).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

PAGES = {"result_page_dashboard_1.png": 2, "result_page_dashboard_2.png": 3}  # the Dashboard follows the Summary page
CASE = "china_controls"


def result(work: Path) -> Path:
    from model.case.load import load_case
    from model.results.write import write_result
    from model.run import RunInfo
    from model.shipped import shipped_cases
    from model.solve.solver import solve_case

    case = load_case(shipped_cases() / f"{CASE}.xlsx")
    return write_result(work / f"{CASE}.xlsx", case, solve_case(case, {"threads": 1}),
                        RunInfo(command=f"minplan solve cases/{CASE}.xlsx"))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        book = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else result(work)
        subprocess.run(["soffice", f"-env:UserInstallation=file://{work / 'profile'}", "--headless", "--convert-to",
                        "pdf", "--outdir", str(work), str(book)], check=True, capture_output=True)
        pdf = work / f"{book.stem}.pdf"
        for name, page in PAGES.items():
            stem = work / f"page{page}"
            subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", str(page), "-l", str(page), "-singlefile", str(pdf),
                            str(stem)], check=True)
            (HERE / name).write_bytes(stem.with_suffix(".png").read_bytes())
            print(HERE / name)


if __name__ == "__main__":
    main()
