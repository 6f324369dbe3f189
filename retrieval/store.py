"""The SQLite store (sqlite-utils): documents, passages, cached tokens and build metadata.

This is the only module that touches SQLite. A build is written to a temporary file beside the
live one and renamed over it, so readers never see a half-written store.
"""

import json
import os
import sqlite3
import time
from pathlib import Path

import sqlite_utils

from .errors import StoreError

SCHEMA_VERSION = "2"
TABLES = ("build", "documents", "passages", "tokens", "faq")


def write(path, documents, passages, tokens, metadata, faq=()):
    """Write a complete store to `path` atomically (temp file + rename).

    `faq` holds the FAQ entries of this build as plain dicts, so a store serves the FAQ it was
    built with (a rollback, or another process loading it, never mixes builds)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        db = sqlite_utils.Database(tmp)
        db["documents"].insert_all(documents, pk="id")
        db["passages"].insert_all(passages, pk="id", foreign_keys=[("doc_id", "documents", "id")])
        db["passages"].create_index(["doc_id"])
        db["tokens"].insert_all(
            ({"content_hash": h, "words": json.dumps(w, ensure_ascii=False), "bigrams": json.dumps(b, ensure_ascii=False)} for h, (w, b) in tokens.items()),
            pk="content_hash",
        )
        db["faq"].create({"seq": int, "id": str, "entry": str}, pk="seq")
        db["faq"].insert_all({"seq": n, "id": e["id"], "entry": json.dumps(e, ensure_ascii=False)} for n, e in enumerate(faq))
        meta = dict(metadata, schema_version=SCHEMA_VERSION, built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        db["build"].insert_all(({"key": k, "value": str(v)} for k, v in meta.items()), pk="key")
        db.conn.commit()
        db.close()
        os.replace(tmp, path)
        return meta
    finally:
        tmp.unlink(missing_ok=True)


def read(path):
    """Everything in the store: (metadata, documents, passages, tokens by content hash, FAQ dicts)."""
    path = Path(path)
    if not path.exists():
        raise StoreError(f"no store at {path}")
    try:
        db = sqlite_utils.Database(sqlite3.connect(f"file:{path}?mode=ro", uri=True))
        missing = [t for t in TABLES if not db[t].exists()]
        if missing:
            raise StoreError(f"store {path} lacks tables: {', '.join(missing)}")
        metadata = {row["key"]: row["value"] for row in db["build"].rows}
        if metadata.get("schema_version") != SCHEMA_VERSION:
            raise StoreError(f"store {path} has schema {metadata.get('schema_version')!r}, expected {SCHEMA_VERSION}")
        documents = list(db["documents"].rows)
        passages = list(db.query("select * from passages order by doc_id, seq"))
        tokens = {row["content_hash"]: (json.loads(row["words"]), json.loads(row["bigrams"])) for row in db["tokens"].rows}
        faq = [json.loads(row["entry"]) for row in db.query("select entry from faq order by seq")]
        db.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"store {path} is unreadable: {exc}") from exc
    return metadata, documents, passages, tokens, faq


def read_metadata(path):
    """Only the build metadata, or {} when the store is missing or unreadable."""
    try:
        db = sqlite_utils.Database(sqlite3.connect(f"file:{path}?mode=ro", uri=True))
        try:
            return {row["key"]: row["value"] for row in db["build"].rows}
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return {}


def cached_tokens(path):
    """Tokens of a previous build, to avoid re-tokenizing unchanged passages; {} if none."""
    try:
        return read(path)[3]
    except StoreError:
        return {}


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
