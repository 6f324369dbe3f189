"""The SQLite store: documents, passages, cached tokens, built BM25 indexes and build metadata.

This is the only module that touches SQLite: sqlite-utils writes it, plain sqlite3 reads it
(importing sqlite-utils would cost a one-shot `ask` ~0.08 s). A build is written to a temporary
file beside the live one and renamed over it, so readers never see a half-written store.
"""

import json
import os
import re
import sqlite3
import time
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .errors import StoreError, StoreWriteError

# 3: the `indexes` table (built BM25 matrices, so loading never recomputes weights) and the
# `faq` table (the FAQ entries this build was made with).
# 4: the question-index fields (q_words, q_bigrams), passages' `questions`, and `extras`
# (the homophone table of the build).
# 5: index arrays and extras in bounded chunks (`index_chunks`, `extras`), so no row holds a
# whole field: one row per field passed SQLite's 1 GB limit at ~0.9M passages.
# 6: documents' validity (effective_from, effective_to, superseded_by) and citation fields
# (order, revised, year).
SCHEMA_VERSION = "6"
TABLES = ("build", "documents", "passages", "tokens", "indexes", "index_chunks", "faq", "extras")
# Saved index arrays: explicit little-endian dtypes so a store reads the same on any machine.
_INDEX_DTYPES = {"indptr": "<i8", "indices": "<i4", "data": "<f8"}
# Bytes per saved chunk of an index array or extra: far below SQLite's 1 GB row limit, large
# enough that a field at 1M passages is a few dozen rows.
CHUNK_BYTES = 16 << 20


