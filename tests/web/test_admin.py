"""/admin: login, knowledge status in local time, reload with CSRF and its report in Chinese,
refused and failed actions (never a 500), rollback behind a confirmation page, declined
questions by kind with FAQ-draft links, 👎 feedback."""

import contextlib
import datetime
import re
import shutil
import time
from dataclasses import dataclass, replace
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from retrieval.assistant import Assistant

from ..workspace import CIVIL_CODE, FORTY_FIVE, THIRTY
from .conftest import ADMIN_TOKEN, NOW, STAFF_TOKEN, login, make_client

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture()
def admin(client):
    login(client, "admin", ADMIN_TOKEN)
    return client


def csrf(html):
    return re.search(r'<input type="hidden" name="csrf" value="([0-9a-f]{64})">', html).group(1)


def section(page, element_id):
    """The HTML of the element with this id, up to its closing tag (no nesting of the same tag)."""
    start = page.index(f'id="{element_id}"')
    tag = page[page.rindex("<", 0, start) + 1 : start].split()[0]
    return page[start : page.index(f"</{tag}>", start)]


def shanghai(moment):
    """A time as the admin pages show it: YYYY-MM-DD HH:MM in Asia/Shanghai."""
    if isinstance(moment, (int, float)):
        return datetime.datetime.fromtimestamp(moment, SHANGHAI).strftime("%Y-%m-%d %H:%M")
    text = moment[:-2] + ":" + moment[-2:] if moment[-5] in "+-" else moment
    return datetime.datetime.fromisoformat(text).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


@contextlib.contextmanager
def workspace_admin(ws, web_settings, **changes):
    """An Assistant and a signed-in admin client over the test's own copy of knowledge/ and faq/."""
    settings = replace(
        ws.settings,
        admin_token=ADMIN_TOKEN,
        staff_token=STAFF_TOKEN,
        session_revocation_dir=ws.root / "var",
        rate_limit_per_minute=1000,
        **changes,
    )
    assistant = Assistant(settings)
    with make_client(assistant, settings) as c:
        login(c, "admin", ADMIN_TOKEN)
        yield assistant, c
    assistant.log.close()


