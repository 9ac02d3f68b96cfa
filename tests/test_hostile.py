"""Hostile and broken workbooks: minplan refuses or reads them safely, and never alters them.

Every file goes through the real command line (`python cli.py validate FILE`):
the exit status is 1 (case errors) or 2 (unreadable), one line names the
problem, no traceback appears, the file's SHA-256 is unchanged, and nothing
that an XML entity could have pulled in (/etc/passwd, a billion 'lol's)
reaches the output. Small fixtures are committed in tests/fixtures/hostile/
(made by tests/fixtures/make_hostile.py); large ones are made in tmp_path.
"""

from __future__ import annotations

import hashlib
import os
import re
import resource
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT, run_cli

sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
import make_hostile as mh

FIXTURES = ROOT / "tests" / "fixtures" / "hostile"
PASSWD = Path("/etc/passwd").read_text(encoding="utf-8", errors="replace").splitlines()[0]  # 'root:x:0:0:...'
SAVE_AS = "save it as 'Excel Workbook (.xlsx)'"
DOCTYPE = "carries an XML DOCTYPE or ENTITY declaration"

# file -> (exit status, words that must appear in one 'error:' or 'warning:' line)
EXPECTED: dict[str, tuple[int, list[str]]] = {
    "xxe_shared_strings.xlsx": (2, ["part xl/sharedStrings.xml " + DOCTYPE]),
    "xxe_sheet.xlsx": (2, ["part xl/worksheets/sheet2.xml " + DOCTYPE]),
    "xxe_workbook.xlsx": (2, ["part xl/workbook.xml " + DOCTYPE]),
    "xxe_unused_in_workbook.xlsx": (2, ["part xl/workbook.xml " + DOCTYPE]),
    "xxe_parameter_entity.xlsx": (2, ["part xl/worksheets/sheet2.xml " + DOCTYPE]),
    "xxe_external_dtd.xlsx": (2, ["part xl/sharedStrings.xml " + DOCTYPE]),
    "laughs_shared_strings.xlsx": (2, ["part xl/sharedStrings.xml " + DOCTYPE]),
    "laughs_sheet.xlsx": (2, ["part xl/worksheets/sheet2.xml " + DOCTYPE]),
    "laughs_workbook.xlsx": (2, ["part xl/workbook.xml " + DOCTYPE]),
    "doctype_after_comment.xlsx": (2, ["part xl/worksheets/sheet2.xml " + DOCTYPE]),
    "shared_strings_count.xlsx": (2, ["part xl/sharedStrings.xml declares 4000000000 distinct texts but holds far fewer"]),
    "sheet_xml_cut_in_half.xlsx": (2, ["sheet Regions cannot be read: its contents are damaged"]),
    "text_in_number_cell.xlsx": (2, ["sheet Materials cannot be read: its contents are damaged", "Parse float error"]),
    "utf16_part.xlsx": (2, ["part xl/worksheets/sheet2.xml is not UTF-8 XML", SAVE_AS]),
    "bomb_declared_size.xlsx": (2, ["would unpack to 3,072 MiB, over minplan's limit of 512 MiB"]),
    "unpacks_to_more_than_declared.xlsx": (2, ["the file is damaged: part xl/worksheets/sheet2.xml cannot be unpacked"]),
    "duplicate_part.xlsx": (2, ["part xl/worksheets/sheet2.xml appears twice in the archive"]),
    "bzip2_part.xlsx": (2, ["uses a compression Excel never writes", SAVE_AS]),
    "far_cell.xlsx": (2, ["sheet Regions reaches row 1,048,576 and column XFD", "limit of 5,000,000 cells"]),
    "far_cell_prefixed.xlsx": (2, ["sheet Regions reaches row 1,048,576 and column XFD"]),
    "rows_without_refs.xlsx": (2, ["sheet Regions reaches row 1,048,574 and column E", "limit of 5,000,000 cells"]),
    "far_cells_leading_zeros.xlsx": (2, ["sheet Regions reaches row 99,999 and column XFD", "limit of 5,000,000 cells"]),
    "really_csv.xlsx": (2, ["this is plain text (CSV or similar), not an Excel workbook", SAVE_AS]),
    "really_html.xlsx": (2, ["this is a web page (HTML), not an Excel workbook", SAVE_AS]),
    "empty.xlsx": (2, ["the file is empty (0 bytes)"]),
    "truncated.xlsx": (2, ["the file is incomplete or damaged"]),
    "encrypted.xlsx": (2, ["this workbook is password-protected (encrypted)", "remove the password"]),
    "legacy_named_xlsx.xlsx": (2, ["this is a legacy Excel 97-2003 workbook (.xls), whatever its name says", SAVE_AS]),
    "legacy.xls": (2, ["this is a legacy Excel 97-2003 workbook (.xls)", SAVE_AS]),
    "case.csv": (2, ["this is a CSV text file", SAVE_AS]),
    "case.ods": (2, ["this is an OpenDocument spreadsheet (.ods)", SAVE_AS]),
    "ods_named_xlsx.xlsx": (2, ["this is an OpenDocument spreadsheet (.ods), not an Excel workbook", SAVE_AS]),
    "bad_values.xlsx": (1, ["Materials!C2: price_usd_per_t is not a finite number (found 'nan'",
                            "Materials!D2: shortfall_penalty_usd_per_t is not a finite number (found 'inf'",
                            "Materials!C3: price_usd_per_t is too large to be meant", "found '1e+308'",
                            "Materials!D3: shortfall_penalty_usd_per_t is not a finite number (found '-inf'",
                            "Demand!C2: year holds a date", "Demand!D2: demand_t shows an Excel error", "found '#N/A'",
                            "Projects!E2: capacity_tpy shows an Excel error", "found '#DIV/0!'",
                            "Regions!A3: region holds TRUE/FALSE, not text"]),
    "merged_header.xlsx": (1, ["Regions!A1:B1: merged cells in the header row"]),
    "merged_data.xlsx": (0, ["warning: merged_data.xlsx: Regions!B2:B3: merged cells: only the top-left cell keeps"]),
    "hidden_parts.xlsx": (0, ["Projects!3:3: hidden rows hold data (row 3); minplan reads hidden rows like any others",
                              "Projects!B:B: hidden columns hold data (column B)",
                              "sheet Materials is hidden; minplan reads it", "sheet Demand is hidden; minplan reads it"]),
    "macro.xlsm": (0, ["warning: macro.xlsm: this workbook contains macros; minplan reads its data only and never runs"]),
    "lying_dimension.xlsx": (0, []),
    "lookalike_ids.xlsx": (0, ["Regions!A4: 'us' and 'US' at Regions!A2 differ only in capitals"]),
    "good.xlsx": (0, []),
}

