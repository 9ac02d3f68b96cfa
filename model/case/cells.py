"""Cell values to typed values, driven by the schema, with messages in a planner's words.

`parse_value(column, raw)` returns the typed value or the problem, which reads
after the column's name ("capex_musd is negative"); `expected_text(column)`
says what to type instead. No Python type names ever reach a planner.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import unicodedata
from collections.abc import Callable
from functools import partial
from typing import Any

from model.case import schema as S

MAX_ABS_NUMBER = 1e15  # larger magnitudes are typing slips, and overflow the solver
EXCEL_ERRORS = {"#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!", "#GETTING_DATA"}
YEAR_RANGE = (1900, 2200)  # a year outside is a slip (the horizon check covers most year columns too)
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")  # a number typed as text, as Excel reads it
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}([, '\u00a0\u202f])[0-9]{3}(\1[0-9]{3})*(\.[0-9]*)?")  # 1,000 / 1 000 / 12,500.5
_EUROPEAN = re.compile(r"[+-]?[0-9]{1,3}(\.[0-9]{3})*,[0-9]+")  # 1,5 / 1.000,5: a decimal comma
_NOT_FINITE = {"nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # control characters (calamine decodes _x001B_ into a real ESC)
FREE_TEXT = {"name", "description", "note", "source"}  # prose columns; every other text column holds identifiers or words
_DATES = (dt.datetime, dt.date, dt.time, dt.timedelta)
_PLAIN_UNITS = {"", "year", "fraction", "fraction per year"}  # units not worth repeating in a message
_UNIT_WORDS = {"yr": "years", "%": "percent (5 means 5%)", "s": "seconds"}


def closest(word: str, options) -> str | None:
    """The option closest to `word` (ignoring capitals), or None when none is close."""
    options = [str(o) for o in options]
    close = difflib.get_close_matches(str(word).lower(), [o.lower() for o in options], n=1, cutoff=0.6)
    return next(o for o in options if o.lower() == close[0]) if close else None


def did_you_mean(word: str, options) -> str:
    """'; did you mean 'X'?' for the closest option, or '' when none is close."""
    match = closest(word, options)
    return f"; did you mean '{match}'?" if match else ""


def _num(x: float) -> str:
    """1000, 0.5, and 1e9 for the large powers of ten that limits are."""
    if abs(x) >= 1e6 and f"{abs(x):g}".startswith("1e+"):
        return ("-" if x < 0 else "") + f"{abs(x):g}".replace("e+0", "e").replace("e+", "e")
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def expected_text(col: S.Column) -> str:
    """What a valid value of `col` looks like, in a planner's words (no repetition of the message)."""
    if col.kind == S.ENUM:
        return "one of " + ", ".join(col.choices)
    if col.kind == S.YN:
        return "Y or N; yes/no, true/false and 1/0 also work"
    if col.kind == S.YEAR:
        return "a year typed as a whole number, such as 2030"
    if col.ref:
        return col.expected()
    if col.kind in (S.TEXT, S.LIST):
        return S.KIND_WORDS[col.kind]
    noun = "a whole number" if col.kind == S.INTEGER else "a number"
    lo, hi = col.min, col.max
    if lo is not None and hi is not None:
        upper = f"up to but not including {_num(hi)}" if col.max_open else f"to {_num(hi)}"
        text = f"{noun} from {_num(lo)} {upper}"
    elif lo is not None:
        text = f"{noun} greater than {_num(lo)}" if col.min_open else f"{noun} of {_num(lo)} or more"
    elif hi is not None:
        text = f"{noun} of at most {_num(hi)}"
    else:
        text = noun
    if col.hint:
        text = f"{col.hint}, {text.removeprefix(noun + ' ')}"
    return text if col.unit in _PLAIN_UNITS else f"{text}, in {_UNIT_WORDS.get(col.unit, col.unit)}"


