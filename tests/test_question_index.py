"""The question index (knowledge/questions/*.toml): loaded, checked against passage ids, searched."""

import pytest

from retrieval.errors import DataFileError
from retrieval.questions import by_passage, load_questions


def test_every_index_file_resolves_and_covers_the_substantive_passages(library, settings):
    snapshot = library.snapshot
    asked = by_passage(load_questions(settings.knowledge_dir), snapshot.by_id)
    assert sum(len(q) for q in asked.values()) >= 2400
    assert len(asked) >= 650
    assert all(len(q) >= 3 for q in asked.values())
    assert snapshot.metadata["index_questions"] == sum(len(q) for q in asked.values())


def test_an_unknown_passage_id_is_reported_with_file_and_line(tmp_path):
    folder = tmp_path / "questions"
    folder.mkdir()
    (folder / "marriage-registration-2025.toml").write_text(
        '[[passage]]\nid = "marriage-registration-2025:第八条"\nquestions = ["领证带什么"]\n\n[[passage]]\nid = "marriage-registration-2025:第九十九条"\nquestions = ["没有这一条"]\n',
        encoding="utf-8",
    )
    questions = load_questions(tmp_path)
    with pytest.raises(DataFileError) as err:
        by_passage(questions, ["marriage-registration-2025:第八条"])
    assert err.value.line == 6 and "第九十九条" in str(err.value)


def test_a_file_of_a_removed_document_goes_with_it(tmp_path):
    folder = tmp_path / "questions"
    folder.mkdir()
    (folder / "gone-2020.toml").write_text('[[passage]]\nid = "gone-2020:第一条"\nquestions = ["a"]\n', encoding="utf-8")
    assert by_passage(load_questions(tmp_path), ["marriage-registration-2025:第八条"]) == {}


def test_a_malformed_entry_names_its_line(tmp_path):
    folder = tmp_path / "questions"
    folder.mkdir()
    (folder / "x.toml").write_text('[[passage]]\nid = "x:第一条"\nquestions = []\n', encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        load_questions(tmp_path)
    assert err.value.line == 2


def test_citizens_words_reach_the_article_through_its_index_questions(answerer):
    # "扯证" and "要啥" are in no article; the index questions of 第八条 use them
    hits = answerer.search("扯证要带啥", k=3).hits
    assert "marriage-registration-2025:第八条" in [h.passage["id"] for h in hits]
