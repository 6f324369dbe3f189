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
