"""The documented case workbook: Overview, commented headers, dropdowns.

`new_case(path)` writes the blank template behind `minplan new`;
`write_documented_case(path, settings, sheets)` writes any case (such as the
shipped example) with the same layout. Everything a planner reads in the
workbook (the sheet list, each header's comment, each dropdown) is generated
from `model.case.schema`, so it cannot drift from what the reader accepts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from model.case import schema as S
from model.case.template_content import EXAMPLE_ROWS, EXAMPLE_SETTINGS, EXAMPLE_SOURCE, overview_rows
from model.case.writer import safe_cell
from model.problems import RunError
from model.workbook.outfile import atomic_write

LIST_ROWS = 1000  # rows covered by dropdowns, and rows of a referenced sheet offered in them
MAX_LIST_CHARS = 255  # Excel's limit on a dropdown typed as a literal list
AUTHOR = "minplan"

REQUIRED_FILL = PatternFill("solid", fgColor="1F4E78")
OPTIONAL_FILL = PatternFill("solid", fgColor="DDEBF7")
REQUIRED_FONT = Font(bold=True, color="FFFFFF")
OPTIONAL_FONT = Font(bold=True, color="1F1F1F")
REQUIRED_TAB, OPTIONAL_TAB = "1F4E78", "9BC2E6"


# ---------------------------------------------------------------- what each sheet shows


def sheet_columns(sheet: S.Sheet) -> list[S.Column]:
    """Columns the documented workbook shows for `sheet`: the schema's, then source and note."""
    if sheet.name == "Settings":
        key, value = sheet.columns
        return [key, value, S.PROVENANCE[1], S.PROVENANCE[0]]
    return [*sheet.columns, *S.PROVENANCE]


def _show_default(value: Any) -> str:
    if value is True:
        return "Y"
    if value is False:
        return "N"
    return f"{value:g}" if isinstance(value, float) else str(value)


def column_comment(col: S.Column) -> str:
    """The header comment: meaning, unit, required or default, allowed values."""
    lines = [col.doc]
    if col.unit:
        lines.append(f"Unit: {col.unit}.")
    if col.required:
        lines.append("Required.")
    elif col.default is not None:
        lines.append(f"Optional; blank = {_show_default(col.default)}.")
    else:
        lines.append("Optional.")
    lines.append(f"Type: {col.expected()}.")
    lines.extend(f"{word}: {meaning}." for word, meaning in col.meanings)
    if col.kind == S.YN:
        lines.append("Also accepted: yes/no, true/false, 1/0.")
    return "\n".join(lines)


def setting_note(key: S.Column) -> str:
    """The Settings sheet's note for one key: description, unit, default, requirement."""
    parts = [key.doc]
    if key.unit:
        parts.append(f"Unit: {key.unit}.")
    if key.required:
        parts.append("Required.")
    elif key.default is not None:
        parts.append(f"Default {_show_default(key.default)}.")
    parts.extend(f"{word}: {meaning}." for word, meaning in key.meanings)
    return " ".join(parts)


# ---------------------------------------------------------------- dropdowns


def _letter_of(sheet_name: str, column: str) -> str:
    names = [c.name for c in sheet_columns(S.SHEET[sheet_name])]
    return get_column_letter(names.index(column) + 1)


def _literal(words: Iterable[str]) -> str:
    text = ",".join(words)
    if len(text) > MAX_LIST_CHARS:
        raise ValueError(f"dropdown list longer than Excel's {MAX_LIST_CHARS} characters: {text[:40]}...")
    return f'"{text}"'


