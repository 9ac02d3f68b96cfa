"""Write docs/schema.md from the schema declarations: `python docs/make_schema.py`.

The case schema is written once, in model/case/schema.py; this page is generated
from it, and tests/test_docs.py fails when the page is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from model.case.schema import schema_markdown

PAGE = Path(__file__).with_name("schema.md")
INTRO = """# Case workbook schema

Generated from `model/case/schema.py` by `python docs/make_schema.py`; do not edit by hand.
One header row per sheet, one record per row. Every sheet may also carry `source` and
`note` columns (kept with the row and shown in the result's Inputs sheets) and, in a case
that inherits from a base, a `delete` column (Y removes the base's row with the same key).
Settings, Regions, Materials, Demand and Projects are required; any other sheet may be absent.

"""


def page() -> str:
    """The whole page, as it should be on disk."""
    return INTRO + schema_markdown() + "\n"


if __name__ == "__main__":
    PAGE.write_text(page(), encoding="utf-8")
    print(PAGE)
