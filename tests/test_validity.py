"""Validity (issue 18): answers as of a date, texts repealed by then never cited for its rule, a
past question answered from the text in force then (labelled 已废止 with its date), a rule not yet
in force cited with 自YYYY年M月D日起施行; the citation line's order number and 施行日期; `check`
on the validity fields with file and line."""

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from retrieval.answer import Answerer
from retrieval.asof import as_of, load_rules
from retrieval.decision import Citation
from retrieval.library import Library
from retrieval.validity import IN_FORCE, NOT_YET, REPEALED, state_on

from .conftest import ROOT

# A test-only stand-in for the 2003 text that the 2025 婚姻登记条例 replaced (not in knowledge/:
# the tests write it into their own copy of the knowledge base).
OLD_TEXT = """# 婚姻登记条例

<!-- INFO END -->

## 第二章 结婚登记

第五条 办理结婚登记的内地居民应当出具下列证件和证明材料：
（一）本人的户口簿、身份证；
（二）本人无配偶以及与对方当事人没有直系血亲和三代以内旁系血亲关系的签字声明。
"""
OLD_META = """# Test data: the text the 2025 revision replaced, for the validity tests.
id = "marriage-registration-2003"
title = "婚姻登记条例"
issuer = "国务院"
order = "国务院令第387号"
region = "全国"
published = "2003-08-08"
effective = "2003-10-01"
superseded_by = "marriage-registration-2025"
kind = "regulation"
status = "superseded"
source_file = "婚姻登记条例(2003-08-08).md"
"""
# How citizens asked about it, as an admin writes them into the question index (docs/answering.md).
OLD_QUESTIONS = """[[passage]]
id = "marriage-registration-2003:第五条"
questions = ["结婚登记要带户口本吗", "领结婚证需要哪些证件", "结婚登记要带什么材料"]
"""
OLD_LINE = "[1] 《婚姻登记条例》国务院(国务院令第387号),2003-08-08,2003-10-01施行 › 第二章 结婚登记 › 第五条(已废止:2025年5月10日起不再施行,仅供了解当时的规定)"
TODAY = "2026-12-03"


def rules():
    return load_rules(ROOT / "faq" / "as_of.toml")


@pytest.mark.parametrize(
    "question, expected",
    [
        ("2025年5月以前结婚登记要户口本吗", ("2025-04-30", True)),
        ("2025年5月10日之前离婚要带什么", ("2025-05-09", True)),
        ("2020年以前的低保标准", ("2019-12-31", True)),
        ("2024年的时候萧山有几家老年食堂", ("2024-12-31", True)),
        ("2024年3月那时候怎么申请", ("2024-03-31", True)),
        ("2027年以前要办完吗", (TODAY, False)),  # a date after today: as of today
        ("结婚登记要带什么材料", (TODAY, False)),
        ("60周岁以上老人每餐补助多少", (TODAY, False)),
    ],
)
def test_a_question_is_answered_as_of_today_or_the_past_time_it_names(question, expected):
    assert as_of(question, TODAY, rules()) == expected


def test_the_date_comes_from_the_clock_passed_down(library, settings):
    fixed = Answerer(library, replace(settings, as_of="2026-01-15"))
    assert fixed.today() == "2026-01-15"
    q = fixed.parse("2025年5月以前结婚登记要户口本吗")
    assert (q.today, q.as_of, q.past) == ("2026-01-15", "2025-04-30", True)
    assert Answerer(library, settings, today=lambda: "2030-01-01").parse("结婚登记要带什么").as_of == "2030-01-01"


def test_validity_of_a_document_on_a_date(library):
    documents = library.snapshot.documents
    funeral = documents["funeral-regulation-2025"]
    assert [state_on(funeral, documents, day) for day in ("2025-12-12", "2026-03-29", "2026-03-30")] == [NOT_YET, NOT_YET, IN_FORCE]
    expired = dict(funeral, id="x", effective_to="2026-06-30")
    assert [state_on(expired, documents, day) for day in ("2026-06-30", "2026-07-01")] == [IN_FORCE, REPEALED]
    marked = dict(funeral, id="y", status="expired")  # marked repealed, no date given: repealed on every date
    assert state_on(marked, documents, "2026-12-03") == REPEALED


def test_a_rule_published_but_not_yet_in_force_is_cited_with_its_start_date(library, settings):
    before = Answerer(library, replace(settings, as_of="2026-01-15")).ask("骨灰可以撒海吗")
    assert before.kind == "answer"
    lines = [line for line in before.text.splitlines() if line.startswith("[")]
    assert lines and all(line.startswith("[") and "《殡葬管理条例》国务院(国务院令第824号),2025-12-12 › " in line and line.endswith("(尚未施行,自2026年3月30日起施行)") for line in lines)
    source = before.as_json()["sources"][0]
    assert (source["doc_id"], source["order"], source["effective"], source["validity"]) == ("funeral-regulation-2025", "国务院令第824号", "2026-03-30", "not_yet")
    after = Answerer(library, replace(settings, as_of="2026-04-01")).ask("骨灰可以撒海吗")
    assert all(line.endswith(tuple("一二三四五六七八九十条")) for line in after.text.splitlines() if line.startswith("["))
    assert "《殡葬管理条例》国务院(国务院令第824号),2025-12-12,2026-03-30施行 › " in after.text


