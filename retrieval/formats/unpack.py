"""Compressed files checked before a parser unpacks them.

A zip-based file (.docx) from its central directory before any part is unpacked: the number of
entries, each entry's and all entries' unpacked size, each large entry's compression ratio.
Python's zipfile never returns more than an entry's declared size (a stream that inflates further
fails its CRC), so the declared sizes bound the real work.

A PDF declares no unpacked sizes, and pdfminer inflates each stream whole: a 1.5 MB file whose
one page unpacks to 1.5 GB took 3 GB of memory (fifth attack). So each /FlateDecode stream is
inflated here first, a MB at a time and thrown away, only to count: the work stops at the first
limit passed, so it is bounded by the limits, not by the file."""

import io
import re
import zlib
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


_STREAM = re.compile(rb"(?<!end)stream(?:\r\n|\n|\r)")
_FLATE = re.compile(rb"/(?:FlateDecode|Fl)\b")
_STEP = 1 << 20  # bytes inflated at a time, then counted and dropped


def check_pdf(path, raw, limits):
    """UnpackLimitError (kind "pdf") for a PDF whose Flate streams would inflate beyond `limits`:
    one stream (entry), all of them (unpacked), or a large one's ratio. A damaged stream is
    left to the parser, which refuses the file in its own words."""
    total = 0
    for match in _STREAM.finditer(raw):
        start = raw.rfind(b" obj", max(0, match.start() - 4096), match.start())
        if not _FLATE.search(raw, start if start >= 0 else max(0, match.start() - 512), match.start()):
            continue
        inflater, out, pos = zlib.decompressobj(), 0, match.end()
        try:
            while not inflater.eof and pos < len(raw):
                pending = raw[pos:pos + _STEP]
                pos += len(pending)
                while pending and not inflater.eof:
                    out += len(inflater.decompress(pending, _STEP))
                    pending = inflater.unconsumed_tail
                    if out > limits.entry_bytes:
                        raise UnpackLimitError(path, "entry", out, limits.entry_bytes, f"stream at byte {match.end()}", kind="pdf")
                    if total + out > limits.unpacked_bytes:
                        raise UnpackLimitError(path, "unpacked", total + out, limits.unpacked_bytes, kind="pdf")
        except zlib.error:
            continue  # not a zlib stream after all, or damaged: the parser's to refuse
        packed = pos - match.end() - len(inflater.unused_data)
        if out > RATIO_FLOOR_BYTES and out > limits.ratio * max(packed, 1):
            raise UnpackLimitError(path, "ratio", round(out / max(packed, 1)), limits.ratio, f"stream at byte {match.end()}", kind="pdf")
        total += out
