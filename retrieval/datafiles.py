"""Reading the small line- and TOML-based data files, with errors that name file and line."""

import errno
import os
import re
import stat
import tomllib
from pathlib import Path

from .errors import DataFileError, DocumentTooLargeError

# A data file is read through open_regular: a symbolic link or a device/FIFO in knowledge/ or faq/
# would otherwise put any readable file (/etc/passwd) into answers and /lookup.
_NO_FOLLOW = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def open_regular(path, max_bytes=None):
    """The bytes of a regular file, opened without following a symbolic link (a FIFO is not waited on);
    DocumentTooLargeError, before reading, for a file over max_bytes."""
    try:
        fd = os.open(path, _NO_FOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DataFileError(path, None, "a symbolic link: data files must be regular files") from exc
        raise DataFileError(path, None, f"cannot read: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as f:
        status = os.fstat(f.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise DataFileError(path, None, "not a regular file")
        if max_bytes is not None and status.st_size > max_bytes:
            raise DocumentTooLargeError(path, status.st_size, max_bytes)
        return f.read()


def tree_problems(root):
    """A DataFileError for each symbolic link, non-regular file or path leading outside `root`."""
    root = Path(root)
    problems = []
    if not root.is_dir():
        return problems
    real_root = root.resolve()
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in sorted(dirs) + sorted(files):
            path = Path(folder) / name
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                problems.append(DataFileError(path, None, "a symbolic link: data files must be regular files inside " + root.name + "/"))
            elif not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                problems.append(DataFileError(path, None, "not a regular file"))
            elif not path.resolve().is_relative_to(real_root):
                problems.append(DataFileError(path, None, f"outside {root.name}/"))
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
    return problems


def inside(path, root):
    """`path`, when it is a regular file inside `root` (no link anywhere on the way); else DataFileError."""
    path, root = Path(path), Path(root)
    if not path.resolve().is_relative_to(root.resolve()):
        raise DataFileError(path, None, f"outside {root.name}/")
    relative = path.relative_to(root) if path.is_relative_to(root) else None
    at = root
    for part in relative.parts if relative is not None else ():
        at = at / part
        if at.is_symlink():
            raise DataFileError(at, None, "a symbolic link: data files must be regular files inside " + root.name + "/")
    return path


def read_lines(path):
    """(line number, text) of each non-blank, non-comment line of a UTF-8 text file."""
    raw = open_regular(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataFileError(path, line, "not valid UTF-8") from exc
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            out.append((lineno, line))
    return out


def read_toml(path):
    """Parse a TOML file; syntax errors become DataFileError with the line number."""
    raw = open_regular(path)
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DataFileError(path, raw[: exc.start].count(b"\n") + 1, "not valid UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise DataFileError(path, int(match.group(1)) if match else None, str(exc)) from exc


def read_section(path, section, cls):
    """A dataclass built from one [section] of a TOML file; missing keys keep their defaults."""
    data = read_toml(path).get(section, {})
    return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def table_lines(path, header):
    """Line numbers of each `[[header]]` in a TOML file, in order (tomllib keeps no positions)."""
    pattern = re.compile(rf"^\s*\[\[\s*{re.escape(header)}\s*\]\]")
    text = path.read_text(encoding="utf-8")
    return [n for n, line in enumerate(text.splitlines(), 1) if pattern.match(line)]
