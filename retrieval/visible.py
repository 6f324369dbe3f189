"""What a reader cannot see taken out of a title or a file name: bidi embeddings, overrides and
isolates (U+202A-202E, U+2066-2069), zero-width characters and marks (U+200B-200F), the BOM
(U+FEFF), C0 and C1 controls, line and paragraph separators: Unicode categories Cc, Cf, Zl, Zp.
Otherwise 测试办法 with U+202E before it is shown reversed and names a file it does not look like."""

import unicodedata

_HIDDEN = frozenset(("Cc", "Cf", "Zl", "Zp"))


def visible(text, keep=""):
    """`text` without the characters of the categories above (but those in `keep`, e.g. "\\n\\t")."""
    return "".join(c for c in text if c in keep or unicodedata.category(c) not in _HIDDEN)