def write(path, documents, passages, tokens, metadata, indexes=None, faq=(), extras=None, chunk_bytes=CHUNK_BYTES):
    """Write a complete store to `path` atomically (temp file + rename).

    `indexes`: {field: (terms, indptr, indices, data, n_docs)}, as `BM25Index.parts()` gives.
    `faq`: the FAQ entries of this build as plain dicts, so a store serves the FAQ it was built
    with (a rollback, or another process loading it, never mixes builds).
    `chunk_bytes`: the most bytes one row of an index array or an extra holds.
    """
    import sqlite_utils  # only building needs it; reading uses sqlite3 and starts faster

    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    db = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(path)
        tmp.unlink(missing_ok=True)
        db = sqlite_utils.Database(tmp)
        db["documents"].insert_all(documents, pk="id")
        db["passages"].insert_all(passages, pk="id", foreign_keys=[("doc_id", "documents", "id")])
        db["passages"].create_index(["doc_id"])
        db["tokens"].insert_all(
            ({"content_hash": h, "words": json.dumps(w, ensure_ascii=False), "bigrams": json.dumps(b, ensure_ascii=False)} for h, (w, b) in tokens.items()),
            pk="content_hash",
        )
        _write_indexes(db.conn, indexes or {}, chunk_bytes)
        db["faq"].create({"seq": int, "id": str, "entry": str}, pk="seq")
        db["faq"].insert_all({"seq": n, "id": e["id"], "entry": json.dumps(e, ensure_ascii=False)} for n, e in enumerate(faq))
        _write_extras(db.conn, extras or {}, chunk_bytes)
        meta = dict(metadata, schema_version=SCHEMA_VERSION, built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        db["build"].insert_all(({"key": k, "value": str(v)} for k, v in meta.items()), pk="key")
        db.conn.commit()
        db.close()
        db = None
        os.replace(tmp, path)
        return meta
    except (OSError, sqlite3.Error) as exc:  # disk full, read-only, a directory in the way...
        raise StoreWriteError(path, reason(exc)) from exc
    finally:
        if db is not None:
            db.close()  # an open handle would keep the unlinked temp file's blocks in use
        tmp.unlink(missing_ok=True)


def reason(exc):
    """The OS or SQLite message of an error, without Python's decoration."""
    return getattr(exc, "strerror", None) or str(exc)


# A temporary file beside the store, named with the id of the process writing it:
# .store.db.123.tmp (a build), ..store.db.next.123.tmp (a reload's staging build),
# .store.db.prev.123.tmp / .store.db.pin.123.tmp (a swap), .store.db.123.held (a rollback).
_TEMP = re.compile(r"^\.+(?P<name>.+?)(\.next|\.prev|\.pin)?\.(?P<pid>\d+)\.(tmp|held)$")


def remove_stale(path):
    """Delete temporary files beside the store left by processes that died (SIGKILL, power loss).

    A file whose writer is still running is kept, so this is safe without the reload lock.
    Returns the names removed.
    """
    path = Path(path)
    removed = []
    try:
        names = os.listdir(path.parent)
    except OSError:
        return removed
    for name in names:
        match = _TEMP.match(name)
        if match is None or match["name"] != path.name or _alive(int(match["pid"])):
            continue
        try:
            (path.parent / name).unlink()
        except FileNotFoundError:
            continue
        removed.append(name)
    return sorted(removed)


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to another user
        return True
    return True


def read(path):
    """What a serving process needs of the store: (metadata, documents, passages, tokens by
    content hash, FAQ dicts).

    Tokens are not read: they come as a mapping that fetches one passage's token lists from the
    store when asked for (only tests and tools ask; a build reuses them through `cached_tokens`).
    """
    with _open(path) as (db, metadata):
        documents = _rows(db, "select * from documents")
        passages = _rows(db, "select * from passages order by doc_id, seq")
        faq = [json.loads(entry) for (entry,) in db.execute("select entry from faq order by seq")]
    return metadata, documents, passages, LazyTokens(path), faq


def read_extras(path):
    """{key: text} of the build's extra tables (the homophone table, the prepared index questions)."""
    with _open(path) as (db, _):
        keys = [key for (key,) in db.execute("select distinct key from extras order by key")]
        return {key: _read_chunks(db, path, "select value from extras where key = ? order by seq", (key,), None, f"extra {key!r}").decode("utf-8") for key in keys}


def read_indexes(path):
    """The saved BM25 indexes: {field: (terms, indptr, indices, data, n_docs)}."""
    with _open(path) as (db, _):
        return _read_indexes(db, path)


def _read_indexes(db, path):
    out = {}
    for field, n_docs, n_terms, n_postings, terms_bytes in db.execute("select field, n_docs, n_terms, n_postings, terms_bytes from indexes").fetchall():
        sizes = {"terms": terms_bytes, "indptr": (n_terms + 1) * 8, "indices": n_postings * 4, "data": n_postings * 8}
        sql = "select bytes from index_chunks where field = ? and part = ? order by seq"
        parts = {part: _read_chunks(db, path, sql, (field, part), size, f"index {field!r}") for part, size in sizes.items()}
        terms = parts.pop("terms").decode("utf-8")
        terms = terms.split("\n") if n_terms else []
        arrays = [np.frombuffer(parts[name], dtype=dtype) for name, dtype in _INDEX_DTYPES.items()]
        for a in arrays:
            a.flags.writeable = False  # a snapshot's index is never changed after loading
        _check_index(path, field, terms, *arrays, n_docs)
        out[field] = (terms, *arrays, n_docs)
    return out


def _read_chunks(db, path, sql, args, size, what):
    """The chunks a query gives, joined into one buffer of `size` bytes (None: any size) without
    holding the chunks and the whole at once; StoreError when they do not add up."""
    if size is None:
        return b"".join(_blob(chunk, path, what) for (chunk,) in db.execute(sql, args))
    out = bytearray(size)
    at = 0
    for (chunk,) in db.execute(sql, args):
        chunk = _blob(chunk, path, what)
        if at + len(chunk) > size:
            break
        out[at : at + len(chunk)] = chunk
        at += len(chunk)
    else:
        if at == size:
            return out
    raise StoreError(f"store {path}: {what} is damaged: its chunks do not add up to {size} bytes")


def _blob(value, path, what):
    if not isinstance(value, bytes):
        raise StoreError(f"store {path}: {what} is damaged: a chunk is not a blob")
    return value


def _check_index(path, field, terms, indptr, indices, data, n_docs):
    """The shape a saved CSR index must have; a damaged file would otherwise fail at search time."""
    ok = (
        isinstance(n_docs, int)
        and len(indptr) == len(terms) + 1
        and len(indices) == len(data)
        and indptr[0] == 0
        and indptr[-1] == len(indices)
        and bool(np.all(indptr[1:] >= indptr[:-1]))
        and (not len(indices) or (0 <= indices.min() and indices.max() < n_docs))
    )
    if not ok:
        raise StoreError(f"store {path}: index {field!r} is damaged")


class LazyTokens(Mapping):
    """(words, bigrams) token lists by content hash, read from the store one passage at a time.

    A content hash names its tokens in any build, so a lookup after the store was swapped still
    gives the passage's tokens (or KeyError when the newer build no longer has it)."""

    def __init__(self, path):
        self._path = path

    def _query(self, sql, args=()):
        with _open(self._path) as (db, _):
            return db.execute(sql, args).fetchall()

    def __getitem__(self, content_hash):
        rows = self._query("select words, bigrams from tokens where content_hash = ?", (content_hash,))
        if not rows:
            raise KeyError(content_hash)
        words, bigrams = rows[0]
        return json.loads(words), json.loads(bigrams)

    def __contains__(self, content_hash):
        return bool(self._query("select 1 from tokens where content_hash = ?", (content_hash,)))

    def __iter__(self):
        return iter([h for (h,) in self._query("select content_hash from tokens")])

    def __len__(self):
        return self._query("select count(*) from tokens")[0][0]


class StoredTokens(Mapping):
    """(words, bigrams) token lists by content hash, JSON-decoded on first access."""

    def __init__(self, raw):
        self._raw = raw
        self._decoded = {}

    def __getitem__(self, content_hash):
        tokens = self._decoded.get(content_hash)
        if tokens is None:
            words, bigrams = self._raw[content_hash]
            tokens = self._decoded[content_hash] = (json.loads(words), json.loads(bigrams))
        return tokens

    def __contains__(self, content_hash):
        return content_hash in self._raw

    def __iter__(self):
        return iter(self._raw)

    def __len__(self):
        return len(self._raw)


@contextmanager
def _open(path):
    """(read-only connection, metadata) of a complete store of this schema, else StoreError."""
    path = Path(path)
    if not path.exists():
        raise StoreError(f"no store at {path}")
    conn = None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = {name for (name,) in conn.execute("select name from sqlite_master where type = 'table'")}
        missing = [t for t in TABLES if t not in tables]
        if missing:
            raise StoreError(f"store {path} lacks tables: {', '.join(missing)}")
        metadata = dict(conn.execute("select key, value from build"))
        if metadata.get("schema_version") != SCHEMA_VERSION:
            raise StoreError(f"store {path} has schema {metadata.get('schema_version')!r}, expected {SCHEMA_VERSION}")
        yield conn, metadata
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"store {path} is unreadable: {exc}") from exc
    finally:
        if conn is not None:
            conn.close()


