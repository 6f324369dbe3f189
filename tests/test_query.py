"""The Query: computed once per question, on the real knowledge base."""

import pytest

from retrieval.errors import EmptyQuestionError, QuestionTooLongError
from retrieval.homophones import Homophones


def test_traditional_characters_are_simplified_with_opencc(answerer):
    q = answerer.parse("結婚證丟了怎麼補辦")
    assert q.normalized == "结婚证丢了怎么补办"


@pytest.mark.parametrize(
    "typed, repaired, pair",
    [
        ("底保怎么申请", "低保怎么申请", ("底保", "低保")),
        ("宾仪馆在哪里", "殡仪馆在哪里", ("宾仪馆", "殡仪馆")),
        ("余杭今年新开几家社区食唐", "余杭今年新开几家社区食堂", ("食唐", "食堂")),
        ("婚因登记处周六上班吗", "婚姻登记处周六上班吗", ("婚因", "婚姻")),
        ("滨湖那个温情就助是怎么回事", "滨湖那个温情救助是怎么回事", ("就助", "救助")),  # a function word's character first
    ],
)
def test_same_sounding_typos_are_repaired_to_the_knowledge_bases_words(answerer, typed, repaired, pair):
    q = answerer.parse(typed)
    assert q.text == repaired and q.repairs == (pair,)


@pytest.mark.parametrize("question", ["能不能补办结婚证", "是政府主动找上门吗", "养老保险个人账户里的钱能取出来吗", "杭州有没有婚俗博物馆可以去参观的", "办民政的事能不能一次都不用跑", "家人去世后的事能网上一起办吗"])
def test_words_spelled_right_are_never_repaired(answerer, question):
    # jieba makes one word of 事能 ("的事能不能"); it sounds like 失能 but ends with a function
    # word's character (能), so it is two words, not a typo of one
    assert answerer.parse(question).repairs == ()


def test_a_town_names_its_district(answerer):
    assert answerer.parse("我是瓜沥镇的,老年食堂在哪").region == "萧山区"
    assert answerer.parse("许村的低保怎么申请").region == "海宁市"
    assert answerer.parse("临平区老人助餐").region == "杭州市"


def test_question_type_focus_and_unknown_terms(answerer):
    q = answerer.parse("我妈去世了后事怎么办")
    assert q.qtype.name == "how" and q.focus == ("去世", "后事") and q.unknown == ()
    assert "殡葬" in q.expansions.split()
    q = answerer.parse("民政局卖的保健品能买吗")
    assert "保健品" in q.unknown


def test_every_question_type_the_question_names_is_kept_first_match_first(answerer):
    q = answerer.parse("来电人投诉：养老院不签合同怎么处罚")
    assert [t.name for t in q.qtypes] == ["refused", "penalty", "how"] and q.qtype.name == "refused"


def test_counts_and_the_commonest_words_are_never_what_the_sources_lack(answerer):
    q = answerer.parse("民政局卖的保健品一万个人都说好")
    assert "保健品" in q.unknown and not {"一万个", "万个", "一万"} & set(q.unknown)
    assert answerer.parse("我想看看保健品").unknown == ("保健品",)


def test_generic_words_are_never_focus_terms(answerer):
    q = answerer.parse("我爸以前一直住在老家,现在低保怎么办")
    assert "我爸" not in q.focus and "老家" not in q.focus and "以前" not in q.focus


def test_bad_questions_raise_named_errors(answerer, settings):
    with pytest.raises(EmptyQuestionError):
        answerer.parse(" ？！ ")
    with pytest.raises(QuestionTooLongError):
        answerer.parse("低" * (settings.max_question_chars + 1))


def test_homophones_round_trip_and_need_one_character_in_common():
    table = Homophones({"di bao": ["低保"], "xin jian": ["新建"]}, {"底": "di", "保": "bao", "心": "xin", "见": "jian"})
    assert Homophones.loads(table.dumps()).repair("底保", ["底保"], lambda w: False) == ("低保", (("底保", "低保"),))
    # 心见 shares no character with 新建: a chance homophone, not a typo
    assert table.repair("心见", ["心", "见"], lambda w: False) == ("心见", ())
    # a word the dictionary knows is left alone
    assert table.repair("底保", ["底保"], lambda w: w == "底保") == ("底保", ())


# -- tokenizing work per answered question --------------------------------------------------
TOKENIZING = ("normalize", "words", "bigrams")


def tokenizing_counts(monkeypatch, answerer, questions):
    """How often each tokenizing step runs while the edge answers each question (calls made
    inside another step, such as the normalising inside `words`, count too); warmed up first,
    so per-build work (a passage normalised once, the config read) is not counted."""
    from collections import Counter

    from retrieval.edge import Edge
    from retrieval.tokenize import TextAnalyzer

    edge = Edge.unlogged(answerer, 600)
    for n, question in enumerate(questions):
        edge.ask("test", f"warm{n}", question)
    counts = Counter()
    for name in TOKENIZING:
        real = getattr(TextAnalyzer, name)

        def counted(self, *args, _real=real, _name=name, **kwargs):
            counts[_name] += 1
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(TextAnalyzer, name, counted)
    out = []
    for n, question in enumerate(questions):
        counts.clear()
        edge.ask("test", f"user{n}", question)  # a user of its own: every question stands alone
        out.append(tuple(counts[name] for name in TOKENIZING))
    return out


def dev_questions():
    import json

    from .conftest import SHARED_DEV

    return [json.loads(line)["q"] for line in SHARED_DEV.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_each_tokenizing_step_runs_once_per_answered_dev_question(monkeypatch, answerer):
    counts = tokenizing_counts(monkeypatch, answerer, dev_questions())
    # Before: normalize 587, words 111, bigrams 78 times for the 52 (issue 17: 10, 3.3 and 2.4
    # per answer on the path before the core was rebuilt). Now the Query's normalised text and
    # tokens are the only ones made; later stages read them from it.
    assert counts == [(1, 1, 1)] * 52


def test_lexicon_terms_tokenised_one_by_one_give_the_tokens_of_them_all_together(answerer):
    analyzer = answerer.library.analyzer
    terms = " ".join(dict.fromkeys(canonical for _, canonical in analyzer._synonyms))
    assert len(terms.split()) > 100
    assert analyzer.expansion_tokens(terms) == (analyzer.words(terms), analyzer.bigrams(terms))
    assert analyzer.expansion_tokens("") == ([], [])


def test_the_searched_text_is_normalised_already_so_its_tokens_need_no_second_pass(answerer):
    import json

    from .conftest import DATA

    analyzer = answerer.library.analyzer
    golden = [json.loads(line)["q"] for line in (DATA / "golden_questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    for question in dev_questions() + golden + ["結婚證丟了怎麼補辦", "ＡＢＣ低保ＸＹＺ申請", "萧山區老人食堂"]:
        q = answerer.parse(question)
        assert analyzer.normalize(q.searched) == q.searched
        assert (list(q.words), list(q.bigrams)) == (analyzer.words(q.searched), analyzer.bigrams(q.searched))


def test_elderly_care_on_its_own_is_civil_affairs_and_pensions_are_not(answerer):
    """养老 is the sources' word for the elderly-care service (120 passages); a pension
    (养老金, 养老保险) is still the social-insurance office's matter."""
    assert answerer.parse("有没有什么养老的热线电话能打").civil
    assert answerer.parse("养老保险怎么交").out_of_scope is not None
    assert answerer.ask("养老金每年涨多少").kind == "out_of_scope"
