"""The question index: questions citizens ask that a passage answers (knowledge/questions/*.toml).

Each file holds `[[passage]]` tables with the passage's stable `id` and its `questions`, written
from the passage alone (MaxKB's "related questions", FastGPT's "indexes"). They are indexed as a
field of their own and fused with the passage's text. A question whose passage id no longer
exists in the build is refused with file and line.
"""

import re
from pathlib import Path

from .datafiles import read_toml
from .errors import DataFileError

QUESTION_DIR = "questions"
MAX_QUESTION_CHARS = 100


def load_questions(knowledge_dir):
    """[(passage id, question, path, line)] from knowledge/questions/*.toml, shape-checked."""
    folder = Path(knowledge_dir) / QUESTION_DIR
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.toml")):
        data = read_toml(path)
        lines = _id_lines(path)
        tables = data.get("passage", [])
        if not isinstance(tables, list):
            raise DataFileError(path, None, "expected [[passage]] tables")
        for n, table in enumerate(tables):
            pid = table.get("id") if isinstance(table, dict) else None
            line = lines.get(pid) if isinstance(pid, str) else None
            if not isinstance(pid, str) or not pid:
                raise DataFileError(path, line, f"passage {n + 1} lacks an id")
            questions = table.get("questions")
            if not isinstance(questions, list) or not questions or not all(isinstance(q, str) and q.strip() for q in questions):
                raise DataFileError(path, line, f"{pid}: questions must be a non-empty list of strings")
            for q in questions:
                if len(q) > MAX_QUESTION_CHARS:
                    raise DataFileError(path, line, f"{pid}: question longer than {MAX_QUESTION_CHARS} characters")
                out.append((pid, q.strip(), str(path), line))
    return out


def by_passage(questions, passage_ids):
    """{passage id: [question, ...]}; a question for an unknown passage raises with file:line.

    A file named after a document that is no longer in the build (questions/DOC.toml after
    DOC was removed) went with its document and is skipped; within a present document, an id
    that no longer resolves (a renumbered article) is an error to fix.
    """
    known = set(passage_ids)
    documents = {pid.split(":", 1)[0] for pid in known}
    grouped = {}
    for pid, question, path, line in questions:
        if Path(path).stem not in documents and pid.split(":", 1)[0] == Path(path).stem:
            continue
        if pid not in known:
            raise DataFileError(path, line, f"question index: no passage {pid!r} in this build")
        grouped.setdefault(pid, []).append(question)
    return grouped


def _id_lines(path):
    pattern = re.compile(r'^\s*id\s*=\s*"([^"]+)"')
    lines = {}
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        match = pattern.match(line)
        if match:
            lines.setdefault(match.group(1), n)
    return lines
