"""The output workbooks in a real spreadsheet program: LibreOffice Calc (headless) renders each to PDF.

One conversion per workbook kind (template, result, compare, sweep), all in one soffice run with a private
profile, so parallel runs do not clash. Checked: the conversion succeeds without a repair, the page count stays
within a bound per workbook, every chart's title is printed, no line is smoothed, and the Dashboard of the
shipped rare-earth ban case names the material with the largest expected shortfall.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from model.case.load import load_case
from model.case.template import new_case
from model.results.compare import compare_results
from model.results.comparebook import write_comparison
from model.results.read import read_result
from model.results.write import write_result
from model.run import RunInfo
from model.shipped import shipped_cases
from model.solve.solver import solve_case
from model.sweep.book import write_sweep_book
from model.sweep.engine import SweepOutcome, value_column
from model.sweep.vary import parse_varies

# Page bounds: one page per sheet, and for long tables about 45 rows a page. The shipped family's result (five
# scenarios) holds about 10,000 rows over 27 sheets (about 240 pages); the template has one short sheet per schema sheet;
# the compare's widest sheet (Supply) is shrunk to one page wide; the sweep's four sheets fit a page each.
MAX_PAGES = {"template": 45, "result": 280, "compare": 40, "sweep": 6}


def _soffice(paths: list[Path], out: Path, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                           "--outdir", str(out), *map(str, paths)], capture_output=True, text=True, timeout=600, check=False)


def _pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")


def _flat(text: str) -> str:
    """Text without whitespace: pdftotext breaks a chart title's lines, and sometimes its words, where it likes."""
    return re.sub(r"\s+", "", text)


def chart_xml(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return [z.read(n).decode() for n in sorted(z.namelist()) if re.match(r"xl/charts/chart\d+\.xml$", n)]


def chart_title(xml: str) -> str:
    title = re.search(r"<c:title>.*?</c:title>", xml, re.DOTALL)
    return "".join(re.findall(r"<a:t>([^<]*)</a:t>", title.group(0))) if title else ""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    if not (shutil.which("soffice") and shutil.which("pdftotext")):
        pytest.fail("LibreOffice (soffice) and poppler-utils (pdftotext) are needed; .ci/run installs them")
    d = tmp_path_factory.mktemp("render")
    books = {"template": new_case(d / "template.xlsx")}
    books["result"] = d / "result.xlsx"
    case = load_case(shipped_cases() / "china_controls.xlsx")  # the shipped rare-earth controls family
    write_result(books["result"], case, solve_case(case, {"threads": 1, "evpi_vss": False}),
                 RunInfo(command="minplan solve"))
    other = d / "result_again.xlsx"
    shutil.copy(books["result"], other)
    cmp = compare_results([read_result(books["result"]), read_result(other)])
    books["compare"] = write_comparison(d / "compare.xlsx", cmp, [books["result"], other], "minplan compare")
    books["sweep"] = _sweep_book(d)
    proc = _soffice(list(books.values()), d / "pdf", d / "profile")
    pdfs = {k: d / "pdf" / f"{p.stem}.pdf" for k, p in books.items()}
    return books, pdfs, proc


def _sweep_book(d: Path) -> Path:
    """A sweep workbook from made-up variant rows: rendering needs its shape, not a solve."""
    case = load_case(shipped_cases() / "base.xlsx")
    varies = parse_varies(["Settings.mcpf=0.1,0.2,0.3"], case)
    col = value_column(varies[0])
    rows = [{"variant": f"v0{i}", col: x, "description": f"mcpf = {x}", "status": "optimal", "reason": "",
             "objective_musd": 1000.0 - i, "public_spend_musd": 100.0 * i, "expected_shortfall_t": 5000.0 / i,
             "projects_funded": i, "gap": 0.0, "time_s": 1.0, "result_file": f"base_v0{i}.xlsx"}
            for i, x in enumerate((0.1, 0.2, 0.3), start=1)]
    outcome = SweepOutcome(rows, 3, False, d, varies=varies)
    return write_sweep_book(d / "sweep.xlsx", case, outcome, 1, RunInfo())


def test_every_workbook_converts_without_repair_within_its_page_bound(rendered):
    _, pdfs, proc = rendered
    assert proc.returncode == 0, proc.stderr
    assert "repair" not in (proc.stdout + proc.stderr).lower()
    for kind, pdf in pdfs.items():
        assert pdf.exists() and pdf.stat().st_size > 0, f"{kind}: {proc.stdout} {proc.stderr}"
        pages = len([p for p in _pages(pdf) if p.strip()])
        assert 1 <= pages <= MAX_PAGES[kind], (kind, pages)


def test_every_chart_is_printed_with_its_title_and_no_line_is_smoothed(rendered):
    books, pdfs, _ = rendered
    for kind in ("result", "compare", "sweep"):
        xmls = chart_xml(books[kind])
        assert xmls, kind
        text = _flat(" ".join(_pages(pdfs[kind])))
        for xml in xmls:
            title = chart_title(xml)
            assert title and _flat(title) in text, (kind, title)
            for ser in re.findall(r"<c:(?:lineChart|scatterChart)>.*?</c:(?:lineChart|scatterChart)>", xml, re.DOTALL):
                n = ser.count("<c:ser>")
                assert n and ser.count('<c:smooth val="0"/>') == n, (kind, title)
            assert '<c:smooth val="1"/>' not in xml


def test_dashboard_names_the_material_with_the_largest_expected_shortfall(rendered):
    """Under the rare-earth ban the magnets are short: the Dashboard's pages must say so, not chart zinc."""
    books, pdfs, _ = rendered
    supply = read_result(books["result"]).tables["Supply"]
    probs = read_result(books["result"]).probabilities
    w = supply["scenario"].map(probs).astype(float)
    short = (pd.to_numeric(supply["shortfall_t"]) * w).groupby(supply["material"]).sum()
    top = short.idxmax()
    assert short[top] > 0
    dashboard = [p for p in _pages(pdfs["result"]) if "Dashboard" in (line.strip() for line in p.splitlines())]
    assert dashboard, "no page printed from the Dashboard"
    text = _flat(" ".join(dashboard))
    assert _flat(f"largest: {top}") in text and _flat(f"Supply of {top} to") in text