def _rows(db, sql):
    cursor = db.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


def _write_indexes(conn, indexes, chunk_bytes=CHUNK_BYTES):
    """One `indexes` row of sizes per field; its terms and arrays as rows of `chunk_bytes` in `index_chunks`."""
    conn.execute("create table indexes (field text primary key, n_docs integer, n_terms integer, n_postings integer, terms_bytes integer)")
    conn.execute("create table index_chunks (field text, part text, seq integer, bytes blob, primary key (field, part, seq))")
    for field, (terms, indptr, indices, data, n_docs) in indexes.items():
        if any("\n" in term for term in terms):
            raise ValueError(f"index {field!r} has a term containing a newline")
        parts = {"terms": memoryview("\n".join(terms).encode("utf-8"))}
        for name, a in (("indptr", indptr), ("indices", indices), ("data", data)):
            parts[name] = memoryview(np.ascontiguousarray(a, dtype=_INDEX_DTYPES[name])).cast("B")
        conn.execute("insert into indexes values (?, ?, ?, ?, ?)", (field, int(n_docs), len(terms), len(parts["data"]) // 8, len(parts["terms"])))
        for part, buffer in parts.items():
            conn.executemany("insert into index_chunks values (?, ?, ?, ?)", ((field, part, seq, chunk) for seq, chunk in _chunks(buffer, chunk_bytes)))


def _write_extras(conn, extras, chunk_bytes):
    conn.execute("create table extras (key text, seq integer, value blob, primary key (key, seq))")
    for key, value in extras.items():
        conn.executemany("insert into extras values (?, ?, ?)", ((key, seq, chunk) for seq, chunk in _chunks(memoryview(value.encode("utf-8")), chunk_bytes)))


def _chunks(buffer, size):
    """(seq, bytes) of consecutive pieces of at most `size` bytes; an empty buffer is one empty
    piece, so an empty extra is still there."""
    if size < 1:
        raise ValueError("chunk_bytes must be at least 1")
    return ((seq, bytes(buffer[at : at + size])) for seq, at in enumerate(range(0, max(len(buffer), 1), size)))


def read_metadata(path):
    """Only the build metadata, or {} when the store is missing or unreadable."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        return {}
    try:
        return dict(conn.execute("select key, value from build"))
    except sqlite3.DatabaseError:
        return {}
    finally:
        conn.close()


def cached_tokens(path):
    """Tokens of a previous build, to avoid re-tokenizing unchanged passages; {} if none."""
    try:
        with _open(path) as (db, _):
            raw = {h: (w, b) for h, w, b in db.execute("select content_hash, words, bigrams from tokens")}
    except StoreError:
        return {}
    return StoredTokens(raw)


def pin_path(path):
    """The file a rollback leaves beside the store: the input hash the restored build stands for."""
    path = Path(path)
    return path.with_name(path.name + ".pin")


def pinned_input_hash(path):
    """The input hash a rollback pinned the store to, or None."""
    try:
        return pin_path(path).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None
