"""bot.py explain: the Query as understood, each passage's score by field and term, the
reranker's contributions and the decision with its threshold (retrieval/explain.py)."""

import io
import json
from types import SimpleNamespace

from channels.cli import Cli
from retrieval.explain import explain


def run(settings, question, passage=None, as_json=False):
    out, err = io.StringIO(), io.StringIO()
    code = Cli(settings, out=out, err=err).run("explain", SimpleNamespace(question=[question], passage=passage, json=as_json))
    return code, out.getvalue(), err.getvalue()


def test_a_declined_question_names_the_focus_terms_no_passage_has_with_their_idf(settings, answerer):
    e = explain(answerer, "低保家庭能不能养宠物狗")
    assert (e.kind, e.reason) == ("not_covered", "unknown_term")
    assert e.p < e.suggest_at == answerer.calibration.suggest_at
    rarest = e.missing[0].idf
    assert [(t.term, t.idf) for t in e.missing] == [("宠物", rarest), ("宠物狗", rarest)]
    # the decision model's contributions add up to its probability
    z = e.bias + sum(c.contribution for c in e.contributions)
    assert abs(1 / (1 + 2.718281828459045 ** -z) - e.p) < 0.01
    code, text, _ = run(settings, "低保家庭能不能养宠物狗")
    assert code == 0
    assert "结论: not_covered —— 置信度低于建议阈值,且有关键词资料里完全没有" in text
    assert f"置信度 p = {e.p:.3f}(回答阈值 answer_at = {e.answer_at},建议阈值 suggest_at = {e.suggest_at},faq/calibration.toml [decision])" in text
    assert f"首段缺少的关键词(IDF): 宠物({rarest:.2f}) 宠物狗({rarest:.2f})" in text
    assert "faq/lexicon.txt" in text


def test_each_passage_shows_its_fields_terms_and_reranker_contributions(answerer):
    e = explain(answerer, "结婚登记")
    top = e.passages[0]
    assert top.rank == 1 and top.passage_id == answerer.ask("结婚登记").sources[0].passage["id"]
    assert [f.name for f in top.fields] == ["words", "bigrams", "q_words", "q_bigrams"]
    assert abs(sum(f.contribution for f in top.fields) - sum(f.share * f.weight for f in top.fields)) < 0.01
    words = {t.term: t for t in top.fields[0].terms}
    assert "结婚" in words and words["结婚"].idf == round(answerer.library.snapshot.words.plain_idf("结婚"), 3)
    assert top.rerank and abs(top.rerank[0].contribution) >= abs(top.rerank[-1].contribution)
    assert e.reason == "answer" and e.p >= e.answer_at


def test_why_not_this_passage_shows_the_same_breakdown_for_a_passage_that_ranked_lower(settings, answerer):
    e = explain(answerer, "结婚登记", "marriage-registration-2025:第八条")
    asked = e.asked
    assert asked.passage_id == "marriage-registration-2025:第八条" and asked.rank is None and asked.fused_rank > 1
    assert {t.term for t in asked.fields[0].terms} >= {"结婚", "登记"} and asked.rerank
    assert asked.questions_file == "knowledge/questions/marriage-registration-2025.toml" and asked.index_questions > 0
    code, text, _ = run(settings, "结婚登记", passage="marriage-registration-2025:第八条")
    assert code == 0 and "为什么不是这一段:\nmarriage-registration-2025:第八条  《婚姻登记条例》› 第二章 结婚登记 › 第八条" in text
    code, _, err = run(settings, "结婚登记", passage="no-such:第一条")
    assert code == 2 and "没有编号为 no-such:第一条 的段落" in err


def test_explain_json_is_one_object_with_the_understood_query(settings):
    code, text, _ = run(settings, "結婚登記要帶什麼材料", as_json=True)
    data = json.loads(text)
    assert code == 0 and len(text.splitlines()) == 1
    assert data["understood"]["text"] == "结婚登记要带什么材料" and data["understood"]["question_type"] == "materials"
    assert data["kind"] == "answer" and data["passages"][0]["fields"][0]["name"] == "words"


def test_explaining_changes_no_answer(answerer):
    before = answerer.ask("低保怎么申请").as_json()
    explain(answerer, "低保怎么申请", "zhejiang-social-assistance-2020:第九条")
    assert answerer.ask("低保怎么申请").as_json() == before