def _range_problem(col: S.Column, x: float) -> str | None:
    if col.min is not None and (x < col.min or (col.min_open and x == col.min)):
        return "is negative" if col.min == 0 and x < 0 else f"is below {_num(col.min)}" if x < col.min else "is too small"
    if col.max is not None and (x > col.max or (col.max_open and x == col.max)):
        if x == col.max:
            return f"must be less than {_num(col.max)}"
        return f"is above {_num(col.max)}" + (f", {col.max_why}" if col.max_why else "")
    return None


def _to_number(v: Any) -> float | str:
    """A float, or the problem text when `v` is not a number."""
    if isinstance(v, bool):
        return "holds TRUE/FALSE, not a number"
    if isinstance(v, _DATES):
        return "holds a date, not a number"
    if isinstance(v, str):
        return _text_number(v.strip())
    try:
        return float(v)
    except (TypeError, ValueError, OverflowError):
        return "is not a number"


def _text_number(t: str) -> float | str:
    """A number typed as text, read only in the one way every locale reads it.

    Python's float() also takes '9_000' and Arabic-Indic or full-width digits,
    and a planner's '1,000' means 1000 in some locales and 1 in others: each is
    refused with how to type it instead.
    """
    if _NUMBER.fullmatch(t):
        return float(t)
    if t.lower() in _NOT_FINITE:
        return float(t)  # refused next, as not a finite number
    ascii_digits = "".join(str(unicodedata.digit(ch)) if ch.isdigit() and not ch.isascii() else ch for ch in t)
    if ascii_digits != t:
        as_typed = f" as {ascii_digits}" if _NUMBER.fullmatch(ascii_digits) else ""
        return f"is typed with digits other than 0-9: type it{as_typed} with the digits 0 to 9"
    if "_" in t and _NUMBER.fullmatch(t.replace("_", "")):
        return f"has underscores between its digits: type it as {t.replace('_', '')}, digits only"
    grouped = _GROUPED.fullmatch(t)
    if grouped:
        plain = t.replace(grouped.group(1), "")
        if grouped.group(1) == "," and t.count(",") == 1 and "." not in t:
            other = _num(float(t.replace(",", ".")))
            return (f"is text with a comma, which means {plain} in some locales and {other} in others: type {plain} "
                    f"(or {other}) as a number, digits only, a point for decimals")
        return f"is text with a thousands separator: type it as {plain}, digits only, a point for decimals"
    if _EUROPEAN.fullmatch(t):
        point = t.replace(".", "").replace(",", ".")
        return f"is text with a decimal comma: type it as {point}, with a point for decimals"
    return "is not a number"


def escaped(text: str) -> str:
    """`text` with control and invisible characters written as escapes (\\x1b, \\u200b), safe to print."""
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in text)


# Letters of other scripts drawn like Latin ones (Unicode's confusables for the Latin letters of identifiers).
_LOOKALIKE = str.maketrans("АВЕКМНОРСТХаеорсухіјѕԁӏҮΑΒΕΖΗΙΚΜΝΟΡΤΥΧορνϲ", "ABEKMHOPCTXaeopcyxijsdlYABEZHIKMNOPTYXopvc")


def skeleton(text: str) -> str:
    """What an identifier looks like: compatibility forms folded, invisible characters dropped, lookalike letters
    of other scripts read as Latin, capitals ignored. Two identifiers with one skeleton look the same."""
    folded = unicodedata.normalize("NFKC", text).translate(_LOOKALIKE)
    return "".join(ch for ch in folded if unicodedata.category(ch) not in ("Cf", "Cc", "Mn")).casefold()


def unusual(text: str) -> str:
    """The characters of `text` that are not plain ASCII, named: 'С (CYRILLIC CAPITAL LETTER ES, U+0421)'."""
    seen = dict.fromkeys(ch for ch in text if not (ch.isascii() and ch.isprintable()))
    return ", ".join(f"{escaped(ch)} ({unicodedata.name(ch, 'an unnamed character')}, U+{ord(ch):04X})" for ch in seen)


