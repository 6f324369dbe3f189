"""Words no passage has: which count as unknown, and what the reply does with them."""

from retrieval.intent import Intents

def test_a_word_citizens_use_in_index_questions_is_not_unknown_but_one_nobody_uses_is(answerer, library):
    snapshot = library.snapshot
    # 房子 is in no passage, but index questions say it for 住房; 宠物 is in neither
    assert not snapshot.mentions("房子") and snapshot.asked_about("房子")
    assert not snapshot.mentions("宠物") and not snapshot.asked_about("宠物")
    assert "宠物" in answerer.parse("宠物死了怎么火化").unknown
    assert "房子" not in answerer.parse("余杭困难户家里房子破 有没有帮忙改善住房的项目").unknown

def test_related_passages_say_which_word_of_the_question_the_sources_never_mention(answerer):
    answer = answerer.ask("宠物死了怎么火化")
    assert answer.kind == "suggest"
    assert answer.text.startswith("现有的政策资料里没有提到“宠物”,下面的原文不一定适用于您问的情况。与您的问题最相关的原文是:\n")
    plain = answerer.ask("殡葬补贴多少钱").text
    assert "没有提到" not in plain

def test_a_question_none_of_whose_words_a_passage_has_is_never_answered(answerer):
    """老头子 and 血压 are in no passage (老头子 only in index questions), 高 is one character:
    the index questions alone matched, and nothing is answered from them."""
    answer = answerer.ask("我家老头子血压老是高 吃什么药好")
    assert answer.declined and answer.sources == ()

def test_a_measure_word_after_how_much_asks_a_count_not_an_amount(settings):

    intents = Intents.load(settings.faq_dir, lambda text: text)
    names = lambda q: [f.name for f in intents.asked_facts(q)]  # noqa: E731
    assert "amount" not in names("滨湖21年给多少户老人家里做了适老化改造")
    assert "amount" not in names("今年发多少张卡")
    assert "amount" in names("低保一个月给多少钱") and "amount" in names("给多少块") and "amount" in names("高龄津贴给多少")
    assert "amount" in names("补贴多少人民币") and "amount" in names("交多少个人部分")


def test_a_length_of_time_is_no_year_asked():
    from retrieval.answer import _years_named

    assert _years_named("滨湖21年给多少户老人家里做了适老化改造", 2026) == [2021]
    assert _years_named("2020年低保标准是多少", 2026) == [2020]
    for text in ("缴费满15年每月多少", "近10年低保标准", "20年前的结婚证", "80年代结的婚", "住了30年了", "第21年", "30年"):
        assert _years_named(text, 2026) == [], text

def test_a_count_asked_is_answered_from_the_passage_that_states_it(answerer):
    answer = answerer.ask("滨湖21年给多少户老人家里做了适老化改造")
    assert answer.kind == "answer" and "全面完成300户老年人家庭适老化改造工程" in answer.text


def test_a_hotline_named_as_the_way_to_complain_is_used_not_asked_for(settings):
    intents = Intents.load(settings.faq_dir, lambda text: text)
    names = lambda q: [f.name for f in intents.asked_facts(q)]  # noqa: E731
    assert "phone" not in names("殡葬服务乱收费可以打热线投诉吗") and "phone" not in names("拨12345热线反映低保问题有用吗")
    assert "phone" in names("民政的热线是多少") and "phone" in names("有没有养老的热线电话能打") and "phone" in names("打热线咨询电话多少")


def test_a_demonstrative_with_a_measure_word_is_never_unknown(answerer):
    """那笔 (of 那笔钱) points at something; it names nothing the sources could lack."""
    assert answerer.parse("交的那笔钱是谁在管").unknown == () and "那笔" not in answerer.parse("交的那笔钱是谁在管").focus
    assert "宠物" in answerer.parse("那家宠物医院能火化吗").unknown


def test_no_faq_entry_answers_for_a_pet_though_who_died_is_set_aside_for_people(answerer):
    """FAQ similarity sets aside who a question is about (我爸, 家里有人); a word no source
    has takes that place in 宠物去世了如何火化, so the entry for a death in the family must not
    answer it (it did once people words were set aside)."""
    assert answerer.ask("宠物去世了如何火化").faq_id is None
    assert answerer.ask("我爸去世了后事怎么办").faq_id == "funeral-after-death-steps"
