"""Fuzz: whatever arrives, the core answers with an Answer or a named error, quickly."""

import json
import time

import pytest
from hypothesis import given

from retrieval.assistant import Assistant
from retrieval.errors import EmptyQuestionError, QuestionTooLongError

from .nasty import fuzz, messages, nasty_inputs

KINDS = {"answer", "suggest", "out_of_scope", "not_found", "fact_missing"}
# Generous: a question takes about 1 ms; this only catches pathological inputs (catastrophic
# regex backtracking, quadratic loops), not speed, which `make bench` measures.
SECONDS_PER_MESSAGE = 2.0


def check(answerer, text):
    started = time.perf_counter()
    try:
        answer = answerer.ask(text)
    except (EmptyQuestionError, QuestionTooLongError):
        return
    finally:
        assert time.perf_counter() - started < SECONDS_PER_MESSAGE
    assert answer.kind in KINDS and answer.text.strip()
    json.loads(json.dumps(answer.as_json(), ensure_ascii=False))
    for hit in answer.sources:
        assert hit.passage["text"] in hit.passage["text"]  # a real passage dict


@pytest.mark.parametrize("name,text", nasty_inputs(), ids=[n for n, _ in nasty_inputs()])
def test_nasty_inputs_get_an_answer_or_a_named_error(answerer, name, text):
    check(answerer, text)


@fuzz(10_000)
@given(text=messages)
def test_ten_thousand_generated_messages(answerer, text):
    check(answerer, text)


def test_nasty_inputs_through_the_assistant_are_logged_without_loss(settings, tmp_path):
    from dataclasses import replace

    assistant = Assistant(replace(settings, log_path=tmp_path / "log.db"))
    logged = 0
    for _, text in nasty_inputs():
        try:
            assistant.ask(text, channel="fuzz", user="u1")
            logged += 1
        except (EmptyQuestionError, QuestionTooLongError):
            pass
    assert assistant.stats()["queries"] == logged > 20
