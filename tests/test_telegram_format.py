"""Telegram formatting pieces: splitting HTML, callback codes, keyboards, the menu file."""

from pathlib import Path

import pytest

from channels.telegram.keyboards import Callback, answer_keyboard, parse_callback, topics_keyboard
from channels.telegram.menu import Menu
from channels.telegram.replies import Replies
from channels.telegram.split import split_html, visible_length
from retrieval.errors import DataFileError
from tests.telegram_fakes import check_message

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def menu():
    return Menu.load(ROOT / "faq")


def test_visible_length_counts_text_after_parsing_in_utf16_units():
    assert visible_length("<b>结婚</b> &amp; 离婚") == 7
    assert visible_length("👍<i>a</i>") == 3  # an emoji outside the BMP is two UTF-16 units


def test_short_html_is_one_message_unchanged():
    assert split_html("<b>出处:</b>\n1. 《婚姻登记条例》") == ["<b>出处:</b>\n1. 《婚姻登记条例》"]


def test_long_text_is_split_at_paragraphs_first():
    paragraphs = [f"第{n}段。" + "政策原文内容" * 300 for n in range(1, 5)]  # ~1800 units each
    parts = split_html("\n\n".join(paragraphs), limit=4000)
    assert parts == ["\n\n".join(paragraphs[:2]), "\n\n".join(paragraphs[2:])]


def test_a_tag_open_at_a_cut_is_closed_and_reopened():
    html = "<b>[1] 《条例》</b>\n<blockquote>" + "第一句话。" * 1000 + "</blockquote>\n\n尾声 &amp; 完"
    parts = split_html(html, limit=4000)
    assert len(parts) == 2
    assert parts[0].startswith("<b>[1] 《条例》</b>\n<blockquote>第一句话。") and parts[0].endswith("第一句话。</blockquote>")
    assert parts[1].startswith("<blockquote>第一句话。") and parts[1].endswith("</blockquote>\n\n尾声 &amp; 完")
    assert all(visible_length(p) <= 4000 and check_message({"text": p}) is None for p in parts)
    assert "".join(p.replace("<blockquote>", "").replace("</blockquote>", "") for p in parts).count("第一句话。") == 1000


def test_text_without_any_boundary_is_cut_hard_but_never_inside_an_entity():
    parts = split_html("&amp;" * 5000, limit=4000)
    assert parts == ["&amp;" * 4000, "&amp;" * 1000]


def test_callback_codes_round_trip_and_reject_anything_else():
    assert parse_callback("src:42") == Callback("sources", query_id=42)
    assert parse_callback("fb:+:42") == Callback("feedback", query_id=42, value=1)
    assert parse_callback("fb:-:42") == Callback("feedback", query_id=42, value=-1)
    assert parse_callback("sug:42:3") == Callback("suggestion", query_id=42, number=3)
    assert parse_callback("ex:aid:1") == Callback("example", key="aid", number=1)
    assert parse_callback("topic:marriage") == Callback("topic", key="marriage")
    assert parse_callback("human") == Callback("human")
    for bad in ("", "src:", "src:abc", "fb:*:1", "topic:婚姻", "src:1 ", "human:1", None):
        assert parse_callback(bad) is None


def test_keyboards_stay_within_64_bytes_of_callback_data(menu):
    big = 10**17
    markup = answer_keyboard(menu, big, True, ("低保怎么申请?",) * 9)
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert len([d for d in data if d.startswith("sug:")]) == 5
    assert max(len(d.encode()) for d in data) <= 64
    assert [b.text for b in markup.inline_keyboard[-2]] == ["查看原文", "👍", "👎"]
    no_sources = answer_keyboard(menu, 7, False)
    assert [[b.callback_data for b in row] for row in no_sources.inline_keyboard] == [["fb:+:7", "fb:-:7"], ["human"]]
    assert [b.text for row in topics_keyboard(menu).inline_keyboard for b in row] == ["婚姻登记", "殡葬服务", "社会救助", "老年助餐", "人工服务"]


def test_an_answer_the_log_could_not_record_offers_only_the_hand_off(menu):
    unlogged = answer_keyboard(menu, None, True, ("低保怎么申请?",))
    assert [[b.callback_data for b in row] for row in unlogged.inline_keyboard] == [["human"]]


def test_menu_file_errors_name_the_file_and_line(tmp_path):
    (tmp_path / "telegram_menu.toml").write_text(
        '[buttons]\nsources = "a"\nhelpful = "b"\nnot_helpful = "c"\nhandoff = "d"\nback = "e"\n\n[[topic]]\nkey = "婚姻"\nlabel = "婚姻登记"\n',
        encoding="utf-8",
    )
    with pytest.raises(DataFileError) as raised:
        Menu.load(tmp_path)
    assert str(raised.value).endswith("telegram_menu.toml:8: topic key '婚姻' must be 1-20 of a-z 0-9 _ -")


def test_every_telegram_template_renders_valid_telegram_html(menu):
    """Each .html.j2 with hostile values passes the fake server's (Telegram-like) checks."""
    replies = Replies(ROOT / "templates", menu)
    hostile = "<script>&x</b>"
    rendered = [
        replies.render("start.html.j2", name=hostile),
        replies.render("topic.html.j2", label=hostile, description=hostile),
        replies.render("help.html.j2", commands=menu.commands, staff=True, admin=True),
        replies.render("answer.html.j2", followup=hostile, quotes=[], sources=[]),
        replies.render("faq_answer.html.j2", followup=hostile, answer=hostile, quotes=[], sources=[]),
        replies.render("search.html.j2", query=hostile, hits=[{"id": hostile, "score": 0.5, "title": hostile, "date": "", "section": hostile, "text": hostile, "validity": "not_yet", "effective": "2026-03-30", "repealed_on": ""}]),
        replies.render("reload_failed.html.j2", error=hostile),
        replies.render("stats.html.j2", stats={"documents": 1, hostile: hostile}),
        replies.render("refused.html.j2", command=hostile, admin=False),
        replies.render("plain.html.j2", text=hostile),
    ]
    for text in rendered:
        assert check_message({"text": text}) is None, text
        assert "&lt;script&gt;&amp;x&lt;/b&gt;" in text or hostile not in text
