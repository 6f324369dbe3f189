"""A zip-based file (.docx) checked from its central directory before any part is unpacked:
the number of entries, each entry's and all entries' unpacked size, each large entry's
compression ratio. Python's zipfile never returns more than an entry's declared size (a
stream that inflates further fails its CRC), so the declared sizes bound the real work."""

import io
import zipfile

from ..errors import CorruptDocumentError, UnpackLimitError
from .limits import RATIO_FLOOR_BYTES


def check_zip(path, raw, limits):
    """UnpackLimitError for a zip that would unpack beyond `limits`; CorruptDocumentError for no zip."""
    try:
        entries = zipfile.ZipFile(io.BytesIO(raw)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise CorruptDocumentError(path, f"not a zip file ({exc})", cause="not_zip") from exc
    if len(entries) > limits.entries:
        raise UnpackLimitError(path, "entries", len(entries), limits.entries)
    total = 0
    for entry in entries:
        if entry.file_size > limits.entry_bytes:
            raise UnpackLimitError(path, "entry", entry.file_size, limits.entry_bytes, entry.filename)
        if entry.file_size > RATIO_FLOOR_BYTES and entry.file_size > limits.ratio * max(entry.compress_size, 1):
            raise UnpackLimitError(path, "ratio", round(entry.file_size / max(entry.compress_size, 1)), limits.ratio, entry.filename)
        total += entry.file_size
        if total > limits.unpacked_bytes:
            raise UnpackLimitError(path, "unpacked", total, limits.unpacked_bytes)
