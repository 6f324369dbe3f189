"""A workspace for tests that edit, break or delete data files: its own copy of knowledge/ and
faq/ and its own store, copied from one build made once per test module."""

import os
from dataclasses import dataclass, replace
from pathlib import Path

from retrieval.settings import Settings

from .conftest import DATA

QUESTION = "离婚冷静期是多久"
ARTICLE = "civil-code-marriage-family:第一千零七十七条"
CIVIL_CODE = "knowledge/documents/民法典-婚姻家庭编(2020-05-28).md"
THIRTY = "之日起三十日内，任何一方不愿意离婚"
FORTY_FIVE = "之日起四十五日内，任何一方不愿意离婚"


@dataclass
class Workspace:
    root: Path
    settings: Settings

    def edit(self, relative, old, new):
        path = self.root / relative
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def env(self):
        s = self.settings
        return dict(
            os.environ,
            MINZHENG_KNOWLEDGE_DIR=str(s.knowledge_dir),
            MINZHENG_FAQ_DIR=str(s.faq_dir),
            MINZHENG_STORE_PATH=str(s.store_path),
            MINZHENG_LOG_PATH=str(s.log_path),
            MINZHENG_RELOAD_QUALITY_QUESTIONS=str(s.reload_quality_questions),
        )


def workspace_settings(root):
    return replace(
        Settings(),
        knowledge_dir=root / "knowledge",
        faq_dir=root / "faq",
        store_path=root / "var" / "store.db",
        log_path=root / "var" / "log.db",
        reload_quality_questions=DATA / "golden_questions.jsonl",
    )


def drop_faq_entries_citing(ws, prefixes):
    """Remove the FAQ entries and the guided checks that cite any of these documents (they would
    no longer resolve)."""
    for path in (ws.root / "faq" / "entries").glob("*.toml"):
        blocks = path.read_text(encoding="utf-8").split("[[faq]]")
        kept = [blocks[0]] + [b for b in blocks[1:] if not any(p in b for p in prefixes)]
        path.write_text("[[faq]]".join(kept), encoding="utf-8")
    documents = tuple('"' + p.rstrip("#") + ":" for p in prefixes)
    for path in (ws.root / "faq" / "checks").glob("*.toml"):
        if any(d in path.read_text(encoding="utf-8") for d in documents):
            path.unlink()