def _exact(x: float) -> str:
    """A bound as Excel reads it, every digit kept (2147483647, not 2.14748e+09)."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def column_rule(col: S.Column) -> DataValidation | None:
    """The data validation for a column: a dropdown for words and references, a range check for numbers."""
    if col.kind == S.ENUM:
        return DataValidation(type="list", formula1=_literal(col.choices), allow_blank=True, errorStyle="stop",
                              errorTitle=col.name, error="Choose one of: " + ", ".join(col.choices), showErrorMessage=True)
    if col.kind == S.YN:
        return DataValidation(type="list", formula1=_literal(("Y", "N")), allow_blank=True, errorStyle="warning",
                              errorTitle=col.name, error="Y or N (yes/no, true/false, 1/0 are also accepted).",
                              showErrorMessage=True)
    if col.ref:
        letter = _letter_of(col.ref, S.SHEET[col.ref].key[0])
        rule = DataValidation(type="list", formula1=f"{col.ref}!${letter}$2:${letter}${LIST_ROWS}",
                              allow_blank=True, errorStyle="warning", errorTitle=col.name, showErrorMessage=True,
                              error=f"Not on the {col.ref} sheet: expected {col.expected()}.")
        if col.ref_extra:  # a word the list cannot offer: the warning lets it through, and the prompt says so
            rule.showInputMessage, rule.promptTitle = True, col.name
            rule.prompt = f"Choose from the list, or type {' / '.join(col.ref_extra)}: {col.doc}"[:255]
        return rule
    if col.kind in (S.NUMBER, S.INTEGER, S.YEAR) and (col.min is not None or col.max is not None):
        kind = "decimal" if col.kind == S.NUMBER else "whole"
        if col.min is not None and col.max is not None:
            op, f1, f2 = "between", col.min, col.max
        elif col.min is not None:
            op, f1, f2 = ("greaterThan" if col.min_open else "greaterThanOrEqual"), col.min, None
        else:
            op, f1, f2 = ("lessThan" if col.max_open else "lessThanOrEqual"), col.max, None
        return DataValidation(type=kind, operator=op, formula1=_exact(f1), formula2=None if f2 is None else _exact(f2),
                              allow_blank=True, errorStyle="warning", errorTitle=col.name, error=f"Expected {col.expected()}.",
                              showErrorMessage=True)
    return None


def _add_rules(ws: Worksheet, cols: list[S.Column]) -> None:
    for j, col in enumerate(cols, start=1):
        rule = column_rule(col)
        if rule is not None:
            letter = get_column_letter(j)
            rule.add(f"{letter}2:{letter}{LIST_ROWS}")
            ws.add_data_validation(rule)


def _add_setting_rules(ws: Worksheet, rows: list[Mapping[str, Any]]) -> None:
    """Settings mixes kinds in one value column: each key's value cell gets its own dropdown or range check."""
    letter = _letter_of("Settings", "value")
    for i, row in enumerate(rows, start=2):
        rule = column_rule(S.SETTING[row["key"]]) if row.get("key") in S.SETTING else None
        if rule is not None:
            rule.add(f"{letter}{i}")
            ws.add_data_validation(rule)


# ---------------------------------------------------------------- sheets


def _print_setup(ws: Worksheet) -> None:
    """Landscape, one page wide: what a planner gets when printing or exporting to PDF."""
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.print_title_rows = "1:1"  # the header on every printed page
    ws.page_margins.left = ws.page_margins.right = 0.4


