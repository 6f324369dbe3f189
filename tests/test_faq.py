"""The curated FAQ: loading and lint on the real entries, matching, and file:line errors."""

import json
import shutil
from dataclasses import replace

import pytest

from retrieval.answer import Answerer
from retrieval.errors import DataFileError
from retrieval.faq import lint, load_entries, resolve

from .conftest import DATA, ROOT

TODAY = "2026-11-23"
TOPICS = {"marriage", "funeral", "aid", "elderly_meals", "contact"}


@pytest.fixture(scope="module")
def snapshot(library):
    return library.snapshot


@pytest.fixture(scope="module")
def faq_answerer(library, settings):
    return Answerer(library, settings, today=lambda: TODAY)


def test_the_faq_has_at_least_60_entries_over_the_five_topics_and_lints_clean(snapshot):
    entries = snapshot.faq.entries
    assert len(entries) >= 60
    assert {e.topic for e in entries.values()} == TOPICS
    assert all(len(e.questions) >= 3 and e.sources for e in entries.values())
    assert lint(snapshot, TODAY) == []


def test_every_entry_answers_its_own_questions(snapshot, faq_answerer):
    wrong = []
    for entry in snapshot.faq.entries.values():
        for question in entry.questions:
            answer = faq_answerer.ask(question)
            if answer.faq_id != entry.id:
                wrong.append((entry.id, question, answer.faq_id))
    assert wrong == []


def test_an_entry_question_written_with_a_typo_matches_the_repaired_question_exactly(snapshot, faq_answerer):
    # the entry lists 离昏需要什么材料 to catch the typo; the citizen's question is repaired to
    # 离婚 before matching, and so is the entry's question: both typings meet at 1.0
    query = faq_answerer.parse("离昏需要什么材料", snapshot)
    assert query.text == "离婚需要什么材料"
    assert snapshot.prepare_question("离昏需要什么材料") == "离婚需要 材料"
    for typed in ("离昏需要什么材料", "离婚需要什么材料"):
        assert faq_answerer.ask(typed).faq_id == "divorce-materials"


