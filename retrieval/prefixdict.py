"""jieba's prefix dictionary saved in shards by first character, loaded only as texts need them.

A plain `jieba.Tokenizer` unmarshals its whole prefix dictionary (~500k words and prefixes,
0.2-1 s) before its first cut, which is most of a one-question process. Every key jieba looks up
while cutting a text is a substring of that text, so a tokenizer that, before cutting, loads the
shards of the characters the text contains gives exactly the same tokens while a process that
answers one question reads a few dozen small shards.

File layout: MAGIC, 8-byte little-endian header length, marshal((total, {char: (offset,
length)})), then the marshalled shard dicts. It is written whole to a temporary file and
renamed, and its name carries the analyzer fingerprint (jieba version + data files), so it is
never read for another dictionary.
"""

import marshal
import mmap
import os
import sys
import threading
from pathlib import Path

MAGIC = b"jieba-prefix-shards-1\n"


def import_jieba():
    """`import jieba` without pkg_resources.

    jieba 0.42 imports pkg_resources (~0.06-0.1 s) only to open its bundled files; when that import
    fails it opens them beside its own __init__.py, the same files.
    """
    if "jieba" in sys.modules or "pkg_resources" in sys.modules:
        import jieba

        return jieba
    sys.modules["pkg_resources"] = None  # makes `import pkg_resources` raise ImportError
    try:
        import jieba
    finally:
        del sys.modules["pkg_resources"]
    return jieba


jieba = import_jieba()


class ShardedTokenizer(jieba.Tokenizer):
    """A jieba tokenizer whose prefix dictionary fills in shard by shard from a saved file."""

    def __init__(self, blob, total, shards):
        super().__init__()
        self.FREQ = {}
        self.total = total
        self.initialized = True  # jieba's own check_initialized must not load its dictionary
        self._blob = blob
        self._shards = shards  # first character -> (offset, length) in blob
        self._pending = set(shards)
        self._lock = threading.Lock()

    def get_DAG(self, sentence):
        # jieba calls get_DAG for every block before any lookup in it (cut, cut_for_search,
        # tokenize, suggest_freq), and each lookup key is a substring of the block.
        self._load([ch for ch in set(sentence) if ch in self._pending])
        return super().get_DAG(sentence)

    def load_all(self):
        """Load every shard now (a long-running service), not on first use."""
        self._load(list(self._pending))

    def _load(self, wanted):
        pending = self._pending
        if wanted:
            with self._lock:
                for ch in wanted:
                    if ch in pending:
                        offset, length = self._shards[ch]
                        self.FREQ.update(marshal.loads(self._blob[offset : offset + length]))
                        pending.discard(ch)


def cache_path(cache_dir, fingerprint):
    """Where the shards of the dictionary with this analyzer fingerprint live."""
    return Path(cache_dir) / f"jieba-{fingerprint}.shards"


def open_sharded(path):
    """A ShardedTokenizer over the file at path, or None when it is missing or unreadable."""
    try:
        with open(path, "rb") as f:
            blob = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if blob[: len(MAGIC)] != MAGIC:
            return None
        start = len(MAGIC) + 8
        header_length = int.from_bytes(blob[len(MAGIC) : start], "little")
        total, shards, body_length = marshal.loads(blob[start : start + header_length])
        if start + header_length + body_length != len(blob):
            return None
    except (OSError, ValueError, EOFError, TypeError):
        return None
    base = start + header_length
    return ShardedTokenizer(blob, total, {ch: (base + offset, length) for ch, (offset, length) in shards.items()})


def save_sharded(path, tokenizer):
    """Save an initialized tokenizer's prefix dictionary at path (atomically), dropping stale ones."""
    path = Path(path)
    by_char = {}
    for word, freq in tokenizer.FREQ.items():
        by_char.setdefault(word[0], {})[word] = freq
    parts, shards, offset = [], {}, 0
    for ch, entries in by_char.items():
        data = marshal.dumps(entries)
        shards[ch] = (offset, len(data))
        parts.append(data)
        offset += len(data)
    header = marshal.dumps((tokenizer.total, shards, offset))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC + len(header).to_bytes(8, "little") + header)
            f.writelines(parts)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    for old in path.parent.glob("jieba-*.shards"):
        if old != path:
            old.unlink(missing_ok=True)