# XML entity tricks injected into other parts of a valid case, made in a temporary folder.
OTHER_PARTS = ("[Content_Types].xml", "_rels/.rels", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "docProps/app.xml")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def validate(path: Path) -> tuple[subprocess.CompletedProcess, str, str]:
    """Run `cli.py validate path`; return the result and the file's SHA-256 before and after."""
    before = sha256(path)
    return run_cli("validate", path, timeout=120), before, sha256(path)


def check(ran: tuple[subprocess.CompletedProcess, str, str], status: int, words: list[str]) -> str:
    """What every hostile file must give: the status, the words in message lines, no traceback, no leak,
    and the file unchanged. `ran` is validate()'s answer (or a result with two empty hashes)."""
    result, before, after = ran
    out = result.stdout + result.stderr
    assert result.returncode == status, out
    for bad in ("Traceback", "panicked", "internal error", "RUST_BACKTRACE", PASSWD, "lol" * 10):
        assert bad not in out, out
    lines = [line for line in out.splitlines() if line.startswith(("error:", "warning:"))]
    for w in words:
        assert any(w in line for line in lines), f"{w!r} not in:\n{out}"
    if status:
        assert any(line.startswith("error:") for line in lines), out
    assert all(len(line) < 600 for line in lines), out
    assert before == after, "the input file changed"
    return out


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, str, str]]:
    """Validate every committed fixture and the other-part entity tricks, several at a time (each is a new process)."""
    tmp = tmp_path_factory.mktemp("parts")
    paths = {p.name: p for p in FIXTURES.iterdir()}
    for part in OTHER_PARTS:
        parts = mh.base_parts()
        parts[part] = mh.DECL + mh.XXE % b"x" + re.sub(rb"^<\?xml[^>]*\?>\s*", b"", parts[part])
        paths[part] = mh.save(tmp / (part.replace("/", "_") + ".xlsx"), parts)
    with ThreadPoolExecutor(max_workers=6) as pool:
        return dict(zip(paths, pool.map(validate, paths.values())))