def test_paraphrases_not_in_the_entries_are_answered_right_or_left_to_passages(faq_answerer):
    right, wrong = 0, []
    items = [json.loads(line) for line in (DATA / "faq_paraphrases.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    for item in items:
        answer = faq_answerer.ask(item["q"])
        if answer.faq_id == item["faq_id"]:
            right += 1
        elif answer.faq_id is not None:
            wrong.append((item["q"], item["faq_id"], answer.faq_id))
    assert len(items) >= 100
    assert wrong == []  # a wrong entry would be a confident wrong answer
    # measured 2026-12-02: 38 of 106 (41 before an entry needed its key concept in the question:
    # three paraphrases that name none of it are now offered, not answered); 0 wrong as before
    assert right >= 38


def _faq_case(line):
    """A case of tests/data/faq_cases.jsonl; one marked "regressed" (what the 2026-12-07 question
    index and recalibration changed, to be fixed, not accepted) is a strict xfail."""
    case = json.loads(line)
    marks = [pytest.mark.xfail(strict=True, reason=case["regressed"])] if "regressed" in case else []
    return pytest.param(case, marks=marks, id=case["q"])


@pytest.mark.parametrize("case", [_faq_case(line) for line in (DATA / "faq_cases.jsonl").read_text(encoding="utf-8").splitlines()])
def test_faq_cases(case, faq_answerer):
    answer = faq_answerer.ask(case["q"])
    assert answer.faq_id == case["faq_id"]
    assert answer.kind == case.get("kind", "answer")
    if "first_source" in case:
        assert answer.sources[0].passage["id"] == case["first_source"]
    if "answer_has" in case:
        assert case["answer_has"] in answer.text
    if "suggestions" in case:
        assert list(answer.suggestions) == case["suggestions"]
        assert "您是不是想问(回复序号即可):\n1. " + case["suggestions"][0] in answer.text


def test_faq_answer_json_puts_the_entrys_sources_first(faq_answerer):
    payload = faq_answerer.ask("结婚登记还要户口本吗").as_json()
    assert payload["faq_id"] == "marriage-materials" and payload["kind"] == "answer"
    ids = [s["id"] for s in payload["sources"]]
    # the entry's own sources, then up to two top-ranked passages as further reading
    assert ids[:2] == ["marriage-registration-2025:第八条", "marriage-registration-2025:第二十八条"] and len(ids) <= 4
    assert payload["answer"].startswith("内地居民办理结婚登记，双方各带本人的居民身份证")
    assert "[1] 《婚姻登记条例》国务院(国务院令第804号),2025-04-06,2025-05-10施行 › 第二章 结婚登记 › 第八条" in payload["answer"]


def test_entries_are_served_only_while_in_force(library, settings):
    before = Answerer(library, settings, today=lambda: "2026-03-29")
    after = Answerer(library, settings, today=lambda: "2026-03-30")
    question = "骨灰能不能放在家里"
    entry = library.snapshot.faq.entries[after.ask(question).faq_id]
    assert entry.valid_from == "2026-03-30"
    assert before.ask(question).faq_id != entry.id


# -- file errors name file and line ------------------------------------------------------

ENTRY = """
[[faq]]
id = "{id}"
topic = "marriage"
region = "全国"
questions = ["问题一", "问题二", "问题三"]
answer = "{answer}"
sources = ["{source}"]
"""


def write_faq(tmp_path, *entries):
    faq = tmp_path / "faq"
    shutil.copytree(ROOT / "faq", faq, ignore=shutil.ignore_patterns("entries"))
    (faq / "entries").mkdir()
    path = faq / "entries" / "test.toml"
    path.write_text("# test entries\n" + "".join(ENTRY.format(**e) for e in entries), encoding="utf-8")
    return faq, path


def good(**changes):
    return {"id": "a", "answer": "双方各带身份证。", "source": "marriage-registration-2025#第八条", **changes}


def test_duplicate_id_names_the_second_entry(tmp_path, snapshot):
    faq, path = write_faq(tmp_path, good(), good())
    with pytest.raises(DataFileError) as err:
        load_entries(faq, snapshot.regions.names)
    assert (err.value.path, err.value.line) == (str(path), 11)
    assert f"duplicate id (first at {path}:3)" in str(err.value)


def test_answer_over_200_han_is_refused(tmp_path, snapshot):
    faq, path = write_faq(tmp_path, good(answer="字" * 201))
    with pytest.raises(DataFileError, match="201 汉字") as err:
        load_entries(faq, snapshot.regions.names)
    assert (err.value.path, err.value.line) == (str(path), 3)


@pytest.mark.parametrize("source", ["no-such-doc#第八条", "marriage-registration-2025#第九十九条", "marriage-registration-2025#no such heading"])
def test_unresolvable_source_names_file_and_line(tmp_path, snapshot, source):
    faq, path = write_faq(tmp_path, good(), good(id="b", source=source))
    entries = load_entries(faq, snapshot.regions.names)
    with pytest.raises(DataFileError) as err:
        resolve(entries, snapshot.passages, snapshot.documents)
    assert (err.value.path, err.value.line) == (str(path), 11)
    assert source in str(err.value)


def test_a_bad_faq_file_stops_the_build_and_the_old_store_keeps_serving(tmp_path, library, settings):
    from retrieval.library import Library

    faq, _ = write_faq(tmp_path, good(source="marriage-registration-2025#第九十九条"))
    store = tmp_path / "store.db"
    shutil.copy(settings.store_path, store)
    broken = Library(replace(settings, faq_dir=faq, store_path=store))
    with pytest.raises(DataFileError):
        broken.build()
    assert store.read_bytes() == settings.store_path.read_bytes()


def test_lint_reports_expired_entries_unsupported_numbers_and_placeless_local_questions(snapshot):
    faq = snapshot.faq
    entry = faq.entries["marriage-legal-age"]
    local = faq.entries["meal-delivery"]
    changed = {
        # 三千元 in characters (fifth attack M5: "低保每月补贴三千元" passed); 二十周岁 is in the article
        entry.id: replace(entry, valid_to="2026-01-01", answer=entry.answer + "另需交费9元,补贴三千元,男方不得早于二十二周岁。"),
        local.id: replace(local, questions=local.questions + ("老人能送饭上门吗",)),
    }
    original = dict(faq.entries)
    try:
        faq.entries.update(changed)
        problems = [str(p).split(": ", 1)[1] for p in lint(snapshot, TODAY)]
    finally:
        faq.entries.clear()
        faq.entries.update(original)
    assert problems == [
        "FAQ 'meal-delivery': question '老人能送饭上门吗' names no place in 杭州市",
        "FAQ 'marriage-legal-age': expired on 2026-01-01",
        "FAQ 'marriage-legal-age': number 9 is in no cited source",
        "FAQ 'marriage-legal-age': number 三千 (3000) is in no cited source",
    ]
