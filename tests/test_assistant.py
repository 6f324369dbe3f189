"""The facade every channel uses: answers are logged, feedback attaches to them."""

from dataclasses import replace

import pytest

from retrieval.assistant import Assistant
from retrieval.settings import Settings


@pytest.fixture()
def assistant(settings, tmp_path):
    return Assistant(replace(settings, log_path=tmp_path / "log.db"))


def test_ask_is_logged_with_a_keyed_user_hash_and_feedback_attaches(assistant):
    reply = assistant.ask("结婚登记要带什么材料", channel="telegram", user=4242)
    assert reply.answer.kind == "answer"
    row = next(assistant.log.db["queries"].rows)
    assert row["channel"] == "telegram" and row["kind"] == "answer"
    assert "4242" not in row["user_hash"] and len(row["user_hash"]) == 32
    assert assistant.feedback(reply.query_id, -1) is True
    assert assistant.feedback(reply.query_id + 1000, 1) is False
    stats = assistant.stats()
    assert (stats["queries"], stats["feedback_down"], stats["documents"]) == (1, 1, 12)


def test_the_query_log_and_the_question_redactor_share_the_builds_one_masker(assistant):
    """One Masker per build: the log stores what the served build's masker masks, and the
    redactor the core reads questions with uses that same masker (not a second jieba tagger)."""
    reply = assistant.ask("我妈程志明去世了，电话13957112345，丧葬补助怎么领", channel="cli", user="u")
    answerer = assistant.answerer
    assert answerer.redactor.masker is answerer.masker
    assert assistant.log._masker is answerer.masker
    assert assistant.log.db["queries"].get(reply.query_id)["question"] == "我妈[姓名]去世了，电话[手机号]，丧葬补助怎么领"


def test_settings_read_channel_variables_and_hide_secrets():
    s = Settings.from_env({"TELEGRAM_BOT_TOKEN": "123:SECRET", "TELEGRAM_ADMIN_IDS": "7, 9", "MINZHENG_PORT": "8100"})
    assert s.telegram_admin_ids == frozenset({7, 9}) and s.port == 8100
    assert s.telegram_bot_token == "123:SECRET" and "SECRET" not in repr(s)


def test_forget_deletes_one_users_questions_and_feedback_only(assistant):
    mine = assistant.ask("离婚冷静期多久", channel="wechat", user="oUser1")
    assistant.feedback(mine.query_id, -1)
    assistant.ask("低保怎么申请", channel="wechat", user="oUser2")
    assert [r["question"] for r in assistant.log.recent_negative()] == ["离婚冷静期多久"]
    assert assistant.forget("wechat", "oUser1") == 1
    assert [r["question"] for r in assistant.log.db["queries"].rows] == ["低保怎么申请"]
    assert assistant.log.recent_negative() == []


def test_one_vote_per_answer_per_user_survives_a_restart(settings, tmp_path):
    from retrieval.errors import AlreadyVotedError

    first = Assistant(replace(settings, log_path=tmp_path / "log.db"))
    reply = first.ask("离婚冷静期多久", channel="telegram", user=77)
    assert first.feedback(reply.query_id, -1, channel="telegram", user=77) is True
    restarted = Assistant(replace(settings, log_path=tmp_path / "log.db"))
    with pytest.raises(AlreadyVotedError):
        restarted.feedback(reply.query_id, -1, channel="telegram", user=77)
    assert restarted.feedback(reply.query_id, 1, channel="telegram", user=78) is True  # another group member
    assert [r["value"] for r in restarted.log.db["feedback"].rows] == [-1, 1]


def _faq_questions():
    import json
    from pathlib import Path

    cases = Path(__file__).parent / "data" / "faq_cases.jsonl"
    return [json.loads(line)["q"] for line in cases.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("question", _faq_questions() + ["结婚登记要带什么材料", "申请", "低保标准是多少", "今天天气怎么样"])
def test_standard_answer_is_the_entry_the_core_answers_with_and_is_not_logged(assistant, question):
    core = assistant.answerer.ask(question)
    standard = assistant.standard_answer(question)
    assert (standard.entry.id if standard.entry else None) == core.faq_id
    if standard.entry is not None:
        # the entry's own cited passages, in the order the core cites them (further reading left out)
        own = set(assistant.library.snapshot.faq.sources[core.faq_id])
        assert [h.passage["id"] for h in standard.sources] == [h.passage["id"] for h in core.sources if h.passage["id"] in own]
        assert len(standard.sources) == len(own)
    else:
        assert standard.suggestions == core.suggestions
    assert assistant.log.counts()["queries"] == 0


def test_standard_answer_in_a_region_is_the_answer_to_the_question_naming_it(assistant):
    assert assistant.standard_answer("老年食堂补贴怎么申请").entry is None
    assert assistant.answerer.ask("萧山老年食堂补贴怎么申请").faq_id == "xiaoshan-meal-services"
    assert assistant.standard_answer("老年食堂补贴怎么申请", "萧山区").entry.id == "xiaoshan-meal-services"
    assert assistant.standard_answer("  ").entry is None
    with pytest.raises(ValueError, match="unknown region '火星'"):
        assistant.standard_answer("低保", "火星")


def test_search_anywhere_leaves_no_place_out_even_when_the_question_names_one(assistant):
    named = {h.document["region"] for h in assistant.search("萧山老年食堂", k=1000).hits}
    anywhere = assistant.search_anywhere("萧山老年食堂", k=1000)
    assert "海宁市" not in named and {"海宁市", "萧山区", "余杭区"} <= {h.document["region"] for h in anywhere.hits}
    assert anywhere.region is None
    assert {h.passage["id"] for h in assistant.search("萧山老年食堂", k=1000, region="海宁市").hits} == {
        h.passage["id"] for h in anywhere.hits if h.document["region"] in ("海宁市", "浙江省", "全国")
    }
    assert assistant.search_anywhere("   ").hits == ()
