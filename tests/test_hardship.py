"""Basic needs in an emergency and words of crisis (faq/hardship.toml, templates/crisis.txt.j2):
in scope, answered from the 临时救助 and 救助站 articles, never declined as another department's."""

import pytest

from retrieval.errors import DataFileError
from retrieval.intent import load_needs

CRISIS_OPENING = (
    "听到您这样说,我们很担心您。您的安全最要紧:如果您现在有伤害自己的想法,或者身处危险,请马上拨打110或120,也请让身边信得过的人陪着您。\n"
    "您也可以拨打12345政务服务便民热线(7×24小时人工服务),请他们帮您联系当地民政部门和乡镇人民政府(街道办事处)。\n"
    "如果是生活上遇到了过不去的难处,国家有临时救助,下面是政策原文。\n\n"
)
# who gets 临时救助 (第四十七条, 第三十八条) and what it gives (第三十九条: 一次性基本生活救助, 临时安置)
TEMPORARY_AID = {"social-assistance-interim-2019:第四十七条", "zhejiang-social-assistance-2020:第三十八条", "zhejiang-social-assistance-2020:第三十九条"}
RELIEF_STATION = {"zhejiang-social-assistance-2020:第四十二条", "social-assistance-interim-2019:第五十条", "vagrant-relief-2003:第二条"}


# (message, passages one of which must be among the first two cited)
@pytest.mark.parametrize("message, expected", [
    ("家里没饭吃了怎么办", TEMPORARY_AID),
    ("没钱吃饭了怎么办", TEMPORARY_AID),  # the calibrated model is unsure: offered as related, never turned away
    ("家里断粮了", TEMPORARY_AID),
    ("我们一家人已经吃不上饭了", TEMPORARY_AID),
    ("我流落街头了", RELIEF_STATION),
    ("晚上没地方住，身上一分钱都没有", RELIEF_STATION | TEMPORARY_AID),
    ("交不起房租要被赶出去了", RELIEF_STATION | TEMPORARY_AID),
    ("孩子突然得了重病，家里没钱治病", TEMPORARY_AID),
])
def test_a_basic_need_in_an_emergency_is_answered_from_the_aid_articles(answerer, message, expected):
    answer = answerer.ask(message)
    assert answer.kind in ("answer", "suggest")
    assert answer.decision.query.out_of_scope is None and answer.decision.query.civil
    assert {h.passage["id"] for h in answer.sources[:2]} & expected
    assert not answer.text.startswith(CRISIS_OPENING[:10])


@pytest.mark.parametrize("message", ["我想死", "活不下去了", "不想活了，太累了", "我想自杀", "我真的撑不下去，想结束自己的生命"])
def test_words_of_crisis_get_help_first_and_the_cited_temporary_aid_never_a_decline(answerer, message):
    answer = answerer.ask(message)
    assert answer.kind in ("answer", "suggest")
    assert answer.text.startswith(CRISIS_OPENING)
    assert "social-assistance-interim-2019:第四十七条" in [h.passage["id"] for h in answer.sources]
    assert "不属于民政业务" not in answer.text


def test_another_departments_matter_without_a_need_is_still_declined(answerer):
    answer = answerer.ask("房租涨了能找谁")
    assert (answer.kind, answer.decision.matter) == ("out_of_scope", "房产和不动产")


def test_every_need_term_occurs_in_a_source(answerer):
    """A need's terms are searched as official words: each must be some passage's words."""
    snapshot = answerer.library.snapshot
    texts = [p["text"] for p in snapshot.passages]
    for need in answerer.intents.needs:
        for term in need.terms:
            assert any(term in t for t in texts), (need.name, term)


def test_a_need_without_terms_names_the_file_and_line(tmp_path):
    path = tmp_path / "hardship.toml"
    path.write_text('[[need]]\nname = "吃饭"\ncues = ["没饭吃"]\n\n[[need]]\nname = "住处"\ncues = ["流落街头"]\nterms = []\n', encoding="utf-8")
    with pytest.raises(DataFileError) as raised:
        load_needs(path, str)
    assert str(raised.value) == f"{path}:1: entry 1 lacks 'terms'"
    path.write_text('[[need]]\nname = "吃饭"\ncues = ["没饭吃"]\nterms = ["临时救助"]\n\n[[need]]\nname = "住处"\ncues = ["流落街头"]\nterms = []\n', encoding="utf-8")
    with pytest.raises(DataFileError) as raised:
        load_needs(path, str)
    assert str(raised.value) == f"{path}:6: terms must be a list of words without spaces"