def control_problem(text: str) -> str:
    """The problem text for an identifier holding control characters, each shown escaped."""
    chars = sorted({escaped(ch) for ch in _CONTROL.findall(text)})
    return (f"holds the control character{'s' if len(chars) > 1 else ''} {', '.join(chars)}, invisible in Excel "
            "(a paste from a terminal or a web page, or a _x001B_ code): retype the identifier")


def parse_value(col: S.Column, v: Any) -> tuple[Any, str | None]:
    """Convert a raw cell value to the column's kind.

    Returns (value, None), or (None, problem) where the problem reads after the
    column's name: 'capex_musd is negative'.
    """
    if v is None:
        return None, None
    if isinstance(v, str) and v.strip().upper() in EXCEL_ERRORS:
        return None, "shows an Excel error instead of a value: correct the formula that produces it"
    kind = col.kind
    if kind in (S.TEXT, S.ENUM, S.LIST):
        if isinstance(v, bool):
            return None, "holds TRUE/FALSE, not text"
        if isinstance(v, _DATES):
            return None, "holds a date, not text"
        if isinstance(v, float):
            if not math.isfinite(v):
                return None, "is not valid text"
            v = str(int(v)) if v.is_integer() else str(v)
        text = str(v).strip()
        if col.name not in FREE_TEXT and _CONTROL.search(text):
            return None, control_problem(text)
        if kind == S.ENUM:
            low = text.lower()
            for c in col.choices:
                if c.lower() == low:
                    return c, None
            return None, "is not one of the allowed words" + did_you_mean(text, col.choices)
        if kind == S.LIST:
            return tuple(p.strip() for p in text.split(",") if p.strip()), None
        return text, None
    if kind == S.YN:
        if isinstance(v, bool):
            return v, None
        if isinstance(v, float) and math.isfinite(v) and v.is_integer():
            v = int(v)
        low = str(v).strip().lower()
        if low in S.YES_WORDS:
            return True, None
        if low in S.NO_WORDS:
            return False, None
        return None, "is not Y or N"
    x = _to_number(v)
    if isinstance(x, str):
        return None, x
    if not math.isfinite(x):
        return None, "is not a finite number"
    if abs(x) > MAX_ABS_NUMBER:
        return None, f"is too large to be meant (more than {MAX_ABS_NUMBER:g} in size)"
    if kind in (S.INTEGER, S.YEAR):
        if not x.is_integer():
            return None, "is not a whole number"
        x = int(x)
    if kind == S.YEAR and col.min is None and not (YEAR_RANGE[0] <= x <= YEAR_RANGE[1]):
        return None, "is not a plausible year"
    why = _range_problem(col, x)
    return (None, why) if why else (x, None)


def parser(col: S.Column) -> Callable[[Any], tuple[Any, str | None]]:
    """`parse_value` for one column, with a fast path for the common valid cell (same results)."""
    kind = col.kind
    slow = partial(parse_value, col)
    if kind == S.TEXT:
        def text(v: Any) -> tuple[Any, str | None]:
            if type(v) is str and not v.startswith("#") and not _CONTROL.search(v):
                return v.strip(), None
            return slow(v)
        return text
    if kind == S.ENUM:
        words = {c.lower(): c for c in col.choices}

        def enum(v: Any) -> tuple[Any, str | None]:
            hit = words.get(v.strip().lower()) if type(v) is str else None
            return (hit, None) if hit is not None else slow(v)
        return enum
    if kind == S.YN:
        return lambda v: (True, None) if v in ("Y", "y") else (False, None) if v in ("N", "n") else slow(v)
    if kind not in (S.NUMBER, S.INTEGER, S.YEAR):
        return slow
    lo, hi, lo_open, hi_open, whole = _bounds(col)

    def number(v: Any) -> tuple[Any, str | None]:
        if type(v) is float or type(v) is int:
            x = float(v)
            if (lo < x or (x == lo and not lo_open)) and (x < hi or (x == hi and not hi_open)) and (not whole or x.is_integer()):
                return (int(x) if whole else x), None
        return slow(v)
    return number


