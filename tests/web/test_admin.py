"""/admin: login, knowledge status, reload with CSRF and its report, declined and 👎 lists, rollback."""

import re
import shutil
from dataclasses import dataclass, replace

import pytest

from channels.web.admin import plain
from retrieval.assistant import Assistant

from .conftest import ADMIN_TOKEN, STAFF_TOKEN, login, make_client


@pytest.fixture()
def admin(client):
    login(client, "admin", ADMIN_TOKEN)
    return client


def csrf(html):
    return re.search(r'<input type="hidden" name="csrf" value="([0-9a-f]{64})">', html).group(1)


def test_admin_needs_its_own_token(client):
    r = client.get("/admin")
    assert r.status_code == 401 and '<form method="post" action="/admin/login">' in r.text and "<h1>管理后台</h1>" in r.text
    login(client, "lookup", STAFF_TOKEN)
    assert client.get("/admin").status_code == 401  # a staff session is not an admin session
    assert client.post("/admin/login", data={"token": STAFF_TOKEN}, follow_redirects=False).status_code == 401
    cookie = login(client, "admin", ADMIN_TOKEN).headers["set-cookie"]
    assert cookie.startswith("mz_admin=") and "Path=/admin" in cookie and "HttpOnly" in cookie
    assert client.get("/admin").status_code == 200


def test_status_shows_the_knowledge_base_with_reload_and_rollback(admin, assistant):
    r = admin.get("/admin")
    stats = assistant.stats()
    assert f'<tr><th>文件数</th><td data-key="documents">{stats["documents"]}</td></tr>' in r.text
    assert f'<tr><th>段落数</th><td data-key="passages">{stats["passages"]}</td></tr>' in r.text
    assert f'<tr><th>输入指纹</th><td data-key="input_hash">{stats["input_hash"]}</td></tr>' in r.text
    assert f'<tr><th>构建时间</th><td data-key="built_at">{stats["built_at"]}</td></tr>' in r.text
    assert 'id="reload">重新加载知识库</button>' in r.text
    assert 'id="rollback">回滚到上一版本</button>' in r.text
    assert '<p id="declined-none">暂无。</p>' in r.text and '<p id="negative-none">暂无。</p>' in r.text


def test_reload_requires_the_csrf_token_and_shows_its_report(admin, assistant):
    assert admin.post("/admin/reload", data={"csrf": "0" * 64}, follow_redirects=False).status_code == 403
    assert admin.post("/admin/reload", data={}, follow_redirects=False).status_code == 403
    token = csrf(admin.get("/admin").text)
    cross = admin.post("/admin/reload", data={"csrf": token}, headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert cross.status_code == 403
    r = admin.post("/admin/reload", data={"csrf": token}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/admin")
    page = admin.get("/admin").text
    stats = assistant.stats()
    assert "<h2>重新加载知识库:成功</h2>" in page
    assert f"<tr><th>文件数</th><td>{stats['documents']}</td></tr>" in page
    assert f"<tr><th>段落数</th><td>{stats['passages']}</td></tr>" in page
    assert "<tr><th>新分词段落</th><td>0</td></tr>" in page  # nothing changed: every passage's tokens reused
    assert "<tr><th>复用分词段落</th><td>" in page
    assert f"<tr><th>输入指纹</th><td>{stats['input_hash']}</td></tr>" in page


def test_a_broken_data_file_is_reported_and_the_old_build_stays(web_settings, log, tmp_path):
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
    assert error.startswith(str(meta)) and "火星" in error
    assert "<p>知识库未改变,仍在使用上一版本。</p>" in page
    assert broken.stats()["documents"] == 12


def test_declined_questions_and_negative_feedback_are_listed(admin, assistant, log):
    assistant.ask("护照怎么办理", channel="web", user="u1")
    reply = assistant.ask("离婚冷静期多久", channel="wechat", user="u2")
    assistant.feedback(reply.query_id, -1, "<b>没用</b>")
    page = admin.get("/admin").text
    declined = page[page.index('<table id="declined">') :]
    assert "<td>web</td><td>护照怎么办理</td><td>非民政业务</td>" in declined
    negative = page[page.index('<table id="negative">') :]
    assert "<td>wechat</td><td>离婚冷静期多久</td><td>已回答</td>" in negative
    assert "<td>&lt;b&gt;没用&lt;/b&gt;</td>" in negative


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
        assert 'id="rollback">回滚到上一版本</button>' in page
        r = admin.post("/admin/rollback", data={"csrf": csrf(page)}, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/admin")
        page = admin.get("/admin").text
    assert "<h2>回滚到上一版本:成功</h2>" in page
    assert assistant.stats()["built_at"] == before
    assert f'<td data-key="built_at">{before}</td>' in page
    assert THIRTY in assistant.ask(QUESTION).answer.sources[0].passage["text"]


def test_plain_renders_reports_of_any_shape():
    assert plain(RollbackReport(1, 2, "h")) == {"documents": 1, "passages": 2, "input_hash": "h", "diff": {"removed": ["haining-2025"], "added": []}}
    assert plain({"quality": {"hit@1": 0.92}, "ids": ("a", "b")}) == {"quality": {"hit@1": 0.92}, "ids": ["a", "b"]}
