"""The HTML side: one autoescaping jinja2 environment over templates/web, plus its labels file."""

import tomllib
from pathlib import Path

import jinja2
from starlette.templating import Jinja2Templates

from retrieval.errors import DataFileError

from .highlight import segments


def templates(settings):
    """Jinja2Templates over templates/web with autoescape on for every template."""
    root = Path(settings.templates_dir) / "web"
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["highlight"] = segments
    env.globals["labels"] = labels(root / "labels.toml")
    return Jinja2Templates(env=env)


def labels(path):
    """Display names (topics, answer kinds) from templates/web/labels.toml."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataFileError(path, None, str(exc)) from exc