@contextlib.contextmanager
def utc_server(monkeypatch):
    """The server's own clock in UTC (as on most servers), whatever this machine's zone is."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        yield
    finally:
        monkeypatch.undo()
        time.tzset()


def test_admin_needs_its_own_token(client):
    r = client.get("/admin")
    assert r.status_code == 401 and '<form method="post" action="/admin/login">' in r.text and "<h1>管理后台</h1>" in r.text
    login(client, "lookup", STAFF_TOKEN)
    assert client.get("/admin").status_code == 401  # a staff session is not an admin session
    assert client.post("/admin/login", data={"token": STAFF_TOKEN}, follow_redirects=False).status_code == 401
    cookie = login(client, "admin", ADMIN_TOKEN).headers["set-cookie"]
    assert cookie.startswith("mz_admin=") and "Path=/admin" in cookie and "HttpOnly" in cookie
    assert client.get("/admin").status_code == 200


@pytest.mark.parametrize("path", ["/admin/dashboard", "/admin/faq", "/admin/faq/edit", "/admin/faq/edit?id=marriage-materials", "/admin/rollback/confirm"])
def test_every_admin_page_needs_the_admin_session(client, path):
    r = client.get(path)
    assert r.status_code == 401 and '<form method="post" action="/admin/login">' in r.text
    assert client.get(path, headers={"Authorization": f"Bearer {STAFF_TOKEN}"}).status_code == 401
    assert client.get(path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 200


def test_status_shows_the_knowledge_base_in_local_time_with_reload_and_rollback(admin, assistant):
    r = admin.get("/admin")
    stats = assistant.stats()
    assert f'<tr><th>文件数</th><td data-key="documents">{stats["documents"]}</td></tr>' in r.text
    assert f'<tr><th>段落数</th><td data-key="passages">{stats["passages"]}</td></tr>' in r.text
    assert f'<tr><th>输入指纹</th><td data-key="input_hash">{stats["input_hash"]}</td></tr>' in r.text
    # built_at is stored with the server's offset (+0000 on a UTC server); shown in Shanghai time
    assert f'<tr><th>构建时间</th><td data-key="built_at">{shanghai(stats["built_at"])}</td></tr>' in r.text
    assert 'id="reload">重新加载知识库</button>' in r.text
    assert '<a class="button" id="rollback" href="/admin/rollback/confirm">回滚到上一版本…</a>' in r.text
    assert '<p id="declined-none">暂无。</p>' in r.text and '<p id="negative-none">暂无。</p>' in r.text
    assert '<p class="zone">时间均为 Asia/Shanghai 时间。</p>' in r.text


def test_reload_requires_the_csrf_token_and_reports_in_chinese(admin, assistant):
    assert admin.post("/admin/reload", data={"csrf": "0" * 64}, follow_redirects=False).status_code == 403
    assert admin.post("/admin/reload", data={}, follow_redirects=False).status_code == 403
    token = csrf(admin.get("/admin").text)
    cross = admin.post("/admin/reload", data={"csrf": token}, headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert cross.status_code == 403
    r = admin.post("/admin/reload", data={"csrf": token}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/admin")
    page = admin.get("/admin").text
    stats = assistant.stats()
    report = section(page, "last-action")
    assert "<h2>重新加载知识库:成功</h2>" in report
    assert f'<p class="when">{shanghai(NOW)},用时 ' in report
    n = stats["passages"]
    assert f'<p id="summary">知识库现有 {stats["documents"]} 个文件、{n} 个段落;本次重新分词 0 段,沿用 {n} 段。</p>' in report
    assert '<p id="no-change">knowledge/ 和 faq/ 的内容与上一版本相同,没有变化。</p>' in report
    before, after = re.search(r'<p id="quality">检索质量\(hit@3,题集 (?:dev|golden_questions)\.jsonl\):切换前 ([0-9.]+),切换后 ([0-9.]+),变化 \+0\.000;允许下降不超过 0\.03。</p>', report).groups()
    assert before == after and float(after) > 0.8
    # none of the old raw dump: no English field names, no server paths
    for raw in ("previous_input_hash", "input_hash", "added", "tokenized", "/tmp", "/work", str(assistant.settings.store_path.parent)):
        assert raw not in report, raw


def test_a_reload_that_changes_a_document_names_it_and_its_passages(ws, web_settings):
    with workspace_admin(ws, web_settings) as (assistant, c):
        ws.edit(CIVIL_CODE, THIRTY, FORTY_FIVE)
        c.post("/admin/reload", data={"csrf": csrf(c.get("/admin").text)})
        report = section(c.get("/admin").text, "last-action")
    assert "<h2>重新加载知识库:成功</h2>" in report
    changes = section(report, "changes")
    assert "<tr><th>修改文件</th><td>《中华人民共和国民法典·婚姻家庭编》</td></tr>" in changes
    assert "<tr><th>段落</th><td>新增 0 段,修改 1 段,删除 0 段" in changes
    assert "<li>《中华人民共和国民法典·婚姻家庭编》 修改 1 段</li>" in changes
    assert "常见问答" not in changes  # no FAQ entry changed
    assert re.search(r"切换前 0\.\d+,切换后 0\.\d+,变化 -0\.0\d\d;允许下降不超过 0\.03。", report)


def test_a_broken_data_file_is_reported_by_project_path_and_the_old_build_stays(web_settings, log, tmp_path):
    knowledge = tmp_path / "knowledge"
    shutil.copytree(web_settings.knowledge_dir, knowledge)
    settings = replace(web_settings, knowledge_dir=knowledge, store_path=tmp_path / "store.db")
    broken = Assistant(settings)
    broken.reload()
    meta = knowledge / "documents" / "婚姻登记条例(2025-04-06).toml"
    meta.write_text(meta.read_text(encoding="utf-8").replace('region = "全国"', 'region = "火星"'), encoding="utf-8")
    with make_client(broken, settings) as c:
        login(c, "admin", ADMIN_TOKEN)
        c.post("/admin/reload", data={"csrf": csrf(c.get("/admin").text)})
        page = c.get("/admin").text
    assert "<h2>重新加载知识库:失败</h2>" in page
    error = re.search(r'<p class="error" id="action-error">(.*?)</p>', page).group(1)
    assert error.startswith("knowledge/documents/婚姻登记条例(2025-04-06).toml") and "火星" in error
    assert str(tmp_path) not in page
    assert "<p>数据文件有误,请按上面的文件和行号修改后再重新加载。</p>" in page
    assert "<p>知识库未改变,仍在使用上一版本。</p>" in page
    assert broken.stats()["documents"] == 12


def test_the_page_renders_after_a_refused_reload_and_a_rollback_with_no_previous_build(ws, web_settings):
    """Both used to leave GET /admin answering 500 until a restart (admin.html read last_action.path)."""
    with workspace_admin(ws, web_settings, reload_max_quality_drop=0.0) as (assistant, c):
        c.post("/admin/rollback", data={"csrf": csrf(c.get("/admin").text)})  # the workspace was built, never reloaded
        r = c.get("/admin")
        assert r.status_code == 200
        report = section(r.text, "last-action")
        assert "<h2>回滚到上一版本:失败</h2>" in report
        assert '<p class="error" id="action-error">无法回滚:没有保留上一个版本(还没有成功重新加载过)。</p>' in report
        assert "<p>知识库未改变,仍在使用上一版本。</p>" in report

        ws.edit(CIVIL_CODE, THIRTY, FORTY_FIVE)  # hit@3 dips a little: more than the margin of 0
        c.post("/admin/reload", data={"csrf": csrf(r.text)})
        r = c.get("/admin")
        assert r.status_code == 200
        report = section(r.text, "last-action")
        assert "<h2>重新加载知识库:未切换</h2>" in report
        numbers = re.search(r'<p class="error" id="action-error">未切换:检索质量 hit@3 将从 (0\.\d+) 降到 (0\.\d+),超过允许的降幅 0\.0。</p>', report)
        assert float(numbers.group(1)) > float(numbers.group(2))
        assert "<h3>本次将会发生的变化</h3>" in report
        assert "<tr><th>修改文件</th><td>《中华人民共和国民法典·婚姻家庭编》</td></tr>" in report
        assert THIRTY in assistant.ask("离婚冷静期是多久").answer.sources[0].passage["text"]  # the old build still answers


@dataclass(frozen=True)
class RollbackReport:
    documents: int
    passages: int
    input_hash: str

    @property
    def diff(self):
        return {"removed": ["haining-2025"], "added": []}


def test_rollback_restores_the_previous_build_after_a_reload(ws, web_settings):
    from ..workspace import CIVIL_CODE, FORTY_FIVE, QUESTION, THIRTY

    settings = replace(web_settings, knowledge_dir=ws.settings.knowledge_dir, faq_dir=ws.settings.faq_dir, store_path=ws.settings.store_path,
                       log_path=ws.settings.log_path, reload_quality_questions=ws.settings.reload_quality_questions)
    assistant = Assistant(settings)
    before = assistant.stats()["built_at"]
    ws.edit(CIVIL_CODE, THIRTY, FORTY_FIVE)  # a real change: a reload of the same tree is no rollback point
    with make_client(assistant, settings) as admin:
        login(admin, "admin", ADMIN_TOKEN)
        admin.post("/admin/reload", data={"csrf": csrf(admin.get("/admin").text)})
        assert FORTY_FIVE in assistant.ask(QUESTION).answer.sources[0].passage["text"]
        page = admin.get("/admin").text
        assert '<a class="button" id="rollback" href="/admin/rollback/confirm">回滚到上一版本…</a>' in page
        confirm = admin.get("/admin/rollback/confirm")
        assert '<p id="rollback-question">要把知识库换回上一个版本吗?</p>' in confirm.text
        assert FORTY_FIVE in assistant.ask(QUESTION).answer.sources[0].passage["text"]  # looking changes nothing
        r = admin.post("/admin/rollback", data={"csrf": csrf(confirm.text)}, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/admin")
        page = admin.get("/admin").text
    assert "<h2>回滚到上一版本:成功</h2>" in page
    assert assistant.stats()["built_at"] == before
    assert f'<td data-key="built_at">{shanghai(before)}</td>' in page
    assert THIRTY in assistant.ask(QUESTION).answer.sources[0].passage["text"]


def test_declined_questions_are_grouped_by_kind_with_faq_draft_links(admin, assistant, log):
    assistant.ask("护照怎么办理", channel="web", user="u1")  # another department's matter
    assistant.ask("滨湖区民政局电话多少", channel="wechat", user="u2")  # related passages, the phone number missing
    assistant.ask("余杭的爱心卡去哪里办,要带什么材料", channel="telegram", user="u3")  # related passages, no material named
    assistant.ask("结婚证能不能搞成电子版的,手机上直接亮证那种", channel="telegram", user="u6")  # related passages, not sure they answer
    assistant.ask("结婚登记前要不要先做婚检", channel="web", user="u4")  # nothing in the sources
    assistant.ask("滨湖区民政局电话多少", channel="wechat", user="u5")  # asked again: one row, counted
    page = admin.get("/admin").text
    gap = section(page, "declined-gap")
    assert "<h3>知识缺口:资料相关,但没能给出答案(4)</h3>" in page
    assert "<td>微信</td><td>滨湖区民政局电话多少</td><td>缺少具体信息</td><td>2</td>" in gap
    assert gap.count("滨湖区民政局电话多少</td>") == 1
    assert "<td>Telegram</td><td>余杭的爱心卡去哪里办,要带什么材料</td><td>缺少具体信息</td>" in gap
    assert "<td>Telegram</td><td>结婚证能不能搞成电子版的,手机上直接亮证那种</td><td>相关但不确定</td>" in gap
    assert f'<a href="/admin/faq/edit?question={quote("滨湖区民政局电话多少")}">转为常见问答草稿</a>' in gap
    missing = page[page.index('id="declined-not_found"') : page.index('id="declined-out_of_scope"')]
    assert "<h3>资料中没有(1)</h3>" in missing
    assert "<td>网页聊天</td><td>结婚登记前要不要先做婚检</td><td>资料中没有</td>" in missing
    other = page[page.index('id="declined-out_of_scope"') :]
    assert "<h3>非民政业务(1)</h3>" in other
    assert "<td>网页聊天</td><td>护照怎么办理</td><td>非民政业务</td>" in other
    assert "转为常见问答草稿" not in other[: other.index("</section>")]  # nothing to write for another department


def test_logged_times_are_shown_in_shanghai_time_on_a_utc_server(admin, assistant, log, monkeypatch):
    with utc_server(monkeypatch):
        log.flush()
        with log._lock:  # the log's writer thread shares this connection
            query_id = log.db["queries"].insert({"time": "2026-12-01T23:30:00", "channel": "web", "question": "护照怎么办理", "kind": "out_of_scope", "outcome": "decline"}).last_pk
            log.db["feedback"].insert({"query_id": query_id, "time": "2026-12-01T16:05:00", "value": -1, "comment": "没用"})
        page = admin.get("/admin").text
    assert "<tr><td>2026-12-02 07:30</td><td>网页聊天</td><td>护照怎么办理</td>" in page
    assert "<tr><td>2026-12-02 00:05</td><td>网页聊天</td><td>护照怎么办理</td>" in page


def test_negative_feedback_is_listed_escaped(admin, assistant, log):
    reply = assistant.ask("离婚冷静期多久", channel="wechat", user="u2")
    assistant.feedback(reply.query_id, -1, "<b>没用</b>")
    negative = section(admin.get("/admin").text, "negative")
    assert "<td>微信</td><td>离婚冷静期多久</td><td>已回答</td>" in negative
    assert "<td>&lt;b&gt;没用&lt;/b&gt;</td>" in negative


def test_a_failing_action_of_any_other_kind_still_renders_in_words(admin, assistant, monkeypatch):
    from retrieval.errors import StoreWriteError

    def full_disk():
        raise StoreWriteError("/srv/minzheng/var/.store.db.next", "No space left on device")

    monkeypatch.setattr(assistant, "reload", full_disk)
    admin.post("/admin/reload", data={"csrf": csrf(admin.get("/admin").text)})
    r = admin.get("/admin")
    assert r.status_code == 200
    assert '<p class="error" id="action-error">无法写入知识库文件:No space left on device</p>' in r.text
    assert "/srv/minzheng" not in r.text
