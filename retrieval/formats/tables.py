"""A table as readable lines, one per row, in the shape the segmenter gives flattened tables."""

import re

from . import squeeze

HEADER_CELL_CHARS = 15
_UNIT = re.compile(r"^(.+?)\s*[(（]([^()（）]{1,6})[)）]$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


def row_lines(rows):
    """`first cell: header value, header value` per row when the first row is a header row;
    `first cell: value, value` otherwise; a one-column table is its cells."""
    rows = [[squeeze(c) for c in row] for row in rows]
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    if max(len(row) for row in rows) == 1:
        return [row[0] for row in rows]
    header = rows[0] if len(rows) > 1 and _is_header(rows[0]) else None
    lines = []
    for row in rows[1:] if header else rows:
        labels = header[1:] if header else [""] * (len(row) - 1)
        parts = [_cell(label, value) for label, value in zip(labels, row[1:]) if value]
        if row[0] and parts:
            lines.append(f"{row[0]}: " + ", ".join(parts))
        else:
            lines.append(row[0] or ", ".join(parts))
    return lines


def _cell(label, value):
    """`资助金额 5000元` for a header `资助金额（元）` over a number; else `label value`."""
    unit = _UNIT.match(label)
    if unit and _NUMBER.match(value):
        return f"{unit.group(1)} {value}{unit.group(2)}"
    return f"{label} {value}" if label else value


def _is_header(row):
    return len(row) >= 2 and all(cell and len(cell) <= HEADER_CELL_CHARS and cell[-1] not in "。；;，," for cell in row)