def _header(ws: Worksheet, cols: list[S.Column]) -> None:
    for j, col in enumerate(cols, start=1):
        cell = ws.cell(row=1, column=j, value=col.name)
        cell.font = REQUIRED_FONT if col.required else OPTIONAL_FONT
        cell.fill = REQUIRED_FILL if col.required else OPTIONAL_FILL
        text = column_comment(col)
        comment = Comment(text, AUTHOR)
        comment.width = 320
        comment.height = 30 + 15 * sum(1 + len(line) // 45 for line in text.splitlines())
        cell.comment = comment
    ws.freeze_panes = "B2"
    _print_setup(ws)


def _write_rows(ws: Worksheet, cols: list[S.Column], rows: list[Mapping[str, Any]]) -> None:
    for i, row in enumerate(rows, start=2):
        for j, col in enumerate(cols, start=1):
            value = row.get(col.name)
            if value is None:
                continue
            cell = safe_cell(ws, i, j, value)
            if col.name == "value":  # Settings mixes words and numbers in one column: align them alike
                cell.alignment = Alignment(horizontal="left")
            if col.kind == S.NUMBER and isinstance(value, (int, float)) and abs(value) >= 1000 and float(value).is_integer():
                cell.number_format = "#,##0"


def _widths(ws: Worksheet, cols: list[S.Column], rows: list[Mapping[str, Any]]) -> None:
    for j, col in enumerate(cols, start=1):
        longest = max([len(col.name)] + [len(f"{r[col.name]:,}" if isinstance(r.get(col.name), (int, float))
                                            else str(r.get(col.name) or "")) for r in rows])
        cap = 60 if col.name in ("source", "note", "description") else 36
        ws.column_dimensions[get_column_letter(j)].width = min(max(longest + 3, 10), cap)


def add_case_sheet(wb: Workbook, sheet: S.Sheet, rows: list[Mapping[str, Any]]) -> Worksheet:
    """Append one case sheet: commented headers, rows, dropdowns, frozen header, widths."""
    ws = wb.create_sheet(sheet.name)
    ws.sheet_properties.tabColor = REQUIRED_TAB if sheet.required else OPTIONAL_TAB
    cols = sheet_columns(sheet)
    _header(ws, cols)
    _write_rows(ws, cols, rows)
    _add_rules(ws, cols)
    if sheet.name == "Settings":
        _add_setting_rules(ws, rows)
    _widths(ws, cols, rows)
    return ws


def settings_rows(values: Mapping[str, Any], sources: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Every Settings key in schema order: the given value or the default, a note, and a source."""
    unknown = set(values) - set(S.SETTING)
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    rows = []
    for key in S.SETTINGS_KEYS:
        value = values.get(key.name, key.default)
        rows.append({"key": key.name, "value": value, "note": setting_note(key),
                     "source": (sources or {}).get(key.name)})
    return rows


def add_overview(wb: Workbook, case_text: str | None = None) -> Worksheet:
    """The first sheet: what a case is, the sheets, inheritance and units (no merged cells, no formulas)."""
    ws = wb.active
    ws.title = "Overview"
    ws.sheet_properties.tabColor = "548235"
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 100
    _print_setup(ws)
    wrap = Alignment(wrap_text=True, vertical="top")
    for i, (label, text, style) in enumerate(overview_rows(case_text), start=1):
        a = safe_cell(ws, i, 1, label or None)
        b = safe_cell(ws, i, 2, text or None)
        a.alignment = Alignment(vertical="top")
        b.alignment = wrap
        if style == "title":
            a.font = Font(bold=True, size=16, color="1F4E78")
            ws.row_dimensions[i].height = 24
        elif style == "head":
            a.font = b.font = Font(bold=True, color="FFFFFF")
            a.fill = b.fill = REQUIRED_FILL
        else:
            a.font = Font(bold=True)
            ws.row_dimensions[i].height = 15 * max(1, math.ceil(len(text) / 105))
    return ws


def build_workbook(settings: Mapping[str, Any], sheets: Mapping[str, list[Mapping[str, Any]]],
                   settings_sources: Mapping[str, str] | None = None, case_text: str | None = None) -> Workbook:
    """A documented case workbook: Overview, then every schema sheet in order (empty if not given)."""
    unknown = set(sheets) - set(S.SHEET) - {"Settings"}
    if unknown:
        raise ValueError(f"unknown sheets: {', '.join(sorted(unknown))}")
    wb = Workbook()
    add_overview(wb, case_text)
    for sheet in S.SHEETS:
        if sheet.name == "Settings":
            add_case_sheet(wb, sheet, settings_rows(settings, settings_sources))
        else:
            add_case_sheet(wb, sheet, list(sheets.get(sheet.name, [])))
    return wb


# ---------------------------------------------------------------- writing


def save_atomic(wb: Workbook, path: Path) -> Path:
    """Save to a temporary file beside `path`, then rename: a failure never leaves a partial file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create the folder {path.parent}: {exc.strerror or exc}; nothing was written") from None
    return atomic_write(path, wb.save)


def check_target(path: Path, force: bool) -> None:
    """Refuse a path that is not .xlsx, is a folder, or exists (unless `force`)."""
    if path.suffix.lower() != ".xlsx":
        raise RunError(f"{path} does not end in .xlsx: minplan writes Excel workbooks, so name it e.g. "
                       f"{path.with_suffix('.xlsx').name}")
    if path.is_dir():
        raise RunError(f"{path} is a folder: give a file name ending in .xlsx")
    if path.exists() and not force:
        raise RunError(f"{path} already exists and was left unchanged: choose another name, or add --force to overwrite it")


def write_documented_case(path: str | Path, settings: Mapping[str, Any], sheets: Mapping[str, list[Mapping[str, Any]]],
                          settings_sources: Mapping[str, str] | None = None, case_text: str | None = None,
                          force: bool = True) -> Path:
    """Write a case in the template's layout (Overview, comments, dropdowns), atomically."""
    path = Path(path)
    check_target(path, force)
    return save_atomic(build_workbook(settings, sheets, settings_sources, case_text), path)


def template_sheets() -> dict[str, list[dict[str, Any]]]:
    """The template's example rows, each marked with the example source."""
    return {name: [{**row, "source": EXAMPLE_SOURCE} for row in rows] for name, rows in EXAMPLE_ROWS.items()}


def new_case(path: str | Path, force: bool = False) -> Path:
    """Write the blank, documented template to `path` (`minplan new`)."""
    sources = {k: EXAMPLE_SOURCE for k in EXAMPLE_SETTINGS}
    return write_documented_case(path, EXAMPLE_SETTINGS, template_sheets(), sources, force=force)
