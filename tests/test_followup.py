"""Follow-up questions are read in the light of the previous question (faq/followup.toml)."""

from pathlib import Path

import pytest

from retrieval.errors import DataFileError
from retrieval.followup import Context, FollowupRules

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def rules():
    return FollowupRules.load(ROOT / "faq")


def context_of(answerer, question):
    """The context a question leaves (masking is the identity here: no personal data asked)."""
    answer = answerer.ask(question)
    return Context.of(answer.decision.query, question, answer.suggestions)


def read(answerer, previous, question):
    return answerer.parse(question, context=context_of(answerer, previous))


@pytest.mark.parametrize(
    "previous, question, subject, cue, region",
    [
        # no subject of its own: the previous subject is searched beside its words
        ("低保怎么申请", "那要什么材料", ("低保", "申请"), (), None),
        ("在杭州怎么办理结婚登记", "那要带什么材料?", ("结婚登记",), (), "杭州市"),
        ("公墓的墓位使用年限到期了怎么办", "要交钱吗", ("公墓", "墓位", "使用", "年限", "到期"), (), None),
        # about another person / narrowing: its own words are added to the previous subject
        ("低保怎么申请", "我妈也能申请吗", ("低保", "申请"), (), None),
        ("低保怎么申请", "如果是残疾人呢", ("低保", "申请", "残疾人"), (), None),
        # a sibling of the same topic replaces the subject and keeps what was asked
        ("结婚登记要带什么材料", "那离婚呢", ("离婚",), ("带", "材料"), None),
        # a place only: the previous subject and what it asked, in that place
        ("结婚登记要带什么材料", "那萧山呢", ("结婚登记",), ("带", "材料"), "萧山区"),
    ],
)
def test_follow_ups_borrow_terms_not_sentences(answerer, previous, question, subject, cue, region):
    query = read(answerer, previous, question)
    assert query.followup is not None
    assert (query.followup.subject, query.followup.cue, query.region) == (subject, cue, region)
    assert query.question == question.strip()  # the citizen's sentence is never rewritten
    assert query.followup.previous == previous


@pytest.mark.parametrize(
    "question, asks_own, subject, cue, qtype",
    [
        ("当天就能拿到证吗", True, ("结婚登记", "当天", "拿到"), (), None),
        ("能不能代办", True, ("结婚登记", "代办"), (), "forbidden"),
        ("那萧山呢", False, ("结婚登记",), ("带", "材料"), "materials"),
        ("如果是残疾人呢", False, ("结婚登记", "残疾人"), ("带", "材料"), "materials"),
    ],
)
def test_a_yes_no_follow_up_asks_its_own_thing(answerer, rules, question, asks_own, subject, cue, qtype):
    """It keeps the previous subject but not what the previous question asked (its materials)."""
    assert rules.asks_own(question) is asks_own
    query = read(answerer, "结婚登记要带什么材料", question)
    assert (query.followup.subject, query.followup.cue, query.qtype and query.qtype.name) == (subject, cue, qtype)


@pytest.mark.parametrize(
    "previous, question",
    [
        ("低保怎么申请", "养老院怎么收费"),  # short, but names a service of its own
        ("在杭州怎么办理结婚登记", "护照怎么办"),  # out of scope stays out of scope
        ("低保怎么申请", "谢谢!"),  # thanks are not a question
        ("低保怎么申请", "我们小区的残疾人家庭申请困难补助需要先去社区登记再去街道吗"),  # long, no opener
        ("我想知道一般情况下大概要等多长时间才能办下来呢", "我爸走了后事怎么办"),
        ("在杭州怎么办理结婚登记", "那"),  # only an opener: nothing to read
        ("我爸走了后事怎么办", "那火化要带什么"),  # same topic, asks its own thing: nothing to borrow
    ],
)
def test_other_questions_stand_alone(answerer, previous, question):
    assert read(answerer, previous, question).followup is None


def test_the_answer_of_a_follow_up_cites_what_the_subject_needs(answerer):
    """Asked alone, "那要带什么材料" has no topic; after the marriage question it cites 第八条."""
    context = context_of(answerer, "在杭州怎么办理结婚登记")
    answer = answerer.ask("那要带什么材料?", context)
    assert answer.kind == "answer" and answer.region == "杭州市"
    assert "marriage-registration-2025:第八条" in [h.passage["id"] for h in answer.sources]
    assert answer.text.startswith("(结合您上一个问题“在杭州怎么办理结婚登记”来理解)")
    assert answer.as_json()["understood"]["followup"] == {"previous": "在杭州怎么办理结婚登记", "subject": ["结婚登记"], "cue": [], "region": "杭州市"}
    alone = answerer.ask("那要带什么材料?")
    assert alone.topic is None and alone.region is None and alone.as_json()["understood"]["followup"] is None


