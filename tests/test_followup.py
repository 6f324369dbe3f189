"""Follow-up questions are read in the light of the previous question (faq/followup.toml)."""

from pathlib import Path

import pytest

from retrieval.errors import DataFileError
from retrieval.followup import FollowupRules, resolve

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def rules():
    return FollowupRules.load(ROOT / "faq")


@pytest.mark.parametrize(
    "previous, question, expected",
    [
        # an opener and no subject of its own: the previous subject (place kept) + the question
        ("在杭州怎么办理结婚登记", "那要带什么材料?", "在杭州结婚登记要带什么材料?"),
        ("低保怎么申请", "那收入标准是多少", "低保收入标准是多少"),
        ("请问在萧山怎么申请低保呢？", "还有,要多久？", "在萧山低保要多久？"),
        # short without an opener
        ("低保怎么申请", "需要多长时间?", "低保需要多长时间?"),
        # the previous question is matched normalised (full-width ?); the new words stay as typed
        ("特困人员有哪些救助？", "那么ＯＫ吗", "特困人员救助ＯＫ吗"),
    ],
)
def test_follow_ups_borrow_the_previous_subject(rules, previous, question, expected):
    assert resolve(previous, question, rules) == expected


@pytest.mark.parametrize(
    "previous, question",
    [
        ("在杭州怎么办理结婚登记", "那离婚呢?"),  # names a topic of its own
        ("低保怎么申请", "护照怎么办"),  # an out-of-scope matter is a subject too
        ("低保怎么申请", "谢谢!"),  # thanks are not a question
        ("低保怎么申请", "我们小区的残疾人家庭申请困难补助需要先去社区登记再去街道吗"),
        (None, "那要带什么材料?"),  # nothing to follow
        ("", "要多久"),
        ("在杭州怎么办理结婚登记", "那"),  # only an opener: nothing to add
        ("怎么办理?", "要多久"),  # the previous question had no subject
    ],
)
def test_other_questions_stand_alone(rules, previous, question):
    assert resolve(previous, question, rules) == question


def test_a_long_question_without_an_opener_stands_alone(rules):
    question = "我想知道一般情况下大概要等多长时间才能办下来"
    assert len(question) > rules.max_chars
    assert resolve("低保怎么申请", question, rules) == question


def test_follow_up_retrieves_what_the_combined_question_needs(rules, answerer):
    """The marriage-materials article is cited only when the follow-up keeps the subject."""
    asked = resolve("在杭州怎么办理结婚登记", "那要带什么材料?", rules)
    answer = answerer.ask(asked)
    assert answer.kind == "answer" and answer.region == "杭州市" and answer.topic == "marriage"
    assert "marriage-registration-2025:第八条" in [h.passage["id"] for h in answer.sources]
    alone = answerer.ask("那要带什么材料?")
    assert alone.topic is None and alone.region is None


def test_a_broken_rules_file_names_the_file(tmp_path):
    for name in ("topics.toml", "out_of_scope.toml", "domain_terms.txt"):
        (tmp_path / name).write_bytes((ROOT / "faq" / name).read_bytes())
    (tmp_path / "followup.toml").write_text("[followup]\nmax_chars = 'twelve'\n", encoding="utf-8")
    with pytest.raises(DataFileError) as raised:
        FollowupRules.load(tmp_path)
    assert raised.value.path.endswith("followup.toml") and "max_chars" in str(raised.value)
