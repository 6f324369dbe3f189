"""Guided eligibility checks (retrieval/checks.py, faq/checks/*.toml): every path of every check,
what `bot.py check` says about a broken check file, and a check walked through the shared edge."""

import subprocess
import sys
import pytest

from retrieval import checks
from retrieval.edge import CHECK, Edge

from .conftest import ROOT

WECHAT_LIMIT = 2048  # bytes of one passive WeChat reply


@pytest.fixture(scope="module")
def guided(answerer):
    return answerer.checks


def test_the_checks_and_their_cues_are_read_from_faq(guided):
    checkset, _ = guided
    assert [c.id for c in checkset.checks] == ["dibao", "dibian", "linshi", "tekun", "yanglao"]
    assert [len(c.conditions) for c in checkset.checks] == [3, 3, 2, 4, 2]


@pytest.mark.parametrize("check_id, paths", [("dibao", 15), ("dibian", 15), ("linshi", 13), ("tekun", 31), ("yanglao", 7)])
def test_every_combination_of_answers_ends_at_a_cited_outcome_that_fits_one_wechat_reply(guided, answerer, check_id, paths):
    checkset, cite = guided
    check = checkset.by_id[check_id]
    walked = checks.walks(check)
    assert len(walked) == paths
    reached = set()
    for walk in walked:
        # every step on the way: one condition, its articles cited, 不确定 always offered
        for n in range(len(walk.answers)):
            step = checks.Walk(check, walk.answers[:n]).step(cite)
            assert not step.done and step.number == n + 1 and step.total == len(check.conditions)
            assert checks.UNSURE_LABEL in step.options and step.citations
            text = answerer.render("check.txt.j2", step=step, numbered=True)
            assert f"{step.options.index(checks.UNSURE_LABEL) + 1}. 不确定" in text
            assert len(text.encode("utf-8")) <= WECHAT_LIMIT
        end = walk.step(cite)
        assert end.done and len(end.rows) == len(walk.answers)
        reached.add(end.ending.id)
        chosen = [check.conditions[n].options[i] for n, i in enumerate(walk.answers)]
        # 不确定 never leads to "not eligible": only an option that names an outcome does, and it ends the walk
        if end.ending.kind == checks.NOT_ELIGIBLE:
            assert chosen[-1].outcome == end.ending.id and chosen[-1].label != checks.UNSURE_LABEL
        elif any(o.then == checks.UNSURE for o in chosen):
            assert end.ending.kind == checks.UNSURE
        else:
            assert end.ending.kind == checks.LIKELY and all(o.then == checks.NEXT for o in chosen)
        text = answerer.render("check.txt.j2", step=end, numbered=True)
        assert len(text.encode("utf-8")) <= WECHAT_LIMIT
        for row, option in zip(end.rows, chosen):
            assert f"{row.condition}:{option.label}" in text
        # the outcome's and every answered condition's articles are listed, numbered once each
        cited = [c.passage_id for c in end.citations]
        assert len(cited) == len(set(cited)) and set(end.ending.cites) <= set(cited)
        for c in end.citations:
            assert f"[{c.number}] 《{c.title}》" in text
        assert "12345" in text and "乡镇人民政府、街道办事处" in text
    assert reached == set(check.outcomes)  # every outcome is reachable


def test_an_eligibility_question_names_its_check_and_an_ordinary_question_does_not(guided, answerer):
    checkset, _ = guided
    normalize = answerer.library.analyzer.normalize
    asked = {q: (c.id if (c := checkset.started_by(normalize(q))) else None) for q in ["我能不能申请低保", "我妈符合特困吗", "我家够不够低保边缘家庭的条件", "我家能不能申请臨時救助", "低保怎么申请", "特困人员有哪些救助?", "我能不能结婚"]}
    assert asked == {"我能不能申请低保": "dibao", "我妈符合特困吗": "tekun", "我家够不够低保边缘家庭的条件": "dibian", "我家能不能申请臨時救助": "linshi", "低保怎么申请": None, "特困人员有哪些救助?": None, "我能不能结婚": None}


