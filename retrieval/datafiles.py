"""Reading the small line- and TOML-based data files, with errors that name file and line."""

import re
import tomllib

from .errors import DataFileError


def read_lines(path):
    """(line number, text) of each non-blank, non-comment line of a UTF-8 text file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataFileError(path, None, f"cannot read: {exc.strerror}") from exc
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
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataFileError(path, None, f"cannot read: {exc.strerror}") from exc
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
