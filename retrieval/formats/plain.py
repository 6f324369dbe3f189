"""Markdown and plain text: kept as written (UTF-8; a GB18030 text file is re-encoded)."""

import re

from ..errors import CorruptDocumentError
from . import Block, Converted, squeeze

_HEADING = re.compile(r"^(#{1,6})\s+(.+)$")


def read(path, raw, rules, limits):
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise CorruptDocumentError(path, "neither UTF-8 nor GB18030 text", cause="encoding")
    if "\x00" in text:
        raise CorruptDocumentError(path, "binary data, not text", cause="binary")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = []
    for line in text.split("\n"):
        heading = _HEADING.match(line.strip()) if path.suffix.lower() == ".md" else None
        if heading:
            blocks.append(Block("heading", squeeze(heading.group(2)), len(heading.group(1))))
        elif line.strip() and not re.match(r"^\s*<!--.*-->\s*$", line):
            blocks.append(Block("paragraph", squeeze(line)))
    return Converted("markdown" if path.suffix.lower() == ".md" else "text", tuple(blocks), verbatim=text if text.endswith("\n") else text + "\n")
