"""The result workbook: writing, manifest, charts, reading back, and comparing result workbooks."""
