"""Facts a question asks for (faq/fact_types.toml): when no cited sentence states one, the reply
says the sources do not give it (fact_missing) instead of answering as if they did."""

import pytest

from retrieval.intent import Intents
from retrieval.tokenize import TextAnalyzer

from .conftest import ROOT


@pytest.fixture(scope="module")
def facts():
    faq = ROOT / "faq"
    return {f.name: f for f in Intents.load(faq, TextAnalyzer(faq).normalize).facts}


@pytest.mark.parametrize(
    "question, missing",
    [
        ("萧山民政局几点上班", ("办公或开放时间",)),  # "十五个工作日内" is a time limit, not opening hours
        ("海宁身后一件事在哪个APP上办", ("办理的网站或手机应用",)),
        ("公墓多少钱", ("具体金额或收费标准",)),  # 处1万元以上5万元以下的罚款 is a fine, not a price
        ("骨灰存放在哪个网站办", ("办理的网站或手机应用",)),
        ("老年助餐每餐补贴10元是真的吗", ("具体金额或收费标准",)),  # a figure the question states is asked for
        ("殡葬补贴两万块", ("具体金额或收费标准",)),  # 网站 of another article is what it asks, not about
        ("结婚登记要带几张照片", ("具体份数或张数",)),
        ("流浪人员在救助站最多能住几天", ("办理时限",)),
        # a plan's line about the beds built names no material to bring and no condition to meet
        ("余杭的家庭养老床位申请要带哪些材料", ("具体要带的材料",)),
        ("余杭家庭养老床位申请有什么条件", ("具体的申请条件",)),
        # a plan that counts the sites names none of them
        ("萧山的户外颁证基地具体在哪几个地方", ("具体名单",)),
    ],
)
def test_a_fact_no_cited_sentence_states_is_said_to_be_missing(answerer, question, missing):
    answer = answerer.ask(question)
    assert (answer.kind, answer.decision.missing) == ("fact_missing", missing)


@pytest.mark.parametrize(
    "question, source",
    [
        ("遗体在殡仪馆能放几天 超了要钱吗", "funeral-regulation-2025:第二十七条"),  # 交纳延期存放费用: a fee is paid
        ("骨灰格位能放多少年", "funeral-regulation-2025:第三十六条"),  # 不超过20年
        ("申请低保有什么条件", "social-assistance-interim-2019:第九条"),  # 人均收入低于…并且家庭财产状况符合
        ("单身男的能收养女孩吗 年龄有什么要求", "civil-code-marriage-family:第一千一百零二条"),  # 应当相差四十周岁以上
        ("离婚要带哪些材料", "marriage-registration-2025:第十五条"),  # 本人的居民身份证 本人的结婚证
        ("殡葬公司违法失信会不会被拉进黑名单", "hangzhou-plan-2021:64c6cd9a-6"),  # 拉黑名单 asks for no list
        ("违规建公墓罚多少钱", "funeral-regulation-2025:第五十七条"),  # a fine, asked for
        ("收养孩子要满多少岁", "civil-code-marriage-family:第一千零九十八条"),  # "（五）年满三十周岁", an item of 收养人应当…
        ("余杭闲林的殡仪服务中心建好了没有,什么时候能用", "yuhang-2023:1f2e3b34"),  # under 二、2024年工作计划
    ],
)
def test_a_fact_a_cited_sentence_states_is_answered(answerer, question, source):
    answer = answerer.ask(question)
    assert answer.kind == "answer" and answer.sources[0].passage["id"] == source


@pytest.mark.xfail(strict=True, reason="regressed 2026-12-07: still fact_missing (never answered), but 第五十三条 now leads the related passages; its index questions (减免费用, 财政补贴) outrank the 殡葬 plan item")
def test_an_amount_no_passage_states_is_never_answered_from_a_fee_waiver(answerer):
    """"费用减免" (社会救助暂行办法第五十三条) shares 补贴 with the question but gives no amount."""
    answer = answerer.ask("殡葬补贴多少钱")
    assert answer.kind != "answer" and "social-assistance-interim-2019:第五十三条" not in [h.passage["id"] for h in answer.sources]


