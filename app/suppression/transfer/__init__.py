"""The whole suppression list in and out as CSV or NDJSON, streamed in batches.

Layers, each importing only the ones below it:
- formats: columns.py (the formats, the export's column order, the names a header may
  give them, the formula guard on CSV cells); lines.py (bytes to numbered lines, any
  line ending, bytes that are not UTF-8); csv_format.py, ndjson_format.py (each format
  read line by line, and written; csv_out.py writes CSV);
- rows: rows.py (one line's values checked and made into the entry to write); seen.py
  (the addresses an import has taken so far, packed);
- the pipelines: importing.py (the file in, batch after batch), writing.py (one batch:
  which lines are new, replaced or unchanged), exporting.py (the list out);
- below them, app.suppression.bulk_store writes and reads the entries in bulk, through
  each dialect's fastest way (app.suppression.pg_bulk on PostgreSQL).
"""

from app.suppression.transfer.columns import COLUMNS, FORMATS, MEDIA_TYPES, Format
from app.suppression.transfer.exporting import EXPORT_BATCH, Progress, export
from app.suppression.transfer.importing import (
    MAX_REJECTED,
    ImportInterrupted,
    ImportResult,
    import_,
)
from app.suppression.transfer.lines import MAX_LINE

__all__ = [
    "COLUMNS",
    "EXPORT_BATCH",
    "FORMATS",
    "MAX_LINE",
    "MAX_REJECTED",
    "MEDIA_TYPES",
    "Format",
    "ImportInterrupted",
    "ImportResult",
    "Progress",
    "export",
    "import_",
]