def test_every_committed_fixture_has_an_expected_outcome():
    assert {p.name for p in FIXTURES.iterdir()} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_file_gives_a_clear_outcome(results, name):
    status, words = EXPECTED[name]
    check(results[name], status, words)


@pytest.mark.parametrize("part", OTHER_PARTS)
def test_entity_trick_in_any_part_is_refused_before_parsing(results, part):
    check(results[part], 2, [f"part {part} {DOCTYPE}"])


def test_fixtures_are_what_the_generator_makes(tmp_path):
    """The committed files are reproducible from make_hostile.py (so a reviewer reads code, not binaries)."""
    mh.main(tmp_path)
    for p in FIXTURES.iterdir():
        assert (tmp_path / p.name).read_bytes() == p.read_bytes(), f"{p.name}: run python tests/fixtures/make_hostile.py"


# ---------------------------------------------------------------- what the readers do on their own


def test_calamine_expands_no_entity():
    """calamine refuses an entity it does not know: nothing is expanded, nothing is read from disk."""
    import python_calamine

    for name in ("xxe_sheet.xlsx", "laughs_sheet.xlsx"):
        book = python_calamine.CalamineWorkbook.from_path(str(FIXTURES / name))
        with pytest.raises(python_calamine.CalamineError, match="unrecognized entity") as err:
            book.get_sheet_by_name("Regions").to_python()
        assert PASSWD not in str(err.value) and "lol" * 10 not in str(err.value)


def test_defusedxml_and_openpyxl_refuse_entities():
    """The Python XML parsers forbid entities; openpyxl uses defusedxml whenever it is installed."""
    import openpyxl
    from defusedxml import DefusedXmlException
    from defusedxml import ElementTree as SafeET

    assert openpyxl.DEFUSEDXML is True
    with zipfile.ZipFile(FIXTURES / "xxe_workbook.xlsx") as zf, pytest.raises(DefusedXmlException):
        SafeET.fromstring(zf.read("xl/workbook.xml"))
    for name in ("xxe_shared_strings.xlsx", "laughs_workbook.xlsx"):
        with pytest.raises(Exception) as err:  # openpyxl wraps defusedxml's refusal in a ValueError
            openpyxl.load_workbook(FIXTURES / name, read_only=True, data_only=True)
        assert PASSWD not in str(err.value)


# ---------------------------------------------------------------- zip bombs made here, never committed


def _case_with_member(path: Path, member: str, mib: int, level: int = 6) -> Path:
    """A valid case plus `member`: `mib` MiB of zeros, streamed (the test never holds them in memory)."""
    mh.save(path, mh.base_parts())
    with (zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=level) as zf,
          zf.open(member, "w", force_zip64=True) as fh):
        chunk = bytes(2**20)
        for _ in range(mib):
            fh.write(chunk)
    return path


def test_zip_bomb_of_600_mib_of_zeros_is_refused_before_unpacking(tmp_path):
    path = _case_with_member(tmp_path / "bomb.xlsx", "xl/media/image1.png", 600, level=1)  # level 1: quick to make
    assert path.stat().st_size < 4 * 2**20
    check(validate(path), 2, ["would unpack to 600 MiB, over minplan's limit of 512 MiB"])
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 1_000_000  # KiB: no child came near 1 GiB


def test_part_compressed_a_thousand_to_one_is_refused(tmp_path):
    path = _case_with_member(tmp_path / "ratio.xlsx", "xl/worksheets/sheet9.xml", 64)
    check(validate(path), 2, ["part xl/worksheets/sheet9.xml is compressed", "to 1, the mark of a zip bomb"])


