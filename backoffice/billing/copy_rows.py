"""Rows for PostgreSQL's ``COPY ... FROM STDIN``, the fastest way it takes rows: CSV fields,
the text format's special characters, and a stream that renders rows while the server parses."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

_CSV_SPECIAL = re.compile(r'[,"\n\r\\]')


def csv_text(value: str) -> str:
    """``value`` as one CSV field (quoted only when it must be)."""
    if not value or _CSV_SPECIAL.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_row(values: Sequence[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(values)
    return buffer.getvalue()


# What COPY's text format would read as an escape, a column or a row break.
COPY_TEXT_SPECIAL = re.compile(r"[\\\t\n\r]")


class _RowStream:
    """A file whose ``read`` renders the next rows on demand: while PostgreSQL parses one block
    of a COPY, Python renders the next (two cores at work instead of one, then the other)."""

    def __init__(self, rows: Iterable[str]) -> None:
        self._rows = iter(rows)

    def read(self, size: int = -1) -> str:
        parts: list[str] = []
        length = 0
        for row in self._rows:
            parts.append(row)
            length += len(row)
            if 0 <= size <= length:
                break
        return "".join(parts)


def copy_rows(
    cursor: object, table: str, columns: list[str], rows: Iterable[str], *, text_format: bool = False
) -> None:
    """``COPY table (columns) FROM STDIN`` of CSV ``rows`` (or of COPY's tab-separated text
    format), each row ending in a newline, rendered as the server asks for more."""
    quoted = ", ".join(f'"{column}"' for column in columns)
    options = "" if text_format else " WITH (FORMAT csv, NULL '\\N')"
    cursor.copy_expert(  # type: ignore[attr-defined]
        f'COPY "{table}" ({quoted}) FROM STDIN{options}',
        _RowStream(rows),
        1 << 16,  # size, by position
    )