def test_the_citation_line_shows_order_number_revision_and_dates_the_texts_give(answerer):
    aid = answerer.ask("特困人员供养包括哪些内容")
    assert "《社会救助暂行办法》国务院(国务院令第649号),2014-02-21,2019-03-02修订,2014-05-01施行 › " in aid.text
    vagrant = answerer.ask("救助站对流浪乞讨人员提供哪些救助")
    assert "《城市生活无着的流浪乞讨人员救助管理办法》国务院(国务院令第381号),2003-06-20,2003-08-01施行 › " in vagrant.text
    undated = answerer.ask("余杭建成了几家百岁幸福家")
    assert "《余杭区民政局2023年工作总结和2024年工作计划》杭州市余杭区民政局,约2023年(原文未注明日期,据正文推定) › " in undated.text


def test_no_citation_ends_in_an_empty_separator(answerer, library):
    """Every passage of the knowledge base, cited: 10 of them (a plan's opening paragraph) have no section (the 海宁 plan's byline was an 11th until it stopped being a passage)."""
    snapshot = library.snapshot
    render = answerer.composer.env.from_string('{% import "_citation.txt.j2" as c %}{{ c.line(s) }}').render
    lines = [render(s=Citation.of_parts(1, p, snapshot.documents[p["doc_id"]])) for p in snapshot.passages]
    assert sum(1 for p in snapshot.passages if not p["section"]) == 10
    assert [line for line in lines if line.endswith("›") or "›  ›" in line or "› ›" in line] == []
    assert render(s=Citation.of_parts(1, snapshot.passage("binhu-2021:da39a3ee"), snapshot.documents["binhu-2021"])) == "《滨湖区民政局2021年工作总结和2022年工作思路》无锡市滨湖区民政局,2021-12-20"


# -- a superseded text in a copy of the knowledge base --------------------------------------------
@pytest.fixture()
def superseded(ws):
    folder = ws.root / "knowledge" / "documents"
    (folder / "婚姻登记条例(2003-08-08).md").write_text(OLD_TEXT, encoding="utf-8")
    (folder / "婚姻登记条例(2003-08-08).toml").write_text(OLD_META, encoding="utf-8")
    (ws.root / "knowledge" / "questions" / "marriage-registration-2003.toml").write_text(OLD_QUESTIONS, encoding="utf-8")
    library = Library(ws.settings)
    library.build()
    return library, ws


def test_a_superseded_text_is_never_cited_for_the_current_rule(superseded):
    library, ws = superseded
    answerer = Answerer(library, replace(ws.settings, as_of=TODAY))
    for question in ("结婚登记要带户口本吗", "办理结婚登记的内地居民应当出具户口簿身份证", "结婚登记要带什么材料"):
        answer = answerer.ask(question)
        assert "marriage-registration-2003" not in [h.document["id"] for h in answer.sources], question
        assert "已废止" not in answer.text
        found = answerer.search(question, k=50)
        assert "marriage-registration-2003" not in {h.document["id"] for h in found.hits}


def test_a_question_about_the_past_cites_the_text_in_force_then_labelled_repealed(superseded):
    library, ws = superseded
    answer = Answerer(library, replace(ws.settings, as_of=TODAY)).ask("2025年5月以前结婚登记要户口本吗")
    assert answer.kind == "answer"
    assert answer.sources[0].passage["id"] == "marriage-registration-2003:第五条"
    assert OLD_LINE in answer.text.splitlines()
    assert "· “第五条 办理结婚登记的内地居民应当出具下列证件和证明材料：\n（一）本人的户口簿、身份证；" in answer.text
    # the text that replaced it took effect after the date asked about: not the rule then
    assert "marriage-registration-2025" not in [h.document["id"] for h in answer.sources]
    source = answer.as_json()["sources"][0]
    assert (source["validity"], source["repealed_on"], source["validity_now"]) == ("in_force", "2025-05-10", "repealed")


def test_check_names_bad_validity_fields_with_file_and_line(ws):
    meta = "knowledge/documents/殡葬管理条例(2025-12-12).toml"
    ws.edit(meta, 'status = "in_force"', 'status = "in_force"\nsuperseded_by = "funeral-regulation-2031"')
    result = run_check(ws)
    assert result.returncode == 2
    assert f"{meta}:13: superseded_by 'funeral-regulation-2031' is not the id of a document in documents/" in result.stdout + result.stderr
    ws.edit(meta, 'superseded_by = "funeral-regulation-2031"', 'effective_to = "2026-02-30"')
    result = run_check(ws)
    assert f"{meta}:13: effective_to '2026-02-30' must be YYYY-MM-DD or empty" in result.stdout + result.stderr
    ws.edit(meta, 'effective_to = "2026-02-30"', 'effective_to = "2026-01-01"')
    result = run_check(ws)
    assert f"{meta}:13: effective_to '2026-01-01' is before the document takes effect (2026-03-30)" in result.stdout + result.stderr
    ws.edit(meta, 'effective_to = "2026-01-01"', 'year = "前年"')
    result = run_check(ws)
    assert f"{meta}:13: year '前年' must be a year such as 2023, or empty" in result.stdout + result.stderr


def run_check(ws):
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), "check"], capture_output=True, text=True, env=ws.env(), cwd=ROOT, timeout=300)


def test_ask_json_sources_carry_the_citation_fields(answerer):
    source = answerer.ask("结婚登记要带什么材料").as_json()["sources"][0]
    assert {k: source[k] for k in ("issuer", "order", "date", "effective", "revised", "year", "validity", "repealed_on")} == {
        "issuer": "国务院", "order": "国务院令第804号", "date": "2025-04-06", "effective": "2025-05-10",
        "revised": "", "year": "", "validity": "in_force", "repealed_on": "",
    }
    json.dumps(source, ensure_ascii=False)  # plain JSON values only
