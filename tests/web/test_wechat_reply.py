"""Fitting replies into WeChat's 2000-byte passive text limit, keeping every citation."""

from dataclasses import replace

import pytest

from channels.web.wechat_reply import cut_bytes, fit_answer, fit_by_budget, utf8_len
from retrieval.answer import Quote
from retrieval.assistant import Assistant

from . import wx
from .conftest import AES_KEY, APPID, NOW, WECHAT_TOKEN, make_client


def test_cut_bytes_never_splits_a_character():
    text = "民政" * 1000
    cut = cut_bytes(text, 2000)
    assert utf8_len(cut) <= 2000 and cut.endswith("…") and cut[:-1] == "民政" * 332 + "民"  # 665 characters = 1995 bytes, + … = 1998


def test_fit_answer_shortens_quotes_and_keeps_sources():
    quotes = (Quote(1, "甲" * 400), Quote(2, "乙" * 400))
    text = f"根据现有政策资料:\n· “{quotes[0].text}”[1]\n· “{quotes[1].text}”[2]\n\n出处:\n[1] 《婚姻登记条例》国务院 › 第八条\n[2] 《民法典》全国人大 › 第一千零七十七条\n\n需要人工帮助,请拨打12345。"
    fitted = fit_answer(text, quotes, 2000)
    assert 1950 < utf8_len(fitted) <= 2000
    assert fitted.endswith("出处:\n[1] 《婚姻登记条例》国务院 › 第八条\n[2] 《民法典》全国人大 › 第一千零七十七条\n\n需要人工帮助,请拨打12345。")
    assert "…”[1]" in fitted and "…”[2]" in fitted


def test_fit_answer_leaves_short_text_alone():
    assert fit_answer("短回答", (Quote(1, "短"),)) == "短回答"


def test_fit_by_budget_picks_the_largest_budget_that_fits():
    render = lambda n: "x" * (10 * n)  # noqa: E731
    assert fit_by_budget(render, 500, 2000) == "x" * 2000
    assert fit_by_budget(render, 100, 2000) == "x" * 1000


@pytest.fixture(scope="module")
def verbose(tmp_path_factory, web_settings):
    """An assistant that cites six passages with long quotes, so answers exceed 2000 bytes."""
    folder = tmp_path_factory.mktemp("verbose")
    faq = folder / "faq"
    import shutil

    shutil.copytree(web_settings.faq_dir, faq)
    calibration = (faq / "calibration.toml").read_text(encoding="utf-8")
    import re

    for key, value in (("quote_chars", "2000"), ("max_sources", "6"), ("related_ratio", "0.0")):
        calibration = re.sub(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", calibration)
    (faq / "calibration.toml").write_text(calibration, encoding="utf-8")
    settings = replace(web_settings, faq_dir=faq, store_path=folder / "store.db", log_path=folder / "log.db", answer_max_chars=5000, top_k=6)
    a = Assistant(settings)
    a.reload()
    return a, settings


def test_long_answers_fit_in_2000_bytes_with_every_citation(verbose):
    assistant, settings = verbose
    question = "最低生活保障审核审批"  # answered from passages, not by a (short) FAQ entry
    answer = assistant.answerer.ask(question)
    assert answer.faq_id is None
    assert utf8_len(answer.text) > 2000  # the premise: this answer is too long for WeChat
    platform = wx.Platform(WECHAT_TOKEN, AES_KEY, APPID, now=NOW)
    with make_client(assistant, settings) as c:
        params, body = platform.push(wx.text_xml(question, 900), safe=True)
        r = c.post("/wechat", params=params, content=body)
        content = platform.open_reply(r.content, params, safe=True).content
    assert utf8_len(content) <= 2000
    sources_block = answer.text[answer.text.index("出处:") :]
    assert sources_block in content  # every source line, whole
    for quote in answer.quotes:
        assert f"”[{quote.number}]" in content