def test_a_figure_in_the_question_asks_for_it_but_together_is_no_figure(facts):
    amount = facts["amount"]
    assert amount.claims.search("每餐补贴10元") and amount.claims.search("两万块") and amount.claims.search("十块钱")
    assert not amount.claims.search("老人聚在一块的睦邻点")


def test_evidence_patterns_tell_the_facts_apart(facts):
    hours, fee, amount, when = facts["hours"].evidence, facts["fee"].evidence, facts["amount"].evidence, facts["when"].evidence
    assert not hours.search("自接到申请之日起十五个工作日内") and hours.search("工作日上午9:00开放")
    assert fee.search("按规定交纳延期存放费用") and not amount.search("按规定交纳延期存放费用")
    assert amount.search("不得向受助人员、其亲属或者所在单位收取费用") and amount.search("每人每月1180元")
    assert fee.search("享受财政补贴、税收优惠、费用减免等政策") and not amount.search("享受财政补贴、税收优惠、费用减免等政策")
    assert when.search("力争明年建成启用") and when.search("计划8月份试运行") and not when.search("持续推动区级殡仪服务中心项目")


def test_a_question_about_now_is_not_answered_with_a_past_years_figure(answerer):
    """The 2021-2025 plan gives 2020's 低保 figure: asked about now, the reply says the sources
    give only past years' figures and shows them as what they are; asked about 2020, it answers."""
    now = answerer.ask("现在杭州低保标准是多少")
    assert (now.kind, now.decision.missing) == ("fact_missing", ("现行的具体金额(资料里写的是往年的数字)",))
    assert "2020年每人每月1102元" in now.text and "hangzhou-plan-2021:b69c2b2f" == now.sources[0].passage["id"]
    then = answerer.ask("2020年杭州低保标准是多少")
    assert then.kind == "answer" and "1102元" in then.text


@pytest.mark.parametrize("question", ["杭州低保标准每月多少钱", "杭州主城区低保一个月多少钱"])
def test_an_amount_asked_with_no_time_named_is_asked_for_now(library, settings, question):
    """No 现在/今年 in the question: a figure of 2020 is still not today's, and the reply says so;
    on a date in 2020 (passed in, not the machine's clock) the same figure is that year's and answers."""
    from retrieval.answer import Answerer

    now = Answerer(library, settings, today=lambda: "2026-12-03").ask(question)
    assert (now.kind, now.decision.missing) == ("fact_missing", ("现行的具体金额(资料里写的是往年的数字)",))
    assert now.sources[0].passage["id"] == "hangzhou-plan-2021:b69c2b2f" and "2020年每人每月1102元" in now.text
    then = Answerer(library, settings, today=lambda: "2020-12-03").ask(question)
    assert then.kind == "answer" and "2020年每人每月1102元" in then.text


def test_an_amount_asked_for_the_year_the_source_gives_is_answered_without_the_caveat(library, settings):
    from retrieval.answer import Answerer

    asked = Answerer(library, settings, today=lambda: "2026-12-03").ask("2020年杭州低保标准每月多少钱")
    assert (asked.kind, asked.decision.missing) == ("answer", ())
    assert "2020年每人每月1102元" in asked.text


def test_a_no_fee_rule_answers_how_much_a_fee_is(answerer):
    """婚姻登记机关办理婚姻登记，不得收取费用 (第六条) states the amount asked: with the index
    questions it ranks first, the marriage-fee entry answers from it, and the reply answers
    instead of saying the sources give no amount."""
    answer = answerer.ask("结婚登记收费多少")
    assert (answer.kind, answer.decision.missing, answer.faq_id) == ("answer", (), "marriage-fee")
    assert [h.passage["id"] for h in answer.sources][:2] == ["marriage-registration-2025:第六条", "marriage-registration-2025:第二十二条"]
    assert "“婚姻登记机关办理婚姻登记，不得收取费用。”[1]" in answer.text


