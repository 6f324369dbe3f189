"""A citizen's own phone number, address or name is not what they ask about: the core reads the
question without them (retrieval/redact.py), the reply answers the real question, and the Query
keeps what was typed."""

import pytest

from retrieval.privacy import Masker
from retrieval.redact import QuestionRedactor

from .conftest import ROOT


@pytest.fixture(scope="module")
def redactor():
    path = ROOT / "faq" / "privacy.toml"
    return QuestionRedactor.load(path, Masker.load(path))


@pytest.mark.parametrize("question, read", [
    ("我叫王建国,电话13812345678,低保怎么申请", ",,,,低保怎么申请"),
    ("我是张阿姨,住文三路123号5幢2单元301室,想问老年食堂在哪", "我是,,住,,想问老年食堂在哪"),
    ("我的身份证号是330102195503121234,能申请特困吗", "我的,,能申请特困吗"),
])
def test_the_asker_s_data_and_its_label_are_taken_out(redactor, question, read):
    assert redactor.redact(question).replace("，", ",") == read  # each item leaves a full-width comma


@pytest.mark.parametrize("question", ["低保怎么申请", "我叫王建国,低保怎么申请", "2025年5月以前结婚登记要户口本吗", "主城区低保标准从744元增长到1102元了吗", "第一千零七十七条说的离婚冷静期是多久"])
def test_a_question_without_a_long_number_is_read_as_typed(redactor, question):
    assert redactor.redact(question) == question


@pytest.mark.parametrize("question, kind, faq_id", [
    ("我叫王建国,电话13812345678,低保怎么申请", "answer", "dibao-apply"),
    ("我是张阿姨,住文三路123号5幢2单元301室,想问老年食堂在哪", "answer", None),
])
def test_the_real_question_is_answered_and_the_query_keeps_what_was_typed(answerer, question, kind, faq_id):
    answer = answerer.ask(question)
    assert answer.kind == kind
    if faq_id is not None:
        assert answer.faq_id == faq_id
    query = answer.decision.query
    assert query.question == question and "13812345678" not in query.text and "文三路" not in query.text
    assert query.asked == () and query.unknown == ()


def _counting_redactor():
    """A redactor whose masker is loaded on first need, and the list of its loads."""
    path = ROOT / "faq" / "privacy.toml"
    loaded = []

    def masker():
        loaded.append(1)
        return Masker.load(path)

    return QuestionRedactor.load(path, masker), loaded


def test_the_masker_is_loaded_only_for_a_question_worth_masking():
    redactor, loaded = _counting_redactor()
    assert redactor.redact("我叫王建国,低保怎么申请") == "我叫王建国,低保怎么申请"
    assert loaded == []
    assert redactor.redact("电话13812345678,低保怎么申请").replace("，", ",") == ",,低保怎么申请"
    assert redactor.redact("身份证330102195503121234能申请特困吗").replace("，", ",") == ",能申请特困吗"
    assert loaded == [1]


def test_threads_asking_at_once_load_the_masker_once():
    import threading

    redactor, loaded = _counting_redactor()
    threads = [threading.Thread(target=redactor.redact, args=("电话13812345678,低保怎么申请",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loaded == [1]
