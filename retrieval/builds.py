"""The accepted builds: which stores may be served, newest last.

A build is accepted when the reload quality gate passes it (`bot.py reload`, the admin page,
Telegram /reload; `--force` included), when an admin runs `bot.py build`, and at the very first
start, when there is nothing else to serve. `var/store.db` is the one served; `var/store.db.builds/`
holds the last KEEP accepted builds as hard links `build-NNNNNN.db` (NNNNNN in order of
acceptance; the newest is the live one). A start serves the newest one that can be read - never
whatever knowledge/ holds now - so an edit the gate refused cannot go live through a crash or a
restart. Rollback steps down this stack: the build before the current one, then the one before
that. Two accepted builds of the same inputs in a row are one entry, so a second reload of an
unchanged tree never makes the rollback point the build being served.

Store files are never changed in place (a build writes a new file and renames it), so a hard link
costs no space and stays exactly the build that was accepted.
"""

import fcntl
import logging
import os
import re
from contextlib import contextmanager
from pathlib import Path

from . import store
from .errors import StoreWriteError

log = logging.getLogger(__name__)

KEEP = 5  # accepted builds kept; rollback can go back KEEP - 1 times
_ENTRY = re.compile(r"^build-(\d{6,})\.db$")


def folder(store_path):
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + ".builds")


def legacy_previous(store_path):
    """Where earlier versions kept the one rollback point (adopted into the history once)."""
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + ".prev")


@contextmanager
def locked(store_path):
    """One reload, rollback, build or start-up choice of build at a time across processes."""
    store_path = Path(store_path)
    store_path.parent.mkdir(parents=True, exist_ok=True)
    with open(store_path.with_name(store_path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def writing(path):
    """File operations on the store's folder: an OSError (disk full, read-only) becomes StoreWriteError."""
    try:
        yield
    except OSError as exc:
        raise StoreWriteError(path, store.reason(exc)) from exc


def build_id(metadata):
    return (metadata.get("input_hash"), metadata.get("built_at"))


def readable(metadata):
    return metadata.get("schema_version") == store.SCHEMA_VERSION


def entries(store_path):
    """The accepted builds' files, oldest first."""
    try:
        names = os.listdir(folder(store_path))
    except FileNotFoundError:
        return []
    found = sorted((int(m.group(1)), name) for name in names if (m := _ENTRY.match(name)))
    return [folder(store_path) / name for _, name in found]


def link_over(source, target):
    """Make target another name of source, atomically (target never goes missing)."""
    target = Path(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.unlink(missing_ok=True)
        os.link(source, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def add(store_path, source):
    """Record the complete store file `source` as the newest accepted build (before it is
    swapped in: a crash in between leaves it accepted and served at the next start); returns
    the entry's path. StoreWriteError when it cannot be linked."""
    where = folder(store_path)
    with writing(where):
        where.mkdir(exist_ok=True)
        existing = entries(store_path)
        number = int(_ENTRY.match(existing[-1].name).group(1)) + 1 if existing else 1
        entry = where / f"build-{number:06d}.db"
        os.link(source, entry)
    return entry


def prune(store_path):
    """Drop the entry below the newest when it has the same inputs (the same tree accepted
    twice), and everything beyond KEEP."""
    kept = entries(store_path)
    if len(kept) >= 2:
        newest, below = (store.read_metadata(p) for p in kept[-2:][::-1])
        if newest.get("input_hash") is not None and newest.get("input_hash") == below.get("input_hash"):
            kept[-2].unlink(missing_ok=True)
            kept = entries(store_path)
    for old in kept[:-KEEP]:
        old.unlink(missing_ok=True)


def accept(store_path):
    """Record the live store (just written by `bot.py build` or a first start) as accepted."""
    add(store_path, store_path)
    prune(store_path)


def adopt_legacy(store_path):
    """A store folder from before this history: its previous build and live store become the
    first two entries (a store built by the old rules was served, so it counts as accepted)."""
    store_path = Path(store_path)
    if entries(store_path):
        return
    for source in (legacy_previous(store_path), store_path):
        if source.exists() and readable(store.read_metadata(source)):
            add(store_path, source)
    prune(store_path)
    legacy_previous(store_path).unlink(missing_ok=True)


def serve_newest(store_path):
    """Make the live store each accepted build in turn, newest first, yielding after each
    (the caller loads it and stops at the first that loads). Call under locked()."""
    store_path = Path(store_path)
    adopt_legacy(store_path)
    live = build_id(store.read_metadata(store_path))
    for entry in reversed(entries(store_path)):
        metadata = store.read_metadata(entry)
        if not readable(metadata):
            log.warning("the accepted build %s cannot be read; trying the one before it", entry.name)
            continue
        if build_id(metadata) != live:
            with writing(store_path):
                store.remove_stale(store_path)
                link_over(entry, store_path)
            live = build_id(metadata)
            log.info("serving the last accepted build %s (%s)", entry.name, metadata.get("built_at"))
        yield entry


def step_back(store_path):
    """Rollback: drop the newest accepted build and serve the one before it; returns (restored
    metadata, replaced metadata, builds still before it). None when there is no build before it.
    Call under locked()."""
    store_path = Path(store_path)
    adopt_legacy(store_path)
    kept = [p for p in entries(store_path) if readable(store.read_metadata(p))]
    if len(kept) < 2:
        return None
    newest, target = kept[-1], kept[-2]
    replaced = store.read_metadata(store_path) or store.read_metadata(newest)
    held = newest.with_name(f".{newest.name}.{os.getpid()}.held")
    with writing(store_path):
        os.replace(newest, held)  # first: a crash after it serves the target at the next start
        try:
            store.remove_stale(store_path)
            link_over(target, store_path)
        except BaseException:
            os.replace(held, newest)
            raise
        held.unlink()
    return store.read_metadata(target), replaced, len(kept) - 2