def _bounds(col: S.Column) -> tuple[float, float, bool, bool, bool]:
    """(lo, hi, lo_open, hi_open, whole) of a numeric column: a number inside them is valid as it is."""
    lo = -MAX_ABS_NUMBER if col.min is None else col.min
    hi = MAX_ABS_NUMBER if col.max is None else col.max
    if col.kind == S.YEAR and col.min is None:
        lo, hi = YEAR_RANGE
    return lo, hi, col.min_open, col.max_open, col.kind != S.NUMBER


def parse_column(col: S.Column, cells: list) -> tuple[list, dict[int, str]]:
    """`parse_value` for a whole column: the typed values (None where blank or unreadable) and the problem of
    each unreadable cell by position. Same results as cell by cell; a column whose cells are all of the usual
    kind (clean text, numbers within the column's range, a few distinct words) is converted at once."""
    kinds = set(map(type, cells))
    kinds.discard(type(None))
    if not kinds:
        return [None] * len(cells), {}
    if kinds == {str} and col.kind == S.TEXT:
        typed = _clean_text(cells)
    elif kinds <= {float, int} and col.kind in (S.NUMBER, S.INTEGER, S.YEAR):
        typed = _clean_numbers(col, cells)
    elif kinds == {str} and col.kind in (S.ENUM, S.YN, S.LIST):
        return _by_distinct_word(col, cells)
    else:
        typed = None
    if typed is not None:
        return typed, {}
    parse = parser(col)
    typed, problems = [], {}
    for k, v in enumerate(cells):
        x, why = (None, None) if v is None else parse(v)
        typed.append(x)
        if why:
            problems[k] = why
    return typed, problems


def _clean_text(cells: list) -> list | None:
    """The trimmed text of a column of text cells, or None when any cell might be an error, a formula's text or
    hold a control character (those go cell by cell)."""
    joined = "".join(filter(None, cells))
    if "#" in joined or _CONTROL.search(joined):
        return None
    return [v if v is None else v.strip() for v in cells] if None in cells else list(map(str.strip, cells))


def _clean_numbers(col: S.Column, cells: list) -> list | None:
    """The values of a column of numbers when every one is finite, whole where it must be and within the
    column's range; None otherwise (then they go cell by cell)."""
    blanks = None in cells
    xs = list(map(float, [v for v in cells if v is not None] if blanks else cells))
    lo, hi, lo_open, hi_open, whole = _bounds(col)
    if not math.isfinite(sum(xs)):
        return None  # an infinity or NaN somewhere
    least, most = min(xs), max(xs)
    if not ((lo < least or (least == lo and not lo_open)) and (most < hi or (most == hi and not hi_open))):
        return None
    if whole:
        if not all(map(float.is_integer, xs)):
            return None
        xs = list(map(int, xs))
    elif set(map(type, cells)) <= {float, type(None)}:
        return list(cells)  # already the floats they stand for, blanks and all
    if not blanks:
        return xs
    it = iter(xs)
    return [None if v is None else next(it) for v in cells]


def _by_distinct_word(col: S.Column, cells: list) -> tuple[list, dict[int, str]]:
    """A column of words (allowed words, Y/N, lists): each distinct text is parsed once."""
    parse = parser(col)
    answer = {v: parse(v) for v in set(cells) if v is not None}
    if not any(why for _, why in answer.values()):  # every word reads: map the column at once
        value = {v: x for v, (x, _) in answer.items()}
        value[None] = None
        return list(map(value.__getitem__, cells)), {}
    typed, problems = [], {}
    for k, v in enumerate(cells):
        if v is None:
            typed.append(None)
            continue
        x, why = answer[v]
        typed.append(x)
        if why:
            problems[k] = why
    return typed, problems
