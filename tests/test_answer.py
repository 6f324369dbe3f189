"""Answers and declines on real data: exact cases from a data file, then whole question sets."""

import json
import re

import pytest

from retrieval.errors import EmptyQuestionError, QuestionTooLongError
from retrieval.evaluation import evaluate, load_questions

from .conftest import DATA, ROOT, SHARED_DEV

CASES = [json.loads(line) for line in (DATA / "answer_cases.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("case", CASES, ids=[c["q"] for c in CASES])
def test_answer_case(answerer, case):
    answer = answerer.ask(case["q"])
    assert answer.kind == case["kind"]
    ids = [h.passage["id"] for h in answer.sources]
    if "top" in case:
        assert ids[0] == case["top"]
    if "top_doc" in case:
        assert answer.sources[0].document["id"] == case["top_doc"]
    if "sources_include" in case:
        assert case["sources_include"] in ids
    if "region" in case:
        assert answer.region == case["region"]
    if "answer_contains" in case:
        assert case["answer_contains"] in answer.text


def test_answer_quotes_sources_with_numbered_citations(answerer):
    answer = answerer.ask("离婚冷静期是多久")
    assert "三十日内" in answer.text
    assert "[1] 《中华人民共和国民法典·婚姻家庭编》全国人民代表大会,2020-05-28,2021-01-01施行 › 第四章 离婚 › 第一千零七十七条" in answer.text
    assert "12345" in answer.text
    assert len(re.sub(r"[^\u4e00-\u9fff]", "", answer.text)) <= 700


def test_a_place_named_keeps_other_places_out(answerer):
    for question in ("海宁老年助餐怎么样", "海宁殡葬服务", "海宁社会救助"):
        regions = {h.document["region"] for h in answerer.ask(question).sources}
        assert regions <= {"海宁市", "浙江省", "全国"}, (question, regions)


def test_declines_never_state_numbers_that_no_source_gives(answerer):
    answer = answerer.ask("残疾人两项补贴每个月发多少")
    sources = "".join(h.passage["text"] for h in answer.sources)
    # Citation lines ("[1] 《title》 issuer, date › section") and list numbers are not claims.
    claims = "\n".join(re.sub(r"^\d+\. ", "", line) for line in answer.text.splitlines() if not line.startswith("["))
    claims = re.sub(r"\[\d+\]", "", claims)
    for number in re.findall(r"\d+", claims):
        assert number in sources or number == "12345"


VAGUE = "您的问题里没有我能查找的内容(比如要办的事情或政策的名称)。请换个说法再问一次,例如:“结婚登记要带什么材料?”“申请低保找哪里?”\n如需人工帮助,请拨打12345政务服务便民热线。"


@pytest.mark.parametrize("message", ["123", "2020", "99", "1", "好的", "好的,谢谢!", "嗯嗯", "ok", "谢谢您 🙏"])
def test_a_message_that_names_nothing_is_asked_what_it_wants_never_answered(answerer, message):
    # fifth attack L1: "好的" was answered with a 地名 paragraph, "123" with a 社会组织 one,
    # "99" and "2020" with a row of 生态葬 figures
    answer = answerer.ask(message)
    assert (answer.kind, answer.sources, answer.text) == ("not_found", (), VAGUE)


@pytest.mark.parametrize("question, kind", [("收到补贴了吗", "answer"), ("低保", "answer"), ("好的养老院怎么选", "answer")])
def test_a_question_holding_an_acknowledgement_word_is_still_a_question(answerer, question, kind):
    answer = answerer.ask(question)
    assert answer.text != VAGUE and answer.kind in (kind, "suggest")


def test_empty_and_too_long_questions_raise_named_errors(answerer, settings):
    for bad in ("", "   ", "？！。。", "🙂🙂"):
        with pytest.raises(EmptyQuestionError):
            answerer.ask(bad)
    with pytest.raises(QuestionTooLongError):
        answerer.ask("低保" * settings.max_question_chars)


def test_json_shape(answerer):
    payload = answerer.ask("临时救助在浙江找哪里申请").as_json()
    assert set(payload) >= {"question", "answer", "declined", "region", "topic", "faq_id", "sources"}
    assert payload["declined"] is False and payload["faq_id"] == "temporary-aid-apply" and payload["region"] == "浙江省"
    assert payload["suggestions"] == []
    source = payload["sources"][0]
    assert set(source) >= {"doc_id", "title", "issuer", "date", "section", "text", "source_file", "score"}
    assert source["source_file"] == "浙江省社会救助条例(2020-09-24).md"


# Floors: what `make eval` measured on 2026-12-02 (see docs/answering.md), less a small margin,
# so a change that makes any set worse fails here. The held-out half is only ever scored, never
# tuned on; its floor guards against regressions, it is not a target.
FLOORS = {
    "dev": {"hit@1": 0.92, "hit@3": 0.95, "shown": 0.95, "out_of_scope_declined": 1.0, "not_in_corpus_declined": 1.0, "max_answerable_declined": 0.06},
    "fit": {"hit@1": 0.84, "hit@3": 0.92, "shown": 0.9, "out_of_scope_declined": 0.97, "not_in_corpus_declined": 0.89, "max_answerable_declined": 0.09},
    "heldout": {"hit@1": 0.73, "hit@3": 0.86, "shown": 0.84, "out_of_scope_declined": 0.92, "not_in_corpus_declined": 0.68, "max_answerable_declined": 0.1},
    "golden_questions": {"hit@1": 0.89, "hit@3": 0.92, "shown": 0.88, "out_of_scope_declined": 1.0, "not_in_corpus_declined": 0.95, "max_answerable_declined": 0.11},
}
SETS = {"dev": SHARED_DEV, "fit": ROOT / "eval" / "fit.jsonl", "heldout": ROOT / "eval" / "heldout.jsonl", "golden_questions": DATA / "golden_questions.jsonl"}


@pytest.mark.parametrize("name", list(FLOORS))
def test_question_sets_hold_their_measured_quality(answerer, name):
    if not SETS[name].exists():
        pytest.skip(f"{SETS[name]} is not beside the checkout")
    metrics = evaluate(answerer, load_questions(SETS[name])).metrics()
    floors = FLOORS[name]
    for key, floor in floors.items():
        if key == "max_answerable_declined":
            assert metrics["answerable_declined"] <= floor, metrics
        else:
            assert metrics[key] >= floor, (key, metrics)


def test_zero_width_characters_inside_words_change_nothing(answerer):
    """Found by the third attack: "低\u200b保怎么申请" was declined as not civil affairs."""
    plain, hidden = answerer.ask("低保怎么申请"), answerer.ask("低\u200b保怎么\u200d申请\u2060")
    assert (hidden.kind, hidden.faq_id, hidden.question) == (plain.kind, plain.faq_id, "低保怎么申请")


def test_control_characters_of_a_message_never_reach_the_answer_or_the_log(answerer):
    # fifth attack L5: a NUL in a Telegram message was stored and printed by `report`
    from retrieval.answer import valid_unicode

    assert valid_unicode("低保\x00怎么\x1b[2J申请\x07\n第二行\t") == "低保怎么[2J申请\n第二行\t"
    assert answerer.ask("低保\x00怎么申请").text == answerer.ask("低保怎么申请").text


def test_a_table_row_s_figure_stated_in_a_sentence_is_quoted_from_the_sentence_first(answerer):
    """The reranker puts the plan's table row first ("节地生态安葬率(%): … 2025年目标 85"); the
    paragraph of the same plan that says it in a sentence ("节地生态安葬率达到85%") is cited first,
    the row right after it."""
    answer = answerer.ask("杭州节地生态安葬率2025年的目标是多少")
    assert answer.kind == "answer"
    assert [h.passage["id"] for h in answer.sources[:2]] == ["hangzhou-plan-2021:b3538cef", "hangzhou-plan-2021:c0967a29"]
    assert "85%" in answer.text