def test_only_masked_words_wait_for_the_next_question(answerer):
    """A name the masking removed is not kept as a subject term."""
    answer = answerer.ask("我叫张建国,低保怎么申请")
    context = Context.of(answer.decision.query, "我叫[姓名],低保怎么申请", answer.suggestions)
    assert "张建国" not in context.subject + context.cue
    assert context.question == "我叫[姓名],低保怎么申请"


@pytest.mark.parametrize(
    "message, number",
    [("1", 1), ("2", 2), (" 3 ", 3), ("第一个", 1), ("第2条", 2), ("2号", 2), ("②", 2), ("选3", 3), ("第三个问题", 3)],
)
def test_numbered_picks(rules, message, number):
    assert rules.pick(message) == number


@pytest.mark.parametrize("message", ["10", "12345", "第一条是什么意思", "1个月", "0", "一"])
def test_other_messages_pick_nothing(rules, message):
    assert rules.pick(message) is None


def test_a_broken_rules_file_names_the_file(tmp_path):
    (tmp_path / "followup.toml").write_text("[followup]\nmax_chars = 'twelve'\n", encoding="utf-8")
    with pytest.raises(DataFileError) as raised:
        FollowupRules.load(tmp_path)
    assert raised.value.path.endswith("followup.toml") and "max_chars" in str(raised.value)


def test_a_pick_pattern_without_its_number_group_is_refused(tmp_path):
    text = (ROOT / "faq" / "followup.toml").read_text(encoding="utf-8").replace("(?P<n>[1-9])'", "([1-9])'", 1)
    (tmp_path / "followup.toml").write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError) as raised:
        FollowupRules.load(tmp_path)
    assert "group named n" in str(raised.value)


def test_a_follow_up_of_an_answered_question_is_civil_affairs_though_no_word_says_so(answerer):
    """e起享老 names no civil-affairs word, but the sources answered it: "它什么时候能用上" is
    read against it (it was declined as out of scope); on its own it is not found."""
    from retrieval.edge import Edge

    edge = Edge.unlogged(answerer, 600)
    first = edge.ask("test", "u1", "海宁那个e起享老是什么东西")
    assert first.kind == "answer"
    second = edge.ask("test", "u1", "它什么时候能用上")
    assert second.kind != "out_of_scope" and second.answer.decision.query.followup is not None
    alone = Edge.unlogged(answerer, 600).ask("test", "u2", "它什么时候能用上")
    assert alone.kind == "not_found" and alone.answer.decision.query.followup is None


def test_a_one_shot_question_leaves_no_context(answerer):
    """`bot.py ask "问题"` asks once (remember=False): nothing waits for a follow-up, so the
    question is not masked for one either (the masker is a good part of a cold start)."""
    from retrieval.edge import Edge

    edge = Edge.unlogged(answerer, 600)
    first = edge.ask("test", "u1", "海宁那个e起享老是什么东西", remember=False)
    assert first.kind == "answer"
    second = edge.ask("test", "u1", "它什么时候能用上")
    assert second.kind == "not_found" and second.answer.decision.query.followup is None


def test_a_question_of_its_own_about_another_topic_borrows_nothing(answerer):
    """"然后 结婚前…要不要告诉对方" asks something of its own about a subject of another topic than
    the burial question before it: it stands alone (it was searched with the burial terms), while
    "如果是困境儿童呢", which asks nothing of its own, still borrows."""
    from retrieval.edge import Edge

    edge = Edge.unlogged(answerer, 600)
    edge.ask("test", "u1", "杭州生态安葬在行政村的覆盖率目标是多少")
    second = edge.ask("test", "u1", "然后 结婚前 一方有重大疾病 要不要告诉对方")
    assert second.answer.decision.query.followup is None
    assert second.answer.sources[0].passage["id"] == "civil-code-marriage-family:第一千零五十三条"
    edge.ask("test", "u2", "低保家庭的孩子上学有什么救助")
    variant = edge.ask("test", "u2", "如果是困境儿童呢")
    assert variant.answer.decision.query.followup is not None
