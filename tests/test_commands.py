"""faq/commands.toml as loaded by retrieval/commands.py: which messages are a request to delete
one's own records, on the real data file."""

import shutil

import pytest

from retrieval.commands import Commands
from retrieval.errors import DataFileError

from .conftest import ROOT


@pytest.fixture(scope="module")
def commands():
    return Commands.load(ROOT / "faq")


# What a citizen types to be forgotten, in the ways people write it.
@pytest.mark.parametrize("message", [
    "删除我的记录",
    "删除我的记录。",
    "删 除 我 的 记 录",
    "/forget",
    "忘记我",
    "请删除我的记录",
    "删除记录",
    "帮我把我的记录删掉",
    "我要删除我的信息，我叫王小明电话13912345678",
    "麻烦把我刚才的提问删掉，谢谢",
    "把我的聊天记录都删了吧",
    "清空所有记录",
    "请帮我删除我所有的信息!",
    "您好，请注销我的个人信息",
    "删掉我的数据，我是张桂兰，身份证330102195803121234",
    "我的记录删掉吧",
])
def test_a_request_to_delete_ones_own_records_is_a_command(commands, message):
    assert commands.asks_to_forget(message) is True


# Questions about deleting or cancelling something, and questions about the records themselves.
@pytest.mark.parametrize("message", [
    "怎么注销婚姻登记记录?",
    "死亡后户口注销去哪里办",
    "离婚后婚姻登记记录能删除吗",
    "删除记录后还能恢复吗",
    "我的信息会被保存吗",
    "注销信息怎么办理",
    "我想注销我的低保",
    "殡葬记录可以删除吗",
    "删除我的记录，我叫王小明，想问低保怎么申请",
    "我要删除我的信息，我叫李四，电话多少",
    "低保记录能查到吗",
    "删除",
])
def test_a_question_about_deleting_things_stays_a_question(commands, message):
    assert commands.asks_to_forget(message) is False


def test_a_part_list_that_is_missing_names_the_file(tmp_path):
    faq = tmp_path / "faq"
    faq.mkdir()
    text = (ROOT / "faq" / "commands.toml").read_text(encoding="utf-8")
    (faq / "commands.toml").write_text(text.replace("verbs = [", "verbz = ["), encoding="utf-8")
    with pytest.raises(DataFileError) as raised:
        Commands.load(faq)
    assert str(raised.value).startswith(str(faq / "commands.toml"))
    assert "[forget.request] verbs needs a list of words without spaces or punctuation" in str(raised.value)


def test_a_part_word_with_punctuation_is_refused(tmp_path):
    faq = tmp_path / "faq"
    shutil.copytree(ROOT / "faq", faq, ignore=shutil.ignore_patterns("entries", "checks"))
    text = (faq / "commands.toml").read_text(encoding="utf-8")
    (faq / "commands.toml").write_text(text.replace('objects = ["记录",', 'objects = ["我的 记录",'), encoding="utf-8")
    with pytest.raises(DataFileError, match=r"\[forget.request\] objects needs"):
        Commands.load(faq)
