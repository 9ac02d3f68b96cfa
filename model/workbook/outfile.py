"""Writing output files safely: shared by every command that writes a workbook.

- `check_output` runs before any long work: it refuses to write over an input
  of the case, refuses to replace an existing output unless forced, and makes
  sure the folder can be written to, so no solve is wasted on a path that
  cannot take the result.
- `atomic_write` writes to a temporary file in the target folder, flushes it
  to disk and puts it in place (a hard link, or `os.replace` with --force): a
  failed run never leaves a half-written file, an existing file is replaced
  whole or not at all, and a file that appeared meanwhile is never replaced
  without --force.
- `safe_value` and `out_cell` turn data into cell values; text that starts
  with '=', '+', '-' or '@' is stored as text, never as a live formula.
"""

from __future__ import annotations

import errno
import math
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from model.problems import RunError

FORMULA_START = ("=", "+", "-", "@")
MAX_CELL_TEXT = 32_767  # Excel's limit on the characters in one cell
TEMP_PREFIX = ".~minplan-"  # temporary files start with this, in the target folder
MAX_NAME_BYTES = 255  # the longest file name common file systems take
MAX_STEM = 150  # file names minplan makes from free text are cut to this, leaving room for suffixes
BOLD = Font(bold=True)
placed: list[Path] = []  # every file this process has put in place, in order: a command knows its result stands


# ---------------------------------------------------------------- before the work


def check_output(out: str | Path, inputs: Iterable[str | Path] = (), force: bool = False, suffix: str = ".xlsx") -> Path:
    """Check that `out` may be written, before any long work; return it resolved.

    Raises RunError when `out` is one of `inputs` (compared as resolved paths
    and, when both exist, as the same file on disk), when it exists and
    `force` is false (a symbolic link to nothing counts: it is not followed),
    when it is a folder, when its name does not end in `suffix` or is longer
    than file systems allow, or when its folder cannot be created or written
    to. Creates nothing: a missing folder is made when the file is written.
    """
    out = resolved(out, "output")
    for inp in inputs:
        if _same_file(out, Path(inp)):
            raise RunError(f"refusing to write the result over {inp}, an input of the case; choose another output file (-o)")
    if suffix and out.suffix.lower() != suffix:
        raise RunError(f"the output {out.name} must be a {suffix} file; give a name ending in {suffix}")
    if out.is_dir():
        raise RunError(f"the output {out} is a folder; give a file name ending in {suffix}")
    if out.exists() and not force:
        raise RunError(f"{out} already exists; add --force to replace it, or choose another output file (-o)")
    folder = out.parent
    while not folder.exists():
        if folder.is_symlink():
            raise RunError(f"the folder {folder} is a symbolic link to nothing; minplan does not follow it: "
                           "choose another output file (-o)")
        folder = folder.parent
    if not folder.is_dir():
        raise RunError(f"cannot create the folder {out.parent}: {folder} is a file, not a folder")
    _probe_folder(folder)
    if out.exists():
        _probe_replaceable(out)
    return out


def resolved(path: str | Path, what: str) -> Path:
    """`path` with ~ expanded and links resolved; RunError for a home folder that does not exist, a loop of
    symbolic links, or a symbolic link to nothing (which would create its target)."""
    raw = Path(path)
    try:
        raw = raw.expanduser()
    except RuntimeError:
        raise RunError(f"the {what} {path} starts with {raw.parts[0]}, the home folder of a user this computer "
                       "does not know; write the full path") from None
    for part in raw.parts:
        if len(os.fsencode(part)) > MAX_NAME_BYTES:
            raise RunError(f"the {what} name {part[:40]}... is {len(part)} characters long, more than file systems "
                           f"allow ({MAX_NAME_BYTES} bytes); choose a shorter name")
    if raw.is_symlink() and not raw.exists():
        try:
            raw.resolve(strict=True)
        except FileNotFoundError:
            pass
        except (RuntimeError, OSError):
            raise RunError(f"the {what} {raw} is a loop of symbolic links; choose another path") from None
        raise RunError(f"the {what} {raw} is a symbolic link to {os.readlink(raw)}, which does not exist; "
                       "minplan does not follow it: remove the link or choose another output file (-o)")
    try:
        return raw.resolve()
    except (RuntimeError, OSError) as exc:  # Python 3.11 reports a loop of links as RuntimeError
        raise RunError(f"the {what} {raw} cannot be resolved ({exc.strerror if isinstance(exc, OSError) else exc}): "
                       "a loop of symbolic links? choose another path") from None


