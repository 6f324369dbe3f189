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
