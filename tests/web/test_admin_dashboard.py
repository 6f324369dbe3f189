"""/admin/dashboard: a seeded query log (tests/data/dashboard_log.jsonl, times on a UTC server
clock) summed up by Shanghai day, drawn as inline SVG without script."""

import datetime
import json
import re

import pytest

from ..conftest import DATA
from .conftest import ADMIN_TOKEN, login, make_client
from .test_admin import section, utc_server

NOW = datetime.datetime(2026, 12, 2, 4, 0, tzinfo=datetime.timezone.utc).timestamp()  # 12:00 in Shanghai


def seed(log):
    for line in (DATA / "dashboard_log.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        outcome = "passages" if row["kind"] == "answer" else "decline"
        query_id = log.db["queries"].insert({"time": row["time"], "channel": row["channel"], "kind": row["kind"], "outcome": outcome, "question": row["question"]}).last_pk
        for when, value in row.get("votes", ()):
            log.db["feedback"].insert({"query_id": query_id, "time": when, "value": value})


@pytest.fixture()
def dashboard(assistant, web_settings, log, monkeypatch):
    with utc_server(monkeypatch):
        seed(log)
        with make_client(assistant, web_settings, clock=lambda: NOW) as c:
            login(c, "admin", ADMIN_TOKEN)
            yield c


def bar_titles(page, chart, day):
    svg = section(page, chart)
    bar = svg[svg.index(f'<g class="bar" data-day="{day}">') :]
    return re.findall(r"<title>([^<]*)</title>", bar[: bar.index("</g>")])


def test_questions_per_day_by_channel_in_shanghai_days(dashboard):
    page = dashboard.get("/admin/dashboard").text
    assert "<p class=\"period\">最近 14 天(2026-11-19 至 2026-12-02),共 9 个提问。" in page
    assert bar_titles(page, "chart-channels", "2026-12-02") == ["2026-12-02 网页聊天:3", "2026-12-02 微信:1"]
    assert bar_titles(page, "chart-channels", "2026-12-01") == ["2026-12-01 微信:2", "2026-12-01 Telegram:1"]
    assert bar_titles(page, "chart-channels", "2026-11-20") == []
    legend = section(page, "chart-channels")
    assert '<li><span class="swatch s0"></span>网页聊天</li><li><span class="swatch s1"></span>微信</li><li><span class="swatch s2"></span>Telegram</li>' in legend


def test_answered_suggested_declined_shares(dashboard):
    page = dashboard.get("/admin/dashboard").text
    assert bar_titles(page, "chart-outcomes", "2026-12-02") == ["2026-12-02 已回答:50%", "2026-12-02 给出相关建议:25%", "2026-12-02 未回答:25%"]
    totals = section(page, "outcome-totals")
    assert '<td data-outcome="answered">3(33%)</td><td data-outcome="suggested">1(11%)</td><td data-outcome="declined">5(56%)</td>' in totals


def test_top_topics_votes_and_the_gaps_that_grew(dashboard):
    page = dashboard.get("/admin/dashboard").text
    topics = section(page, "chart-topics")
    labels = re.findall(r'<text class="label"[^>]*>([^<]*)</text>', topics)
    values = re.findall(r'<text class="value"[^>]*>([^<]*)</text>', topics)
    # every topic a question mentions counts: 殡葬补贴怎么申请 is funeral and aid (补贴)
    assert list(zip(labels, values)) == [("社会救助", "5"), ("婚姻登记", "3"), ("殡葬服务", "1")]
    assert '<p id="vote-totals">共 2 个“有用”、1 个“没用”。</p>' in page
    votes = section(page, "chart-votes")
    assert "<title>有用:2</title>" in votes and "<title>没用:1</title>" in votes
    gaps = section(page, "gaps")
    rows = re.findall(r"<tr><td>(.*?)</td><td>(\d+)</td><td>(\d+)</td>", gaps)
    # declined (not out of scope) or 👎, grouped like `bot.py report`; the most grown first
    assert [(q.split("<br>")[0], int(a), int(b)) for q, a, b in rows] == [("低保每个月发多少钱", 3, 1), ("彩礼最多能要多少", 1, 0), ("殡葬补贴怎么申请", 1, 0)]
    assert "<br><small>低保每个月发多少 / 低保一个月发多少</small>" in gaps
    assert '<a href="/admin/faq/edit?question=%E4%BD%8E%E4%BF%9D%E6%AF%8F%E4%B8%AA%E6%9C%88%E5%8F%91%E5%A4%9A%E5%B0%91%E9%92%B1">转为常见问答草稿</a>' in gaps
    assert "护照" not in gaps  # another department's matter is no knowledge gap


def test_the_charts_are_inline_svg_with_no_script_and_nothing_from_elsewhere(dashboard):
    page = dashboard.get("/admin/dashboard").text
    assert page.count("<svg ") == 4
    assert "<script" not in page and "http://" not in page.replace('href="http', "") and "https://" not in page
    assert 'style="' not in page  # CSP allows no inline styles: colours come from style.css


def test_the_period_can_be_7_14_or_30_days(dashboard):
    assert "最近 7 天(2026-11-26 至 2026-12-02),共 8 个提问。" in dashboard.get("/admin/dashboard?days=7").text
    assert "最近 30 天(2026-11-03 至 2026-12-02),共 10 个提问。" in dashboard.get("/admin/dashboard?days=30").text
    assert "最近 14 天" in dashboard.get("/admin/dashboard?days=1000").text
    assert "最近 14 天" in dashboard.get("/admin/dashboard?days=abc").text


def test_an_empty_log_says_so(assistant, web_settings, log):
    with make_client(assistant, web_settings, clock=lambda: NOW) as c:
        login(c, "admin", ADMIN_TOKEN)
        page = c.get("/admin/dashboard").text
    for empty in ('<p id="no-questions">这段时间没有提问。</p>', '<p id="no-votes">这段时间没有反馈。</p>', '<p id="no-gaps">本周没有比上周增多的未回答问题。</p>'):
        assert empty in page