def test_no_question_of_the_labelled_sets_starts_a_check(guided, answerer):
    """Ordinary questions keep their answers: none of dev, tune, fit or golden is taken for an
    eligibility question (the held-out half is not read)."""
    import json

    checkset, _ = guided
    normalize = answerer.library.analyzer.normalize
    sets = [ROOT / "eval" / "fit.jsonl", ROOT / "tests" / "data" / "golden_questions.jsonl"]
    sets += [p for p in (ROOT.parent / "shared" / "eval" / "dev.jsonl", ROOT.parent / "shared" / "eval" / "tune.jsonl") if p.exists()]
    started = [q for path in sets for line in path.read_text(encoding="utf-8").splitlines() if line.strip() for q in [json.loads(line)["q"]] if checkset.started_by(normalize(q))]
    assert started == []


def edge_over(answerer):
    """The shared edge with guided checks, over an answerer (nothing logged)."""
    edge = Edge.unlogged(answerer, 600)
    edge.checks = lambda: answerer.checks
    return edge


def test_a_check_through_the_edge_by_number_and_by_words_then_a_question_ends_it(answerer):
    edge = edge_over(answerer)
    first = edge.ask("t", "u", "我能不能申请低保", "c")
    assert first.kind == CHECK and first.answer is None and first.check.number == 1
    assert "【最低生活保障(低保) 第1/3问】您家共同生活的家庭成员,人均月收入低于当地最低生活保障标准吗?" in first.text
    assert "1. 低于\n2. 不低于\n3. 不确定" in first.text and "本助手的资料里没有各地现行的标准" in first.text
    second = edge.ask("t", "u", "1", "c")
    assert (second.kind, second.check.number) == (CHECK, 2)
    third = edge.ask("t", "u", "不确定", "c")  # an option's own words
    assert (third.kind, third.check.number) == (CHECK, 3)
    other = edge.ask("t", "u", "结婚登记要带什么材料", "c")  # something else: the check stops
    assert other.kind == "answer" and other.check is None
    assert edge.ask("t", "u", "1", "c").kind != CHECK  # and "1" is no longer an answer to it


@pytest.mark.parametrize("typed", ["99", "0", "-1", "4"])
def test_a_number_that_is_no_option_asks_the_same_condition_again(answerer, typed):
    # fifth attack: "99" or "-1" ended the 低保 check and got an unrelated passage as an answer
    edge = edge_over(answerer)
    edge.ask("t", "u", "我能不能申请低保", "c")
    again = edge.ask("t", "u", typed, "c")
    assert (again.kind, again.check.number, again.check.refused) == (CHECK, 1, typed)
    assert again.text.startswith(f"“{typed}”不是这一问的选项,请回复 1 到 3 之间的序号。\n\n【最低生活保障(低保) 第1/3问】")
    assert "1. 低于\n2. 不低于\n3. 不确定" in again.text
    assert edge.ask("t", "u", "1", "c").check.number == 2  # and the check goes on


def test_a_long_number_in_a_check_is_never_echoed_back(answerer):
    # an ID or phone number typed in a check is no mistyped option: the check ends, nothing repeats it
    edge = edge_over(answerer)
    edge.ask("t", "u", "我能不能申请低保", "c")
    reply = edge.ask("t", "u", "330106199001011234", "c")
    assert reply.kind != CHECK and "330106199001011234" not in reply.text