@pytest.mark.parametrize("question", ["新规定结婚登记要交500元押金吗", "结婚登记要交押金吗"])
def test_a_deposit_asked_about_marriage_registration_is_not_the_care_homes_matter(answerer, question):
    answer = answerer.ask(question)
    assert "养老机构" not in answer.text
    assert answer.sources[0].passage["id"].startswith("marriage-registration-2025:")


def test_a_deposit_asked_with_no_other_subject_is_still_the_care_homes_matter(answerer):
    for question in ("养老院押金要交多少", "押金能退吗"):
        answer = answerer.ask(question)
        assert (answer.kind, answer.decision.matter, answer.decision.channel) == ("not_found", "养老机构的押金", "所住的养老机构或当地民政部门")


def test_a_not_covered_topic_that_is_no_topic_is_refused_with_its_line(tmp_path):
    import shutil

    from retrieval.errors import DataFileError

    faq = tmp_path / "faq"
    shutil.copytree(ROOT / "faq", faq, ignore=shutil.ignore_patterns("entries", "checks"))
    path = faq / "not_covered.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('topics = ["elderly_care"]', 'topics = ["nursing_homes"]'), encoding="utf-8")
    with pytest.raises(DataFileError) as raised:
        Intents.load(faq, TextAnalyzer(faq).normalize)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[raised.value.line - 1] == "[[matter]]" and lines[raised.value.line] == 'name = "养老机构的押金"'
    assert "topics must be a list of topic names of topics.toml" in str(raised.value)


def test_a_year_after_the_date_asked_that_no_source_names_is_not_answered_from_other_years(library, settings):
    """What a rule or plan of 2027 says cannot be in sources that never mention 2027: the reply
    names the year and hands off instead of quoting whatever other 办法 rank first. A year a
    plan sets targets for is mentioned, so a question about it is searched as before."""
    from retrieval.answer import Answerer

    answerer = Answerer(library, settings, today=lambda: "2026-12-03")
    later = answerer.ask("2027年新出台的低保办法有哪些变化")
    assert (later.kind, later.decision.missing) == ("not_found", ("2027年",))
    assert later.sources == () and "没有关于“2027年”的内容" in later.text and "12345" in later.text
    earlier = Answerer(library, settings, today=lambda: "2024-05-01").ask("2025年杭州低保标准的目标是多少")
    assert earlier.decision.missing == () and earlier.sources
    assert earlier.kind != "not_found"


def test_a_document_number_no_source_has_is_named_and_one_on_record_is_searched(answerer):
    """民政部2026年第5号公告 is in no source: named and handed off, not answered with a 收养
    article; 国务院令第649号 is the 社会救助暂行办法's own number and is searched as before."""
    invented = answerer.ask("民政部2026年第5号公告说低保要提高到2000元")
    assert (invented.kind, invented.decision.missing) == ("not_found", ("2026年第5号公告",))
    assert invented.sources == () and "12345" in invented.text
    assert answerer.ask("浙民发〔2024〕12号文件说了什么").decision.missing == ("浙民发〔2024〕12号",)
    known = answerer.ask("社会救助暂行办法是国务院令第649号吗")
    assert known.kind != "not_found" and known.sources


def test_a_price_set_by_rule_states_what_a_utility_costs(answerer):
    """"按照居民生活类价格执行" gives the price asked (价格), though it names no figure."""
    answer = answerer.ask("養老機構的水電費按什麼價格算")
    assert answer.kind == "answer" and "用水、用电、用气、用热价格按照居民生活类价格执行" in answer.text


def test_a_clause_after_a_semicolon_shares_the_words_of_its_sentence(answerer):
    """第五十七条: "在公墓内提供超规定标准墓位…的，由…责令限期改正…；…处10万元以上100万元以下
    的罚款": the fine's clause does not repeat 公墓, the sentence it continues does."""
    answer = answerer.ask("违规建公墓罚多少钱")
    assert (answer.kind, answer.decision.missing) == ("answer", ())
    assert "处10万元以上100万元以下的罚款" in answer.text
