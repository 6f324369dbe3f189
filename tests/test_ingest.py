"""Reading knowledge/: only regular files inside it, for check, reload and build alike."""

import os
import shutil
import subprocess
import sys

import pytest

from retrieval import reload as reloading
from retrieval.errors import DataFileError
from retrieval.ingest import load_documents
from retrieval.regions import Regions

from .conftest import ROOT
from .workspace import CIVIL_CODE, workspace_settings

SECRET = "root:x:0:0:secret-line-that-must-never-be-served"


@pytest.fixture()
def tree(tmp_path):
    """knowledge/ and faq/ copied (not built), and a secret file outside them."""
    shutil.copytree(ROOT / "knowledge", tmp_path / "knowledge")
    shutil.copytree(ROOT / "faq", tmp_path / "faq")
    secret = tmp_path / "outside" / "passwd"
    secret.parent.mkdir()
    secret.write_text(SECRET + "\n", encoding="utf-8")
    return tmp_path, secret


def documents(root):
    return load_documents(root / "knowledge", Regions.load(root / "faq" / "regions.toml").names)


def check(root):
    return [f"{e.path}: {e.message}" for e in reloading.validate(workspace_settings(root))]


def test_a_symlinked_document_is_refused_by_build_and_check(tree):
    root, secret = tree
    text = root / CIVIL_CODE
    text.unlink()
    text.symlink_to(secret)
    with pytest.raises(DataFileError) as info:
        documents(root)
    assert (info.value.path, info.value.message) == (str(text), "a symbolic link: data files must be regular files inside knowledge/")
    assert check(root) == [f"{text}: a symbolic link: data files must be regular files inside knowledge/"]


def test_a_symlinked_metadata_file_and_a_symlinked_folder_are_refused(tree):
    root, secret = tree
    meta = root / CIVIL_CODE.replace(".md", ".toml")
    shutil.copy(meta, secret.parent / "meta.toml")
    meta.unlink()
    meta.symlink_to(secret.parent / "meta.toml")
    assert f"{meta}: a symbolic link: data files must be regular files inside knowledge/" in check(root)
    meta.unlink()
    shutil.copy(secret.parent / "meta.toml", meta)
    questions = root / "knowledge" / "questions"
    shutil.rmtree(questions)  # the question index, replaced by a link to a folder outside
    questions.symlink_to(secret.parent, target_is_directory=True)
    assert check(root) == [f"{questions}: a symbolic link: data files must be regular files inside knowledge/"]
    with pytest.raises(DataFileError) as info:
        documents(root)
    assert info.value.path == str(questions)


def test_a_symlinked_question_file_is_refused(tree):
    root, secret = tree
    questions = root / "knowledge" / "questions"
    (questions / "marriage.toml").symlink_to(secret)
    assert check(root) == [f"{questions / 'marriage.toml'}: a symbolic link: data files must be regular files inside knowledge/"]


def test_a_fifo_is_refused_without_waiting_for_a_writer(tree):
    root, _ = tree
    text = root / CIVIL_CODE
    text.unlink()
    os.mkfifo(text)
    with pytest.raises(DataFileError) as info:
        documents(root)
    assert info.value.message == "not a regular file"
    assert check(root) == [f"{text}: not a regular file"]


def test_a_symlinked_faq_file_is_refused_by_check(tree):
    root, secret = tree
    stopwords = root / "faq" / "stopwords.txt"
    shutil.copy(stopwords, secret.parent / "stopwords.txt")
    stopwords.unlink()
    stopwords.symlink_to(secret.parent / "stopwords.txt")
    assert f"{stopwords}: a symbolic link: data files must be regular files inside faq/" in check(root)