def _same_file(a: Path, b: Path) -> bool:
    a, b = a.expanduser().resolve(), b.expanduser().resolve()
    if a == b or os.path.normcase(str(a)) == os.path.normcase(str(b)):
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _probe_folder(folder: Path) -> None:
    """Create and remove a temporary file: the only sure test that the folder takes new files."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".probe", dir=folder)
    except OSError as exc:
        raise RunError(_folder_message(folder, exc)) from None
    os.close(fd)
    os.unlink(tmp)


def _probe_replaceable(out: Path) -> None:
    """An existing output held open by another program (Excel on Windows) cannot be replaced: say so now."""
    try:
        with open(out, "r+b"):
            pass
    except PermissionError:
        raise RunError(f"{out} is open in another program or read-only; close it (in Excel) and run again") from None
    except OSError as exc:
        raise RunError(f"cannot replace {out}: {exc.strerror or exc}") from None


def _folder_message(folder: Path, exc: OSError) -> str:
    if isinstance(exc, PermissionError) or exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"cannot write in the folder {folder}: it is read-only or you lack permission; choose another output file (-o)"
    if exc.errno == errno.ENOSPC:
        return f"the disk holding {folder} is full"
    return f"cannot write in the folder {folder}: {exc.strerror or exc}"


# ---------------------------------------------------------------- the write itself


def atomic_write(out: str | Path, write: Callable[[Path], None], force: bool = True) -> Path:
    """Call `write(tmp)` on a temporary file beside `out`, make it durable, then put it in place.

    With `force` an existing `out` is replaced whole (`os.replace`); without, the file is placed with a hard link,
    which fails if a file appeared at `out` meanwhile (another run writing the same output): nothing is replaced
    then. The file and its folder are flushed to disk first, so a power loss leaves the old file or the new one.
    On any failure the temporary file is removed and `out` is left as it was; OS errors become a RunError with a
    plain message. A missing folder is created here, when there is something to write.
    """
    out = Path(out)
    make_folder(out.parent)
    tmp = _new_temp(out)
    try:
        try:
            write(tmp)
            _fsync(tmp)
        except OSError as exc:  # disk full, file system gone: a planner's message, not a traceback
            raise RunError(f"cannot write {out}: {exc.strerror or exc}; nothing was written") from None
        _place(tmp, out, force)
        _fsync(out.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def make_folder(folder: Path) -> None:
    """Create `folder` and its parents; RunError with a plain message when it cannot be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create the folder {folder}: {exc.strerror or exc}") from None


@contextmanager
def temporary_folder(out: str | Path) -> Iterator[Path]:
    """A private folder beside `out` that holds every temporary file of the write (openpyxl streams a write-only
    workbook's sheets to temporary files): removed at the end, so an interrupted write leaves nothing in $TMPDIR."""
    out = Path(out)
    make_folder(out.parent)
    try:
        folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=out.parent))
    except OSError as exc:
        raise RunError(_folder_message(out.parent, exc)) from None
    saved = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = saved
        shutil.rmtree(folder, ignore_errors=True)


def _fsync(path: Path) -> None:
    """Flush a file, or a folder's entries, to the disk (folders cannot be opened so on Windows: skipped)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        if path.is_dir():
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not path.is_dir():  # some file systems refuse fsync on a folder: the file itself is on disk
            raise
    finally:
        os.close(fd)


def _new_temp(out: Path) -> Path:
    """An empty new file beside `out`, readable as the umask allows (mkstemp's files are private to the owner)."""
    for _ in range(100):
        tmp = out.parent / f"{TEMP_PREFIX}{secrets.token_hex(6)}{out.suffix}"
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return tmp
        except FileExistsError:
            continue
        except OSError as exc:
            raise RunError(_folder_message(out.parent, exc)) from None
    raise RunError(f"cannot create a temporary file in {out.parent}")


def _place(tmp: Path, out: Path, force: bool) -> None:
    appeared = (f"{out} appeared while minplan was writing it (another run writing the same output?); it was left "
                "as it is and nothing was written: choose another output file (-o), or add --force to replace it")
    try:
        if force:
            os.replace(tmp, out)
            placed.append(out)
            return
        try:
            os.link(tmp, out)  # fails if `out` exists, at the moment of placing: no check-then-rename race
        except FileExistsError:
            raise RunError(appeared) from None
        except OSError:  # a file system without hard links (FAT, some network shares): check, then rename
            if os.path.lexists(out):
                raise RunError(appeared) from None
            os.replace(tmp, out)
        placed.append(out)
    except PermissionError:
        raise RunError(f"{out} is open in another program or read-only; close it (in Excel) and run again; "
                       "nothing was written") from None
    except OSError as exc:
        raise RunError(f"cannot write {out}: {exc.strerror or exc}; nothing was written") from None


# ---------------------------------------------------------------- cell values


def safe_value(value: Any) -> Any:
    """A value openpyxl can store and Excel can open: no NaN, no illegal characters, lists as text."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        value = ", ".join(str(v) for v in value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalar -> Python
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if len(value) > MAX_CELL_TEXT:
            value = value[: MAX_CELL_TEXT - 1] + "…"
    elif value is not None and not isinstance(value, (bool, int, float)):
        if _is_missing(value):
            return None
        if not hasattr(value, "isoformat"):
            value = str(value)
    return value


def _is_missing(value: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def is_formula_like(value: Any) -> bool:
    """True for text Excel would read as a formula if typed in."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def out_cell(ws, value: Any, number_format: str | None = None, bold: bool = False) -> WriteOnlyCell:
    """A write-only cell holding `value` safely: formula-like text is stored as text."""
    value = safe_value(value)
    cell = WriteOnlyCell(ws, value=value)
    if is_formula_like(value):
        cell.data_type = "s"
    if number_format and isinstance(value, (int, float)) and not isinstance(value, bool):
        cell.number_format = number_format
    if bold:
        cell.font = BOLD
    return cell


def file_name(text: str, default: str = "result") -> str:
    """A file name made from free text (a case name): letters, digits, '.', '-', '_' and spaces only."""
    name = re.sub(r"[^\w.\- ]+", "_", str(text)).strip(" .")
    return name[:MAX_STEM].rstrip(" .") or default