def test_a_completed_check_lists_the_answers_and_the_cited_articles(answerer):
    edge = edge_over(answerer)
    for text in ("我能不能申请低保", "1", "1"):
        edge.ask("t", "u", text, "c")
    end = edge.ask("t", "u", "1", "c")
    assert end.kind == CHECK and end.check.done and end.check.ending.id == "likely"
    assert "【最低生活保障(低保)·初步自查结果】\n按您的回答,您家可能符合申请最低生活保障的条件" in end.text
    assert "您的回答:\n1. 人均月收入低于当地低保标准:低于[1][2]\n2. 家庭财产状况符合当地规定:符合[1][3]\n3. 如实申报家庭收入和财产:愿意[3][4]" in end.text
    assert "[5] 《浙江省社会救助条例》浙江省人民代表大会常务委员会,2020-09-24 › 第二章 最低生活保障 › 第十一条" in end.text
    assert "[6] 《社会救助暂行办法》国务院,2014-02-21 › 第二章 最低生活保障 › 第十一条" in end.text
    after = edge.ask("t", "u", "低保怎么申请", "c")  # the conversation goes on as before the check
    assert after.kind == "answer"


def test_not_eligible_on_one_condition_ends_the_check_with_other_aid(answerer):
    edge = edge_over(answerer)
    edge.ask("t", "u", "我妈符合特困吗", "c")
    end = edge.ask("t", "u", "都不是", "c")
    assert end.check.done and end.check.ending.id == "not_group"
    assert "可以申请低保" in end.text and "可以申请临时救助" in end.text and "12345" in end.text
    assert "1. 老年人、残疾人或未满十六周岁:都不是[1][2]" in end.text


def test_ask_and_eval_answer_an_eligibility_question_as_a_question(answerer):
    """`bot.py ask` and `eval` stand alone per line: no guided check (the contract is unchanged)."""
    outcome = Edge.unlogged(answerer, 600).ask("cli", "cli", "我能不能申请低保")
    assert outcome.kind != CHECK and outcome.answer is not None


# -- bot.py check --------------------------------------------------------------------------------
def bot(ws, *args):
    return subprocess.run([sys.executable, str(ROOT / "bot.py"), *args], capture_output=True, text=True, env=ws.env(), timeout=180, cwd=ROOT)


def line_of(path, text, after=0):
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if n > after and text in line)


def test_check_names_file_and_line_of_a_missing_article_an_unreachable_outcome_and_a_dead_end(ws):
    assert bot(ws, "check").returncode == 0
    path = ws.root / "faq" / "checks" / "dibao.toml"
    ws.edit("faq/checks/dibao.toml", '"zhejiang-social-assistance-2020:第四十九条"', '"zhejiang-social-assistance-2020:第九十九条"')
    ws.edit("faq/checks/dibao.toml", 'label = "不愿意"\noutcome = "no_declare"', 'label = "不愿意"')
    result = bot(ws, "check")
    assert result.returncode == 2
    assert f"{path}:{line_of(path, '第九十九条')}: condition 'declare' cites 'zhejiang-social-assistance-2020:第九十九条', which no passage of the build has" in result.stderr
    refused = line_of(path, 'label = "不愿意"') - 1  # its [[condition.option]] line
    assert f"{path}:{refused}: option '不愿意' needs either then = \"next\" / \"unsure\" or outcome = \"...\" (not both): it leads nowhere" in result.stderr
    assert f"{path}:{line_of(path, '[outcome.no_declare]')}: outcome 'no_declare' is not reached by any answer" in result.stderr


def test_check_refuses_a_condition_without_unsure_and_an_unsure_that_says_not_eligible(ws):
    path = ws.root / "faq" / "checks" / "linshi.toml"
    text = path.read_text(encoding="utf-8")
    # the second condition's 不确定 now ends the check as "not eligible"
    start = text.index('id = "severe"')
    path.write_text(text[:start] + text[start:].replace('label = "不确定"\nthen = "unsure"', 'label = "不确定"\noutcome = "not_severe"', 1), encoding="utf-8")
    result = bot(ws, "check")
    assert result.returncode == 2
    severe = line_of(path, "[[condition]]", after=line_of(path, 'id = "cause"'))
    unsure = line_of(path, 'label = "不确定"', after=severe) - 1
    assert f"{path}:{unsure}: '不确定' must have then = \"unsure\": it never leads to \"not eligible\"" in result.stderr
    assert f"{path}:{severe}: condition 'severe' has no '不确定' option (then = \"unsure\")" in result.stderr
