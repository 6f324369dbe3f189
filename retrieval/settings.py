"""Settings, read once from the environment (or a dict in tests) and passed down."""

from dataclasses import dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    knowledge_dir: Path = ROOT / "knowledge"
    faq_dir: Path = ROOT / "faq"
    templates_dir: Path = ROOT / "templates"
    store_path: Path = ROOT / "var" / "store.db"
    max_question_chars: int = 2000
    answer_max_chars: int = 600
    top_k: int = 5

    @classmethod
    def from_env(cls, environ):
        """Build settings from a mapping such as os.environ; unknown keys are ignored."""
        values = {}
        for f in fields(cls):
            key = "MINZHENG_" + f.name.upper()
            if key in environ and environ[key] != "":
                raw = environ[key]
                values[f.name] = Path(raw) if f.type is Path or f.type == "Path" else int(raw)
        return cls(**values)