def test_bot_py_check_and_build_exit_2_for_a_symlinked_document_and_never_print_its_target(tree):
    root, secret = tree
    text = root / CIVIL_CODE
    text.unlink()
    text.symlink_to(secret)
    env = {**os.environ, "MINZHENG_KNOWLEDGE_DIR": str(root / "knowledge"), "MINZHENG_FAQ_DIR": str(root / "faq"),
           "MINZHENG_STORE_PATH": str(root / "var" / "store.db"), "MINZHENG_LOG_PATH": str(root / "var" / "log.db")}
    for command in ("check", "build"):
        result = subprocess.run([sys.executable, str(ROOT / "bot.py"), command], capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
        assert result.returncode == 2, (command, result.stderr)
        assert f"{text}: a symbolic link" in result.stderr
        assert SECRET not in result.stdout + result.stderr


# -- validity fields (effective_from / effective_to / superseded_by) ---------------------------
FUNERAL_META = "knowledge/documents/殡葬管理条例(2025-12-12).toml"
MARRIAGE_META = "knowledge/documents/婚姻登记条例(2025-04-06).toml"


def add_lines(path, *lines):
    path.write_text(path.read_text(encoding="utf-8") + "\n".join(lines) + "\n", encoding="utf-8")


def test_validity_fields_are_read_and_effective_from_defaults_to_effective(tree):
    root, _ = tree
    add_lines(root / MARRIAGE_META, 'effective_to = "2030-12-31"', 'superseded_by = "funeral-regulation-2025"')
    assert check(root) == []
    by_id = {d.id: d for d in documents(root)}
    marriage, funeral = by_id["marriage-registration-2025"], by_id["funeral-regulation-2025"]
    assert (marriage.effective_from, marriage.effective_to, marriage.superseded_by) == ("2025-05-10", "2030-12-31", "funeral-regulation-2025")
    assert (funeral.effective_from, funeral.effective_to, funeral.superseded_by) == ("2026-03-30", "", "")


@pytest.mark.parametrize("lines, message", [
    (['effective_from = "2025-5-10"'], "effective_from '2025-5-10' must be YYYY-MM-DD or empty"),
    (['effective_from = "2025-05-01"'], "effective_from '2025-05-01' differs from effective '2025-05-10': a document has one date of entry into force"),
    (['effective_to = "2025-01-01"'], "effective_to '2025-01-01' is before the document takes effect (2025-05-10)"),
    (["effective_to = 2030-12-31"], "effective_to datetime.date(2030, 12, 31) must be a quoted string (\"YYYY-MM-DD\" or an id)"),
    (['superseded_by = "marriage-registration-2025"'], "superseded_by 'marriage-registration-2025' must be the id of another document"),
    (['superseded_by = "marriage-registration-2031"'], "superseded_by 'marriage-registration-2031' is not the id of a document in documents/"),
])
def test_check_names_an_inconsistent_validity_field_with_file_and_line(tree, lines, message):
    root, _ = tree
    meta = root / MARRIAGE_META
    n = len(meta.read_text(encoding="utf-8").splitlines()) + 1
    add_lines(meta, *lines)
    assert check(root) == [f"{meta}: {message}"]
    with pytest.raises(DataFileError) as info:
        documents(root)
    assert (info.value.line, info.value.message) == (n, message)


# -- control characters (issue 14 item 16) ---------------------------------------------------
CONTROL = ("\x00", "\x07", "\x1b", "\x0c", "\x7f", "\x85")


def test_nul_and_other_control_characters_are_stripped_at_ingest_and_named_by_check(ws):
    from dataclasses import replace

    from starlette.testclient import TestClient

    from channels.telegram.menu import Menu
    from channels.telegram.replies import Replies
    from channels.web.app import create_app
    from retrieval.assistant import Assistant
    from retrieval.library import Library

    from .workspace import ARTICLE, QUESTION

    text = ws.root / CIVIL_CODE
    meta = text.with_suffix(".toml")
    lines = text.read_text(encoding="utf-8").split("\n")
    number = next(n for n, line in enumerate(lines, 1) if line.startswith("第一千零七十七条"))
    lines[number - 1] = lines[number - 1].replace("自婚姻登记机关", "自婚姻\x00登记\x1b[31m机关\x07", 1)
    text.write_text("\n".join(lines), encoding="utf-8")
    ws.edit(meta.relative_to(ws.root), 'title = "中华人民共和国民法典·婚姻家庭编"', 'title = "中华人民共和国\\u0000民法典·婚姻家庭编"')
    title_line = next(n for n, line in enumerate(meta.read_text(encoding="utf-8").splitlines(), 1) if line.startswith("title"))
    assert [str(e) for e in reloading.validate(ws.settings)] == [
        f"{meta}:{title_line}: title holds the control character U+0000: remove it (a build drops it)",
        f"{text}:{number}: control character U+0000: remove it (a build drops it)",
    ]
    env = {**os.environ, "MINZHENG_KNOWLEDGE_DIR": str(ws.settings.knowledge_dir), "MINZHENG_FAQ_DIR": str(ws.settings.faq_dir),
           "MINZHENG_STORE_PATH": str(ws.settings.store_path), "MINZHENG_LOG_PATH": str(ws.settings.log_path)}
    result = subprocess.run([sys.executable, str(ROOT / "bot.py"), "check"], capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert result.returncode == 2 and f"{text}:{number}: control character U+0000" in result.stderr
    # `bot.py build` (an admin's explicit acceptance) still builds: the characters never get in.
    Library(ws.settings).build()
    assistant = Assistant(ws.settings)
    passage, document = assistant.passage(ARTICLE)
    assert passage["text"].startswith("第一千零七十七条 自婚姻登记[31m机关收到离婚登记申请之日起三十日内")
    assert document["title"] == "中华人民共和国民法典·婚姻家庭编"
    answer = assistant.ask(QUESTION).answer
    telegram = Replies(ROOT / "templates", Menu.load(ws.settings.faq_dir)).answer(assistant.compose, answer)
    settings = replace(ws.settings, staff_token="staff-secret-0001-lookup")
    with TestClient(create_app(assistant, settings), base_url="http://testserver") as client:
        headers = {"Authorization": f"Bearer {settings.staff_token}"}
        pages = [client.get(f"/lookup/doc/{document['id']}", headers=headers).text, client.get("/lookup", params={"q": "离婚登记申请 撤回"}, headers=headers).text]
    for shown in (answer.text, *telegram, *pages):
        assert not any(c in shown for c in CONTROL)
    assert "自婚姻登记[31m机关" in pages[0] and "自婚姻登记[31m机关" in answer.text