def test_sheets_together_over_the_book_limit_are_refused(tmp_path):
    """Five sheets of 99,000 rows by 50 columns each: under the sheet limit, over the book limit."""
    parts = mh.base_parts()
    for part in mh.SHEET_PART.values():
        parts[part] = parts[part].replace(b"</sheetData>", b'<row r="99000"><c r="AX99000"><v>1</v></c></row></sheetData>')
    path = mh.save(tmp_path / "wide.xlsx", parts)
    check(validate(path), 2, ["the sheets together span 24,750,000 cells from A1, over minplan's limit of 20,000,000"])


# ---------------------------------------------------------------- what is read, and how


def test_hidden_rows_and_columns_are_read_like_any_other():
    """The documented choice: hidden rows still count (with a warning), so the hidden project is in the case."""
    from model.case.load import load_case

    case = load_case(FIXTURES / "hidden_parts.xlsx")
    assert list(case.projects["project"]) == ["old", "oxo"]  # row 3 is hidden
    assert list(case.projects["region"]) == ["US", "CA"]  # column B is hidden
    assert {"mag", "ox"} == set(case.materials["material"])  # the Materials sheet is hidden


def test_identifier_with_surrounding_spaces_is_trimmed():
    from model.case.load import load_case

    case = load_case(FIXTURES / "lookalike_ids.xlsx")
    assert case.projects["region"].iloc[0] == "US"
    assert sorted(case.regions["region"]) == ["CA", "US", "us"]


def test_macro_workbook_data_is_read():
    from model.case.load import load_case

    case = load_case(FIXTURES / "macro.xlsm")
    assert list(case.projects["project"]) == ["old", "oxo"]


@pytest.mark.parametrize("xml", [
    b'<row r="3"><c r="B3"><v>1</v></c></row><row r="7"><c r="AB7"><v>2</v></c></row>',
    b'<row r="3"><c r="B3"/></row><row r="120000"><c r="C120000"><v>2</v></c></row>',  # an empty cell does not count
    b'<row r="4"><c t="n"><v>1</v></c><c><v>2</v></c></row><row><c r="D9"><v>3</v></c><c><v>4</v></c></row>',
    b"<row><c><v>1</v></c></row><row/><row/><row><c/><c><v>5</v></c></row>",
    b"<row r='5'><c r = 'E5' ><v>1</v></c></row>",
    b'<row r="2"><c\nr="F2"><v>1</v></c></row>',
])
def test_measured_extent_matches_what_calamine_reads(tmp_path, xml):
    """The extent measured before reading (fast and slow paths alike) is exactly calamine's, from A1."""
    import python_calamine

    from model.workbook.scan import sheet_extent as _extent

    parts = mh.base_parts()
    part = mh.SHEET_PART["Regions"]
    head = parts[part][: parts[part].index(b"<sheetData>")]
    parts[part] = head + b"<sheetData>" + xml + b"</sheetData></worksheet>"
    path = mh.save(tmp_path / "x.xlsx", parts)
    sheet = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Regions")
    rows, cols, _ = _extent(parts[part], exact=True, prefixed=False)
    assert (rows, cols) == (sheet.end[0] + 1, sheet.end[1] + 1)
    assert _extent(parts[part], exact=True, prefixed=True)[:2] == (rows, cols)  # the slow walk agrees


_CELL_FORMS = st.sampled_from(['<c r="{c}{r}"><v>1</v></c>', '<c r="{c}{r}" t="n"><v>1</v></c>', '<c r="{c}{r}"/>',
                                '<c><v>1</v></c>', "<c r='{c}{r}'><v>1</v></c>", '<c\nr="{c}{r}"><v>1</v></c>'])


@settings(max_examples=300, deadline=None)
@example([('<c r="{c}{r}"><v>1</v></c>', "A", "0000004"), ('<c r="{c}{r}"><v>1</v></c>', "B", "99999")])  # a
# bound from the six-digit references alone would be row 4
@given(st.lists(st.tuples(_CELL_FORMS, st.sampled_from(["A", "Z", "AA", "XFD", "b"]),
                          st.sampled_from(["1", "99999", "100000", "1048576", "0000004", "01"])), max_size=6))
