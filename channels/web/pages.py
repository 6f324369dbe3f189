"""The HTML side: the core's jinja2 environment (retrieval.compose) over templates/web, plus its labels file."""

import tomllib
from pathlib import Path

from starlette.templating import Jinja2Templates

from retrieval.compose import environment
from retrieval.errors import DataFileError

from .highlight import segments
from .localtime import formatter, zone


def templates(settings):
    """Jinja2Templates over templates/web; .html pages are autoescaped."""
    root = Path(settings.templates_dir) / "web"
    env = environment(root, shared=settings.templates_dir)  # templates/_citation.txt.j2 too
    env.filters["highlight"] = segments
    env.filters["local_time"] = formatter(zone(settings))
    env.globals["timezone"] = settings.timezone
    env.globals["labels"] = labels(root / "labels.toml")
    return Jinja2Templates(env=env)


def labels(path):
    """Display names (topics, answer kinds) from templates/web/labels.toml."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DataFileError(path, None, str(exc)) from exc
