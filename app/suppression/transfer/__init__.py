"""The whole suppression list in and out as CSV or NDJSON, streamed in batches.

- columns.py: the formats, the columns and the names a header may give them, the
  formula guard on CSV cells;
- lines.py: bytes to numbered lines (any line ending, bytes that are not UTF-8);
- csv_format.py, ndjson_format.py: each format read line by line, and written;
- rows.py: one line's values checked and made into a row;
- exporting.py, importing.py, writing.py: the list out, in, and one batch written;
- driver.py: asyncpg used directly for speed (the export's reads, COPY).
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