def test_the_one_pass_extent_agrees_with_the_tag_walk(cells):
    """Near, far and odd cell tags in any order, references with leading zeros among them (A0000004 is row 4): the
    fast path's exact extent is the tag walk's (which the test above holds to calamine's) when no cell is empty,
    never below it when one is, and its bound is never below it."""
    from model.workbook.scan import sheet_extent

    xml = ("<sheetData>" + "".join(f'<row r="{int(r)}">' + form.format(c=c, r=r) + "</row>" for form, c, r in cells)
           + "</sheetData>").encode()
    walked = sheet_extent(xml, exact=True, prefixed=True)[:2]
    rows, cols, _ = sheet_extent(xml, exact=True, prefixed=False)
    if b"/>" in xml:  # an empty cell does not count for calamine; the fast path may count it
        assert rows >= walked[0] and cols >= walked[1]
    else:
        assert (rows, cols) == walked
    rows, cols, _ = sheet_extent(xml, exact=False, prefixed=False)
    assert rows >= walked[0] and cols >= walked[1]


# ---------------------------------------------------------------- paths that are not workbooks


def test_folder_missing_file_and_special_files_give_clean_messages(tmp_path):
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)  # opening a pipe would wait forever for a writer
    for path, words in [(tmp_path, "is a folder, not an Excel workbook"),
                        (tmp_path / "nowhere.xlsx", "file not found"),
                        (fifo, "is not a regular file"),
                        (Path("/dev/zero"), "is not a regular file")]:
        check((run_cli("validate", path, timeout=60), "", ""), 2, [words])


def _run_without_root_powers(*args: str) -> subprocess.CompletedProcess:
    """Run the CLI; as root, first drop the power to bypass file permissions (chmod does not stop root)."""
    cmd = [sys.executable, str(ROOT / "cli.py"), *args]
    if os.geteuid() == 0:
        caps = "-dac_override,-dac_read_search"
        cmd = [shutil.which("setpriv") or "setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", *cmd]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def test_unreadable_file_gives_a_clean_message(tmp_path):
    """A file the user may not read: exit 2 and a clean message (from click's argument check or minplan's)."""
    path = shutil.copy(FIXTURES / "good.xlsx", tmp_path / "locked.xlsx")
    os.chmod(path, 0)
    try:
        result = _run_without_root_powers("validate", str(path))
    finally:
        os.chmod(path, 0o600)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "locked.xlsx' is not readable" in out or "locked.xlsx: cannot read" in out and "Permission denied" in out, out
    assert "Traceback" not in out, out


def test_unreadable_base_case_is_reported_by_cell(make_case, tmp_path):
    """A base case the user may not read reaches minplan's own check: a message by cell, exit 1."""
    base = shutil.copy(FIXTURES / "good.xlsx", tmp_path / "locked_base.xlsx")
    path = make_case({"base_case": "locked_base.xlsx"}, **mh.base_sheets())
    os.chmod(base, 0)
    try:
        result = _run_without_root_powers("validate", str(path))
    finally:
        os.chmod(base, 0o600)
    check((result, "", ""), 1, ["Settings!B", "base case locked_base.xlsx cannot be read: cannot read", "Permission denied"])


def test_link_to_a_system_file_leaks_nothing(tmp_path):
    link = tmp_path / "case.xlsx"
    link.symlink_to("/etc/passwd")
    check(validate(link), 2, ["this is plain text (CSV or similar)"])


@pytest.mark.parametrize("base, words", [
    ("/etc/passwd", "base case passwd cannot be read: this is plain text"),
    (str(FIXTURES / "xxe_sheet.xlsx"), "base case xxe_sheet.xlsx cannot be read: part xl/worksheets/sheet2.xml " + DOCTYPE),
])
def test_hostile_base_case_is_reported_by_cell(make_case, base, words):
    path = make_case({"base_case": base}, **mh.base_sheets())
    before = sha256(Path(base))
    out = check(validate(path), 1, [words, "Settings!B"])
    assert sha256(Path(base)) == before, out
