"""A table as readable lines, one per row, in the shape the segmenter gives flattened tables."""

from . import squeeze

HEADER_CELL_CHARS = 15


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
        parts = [f"{label} {value}" if label else value for label, value in zip(labels, row[1:]) if value]
        if row[0] and parts:
            lines.append(f"{row[0]}: " + ", ".join(parts))
        else:
            lines.append(row[0] or ", ".join(parts))
    return lines


def _is_header(row):
    return len(row) >= 2 and all(cell and len(cell) <= HEADER_CELL_CHARS and cell[-1] not in "。；;，," for cell in row)
