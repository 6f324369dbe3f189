"""/admin/add against the fourth attack (docs/SECURITY.md, "Fourth attack: uploads"): a zip-bomb
.docx and a page of 100,000 nested <div> get their message without a part unpacked or parsed, nothing kept;
a bidi-override title never names a file; abandoned previews expire by age and by count, also
when the service starts; `Origin: null` is refused on every state-changing POST."""

import os
import time

import pytest

from .. import ingest_files as files
from .conftest import ADMIN_TOKEN, STAFF_TOKEN, login, make_client
from .test_admin import csrf, section, workspace_admin
from .test_admin_add import tree, upload
from ..unread import nothing_unpacked

MB = 1024 * 1024
GOOD_MD = "# 上传测试办法\n\n第一条 为了测试上传，制定本办法。\n\n第二条 本办法自2026年1月1日起施行。\n".encode()


def staged(ws):
    folder = ws.root / "var" / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def text_of(html):
    return " ".join(section(html, "add-error").replace("<p>", " ").replace("</p>", " ").split())


@pytest.mark.parametrize("name, make, message", [
    ("炸弹.docx", lambda tmp: files.make_zip_bomb_docx(tmp / "x.docx", 40 * MB).read_bytes(),
     '未添加: 炸弹.docx 解压后过大(可能是&#34;压缩炸弹&#34;), 没有读取: 其中一个部件解压后有 40.0 MB, 上限 30.0 MB(MINZHENG_ADD_MAX_ENTRY_MB)。'),
    ("部件.docx", lambda tmp: files.make_many_entries_docx(tmp / "x.docx", 20_000).read_bytes(),
     "未添加: 部件.docx 解压后过大(可能是&#34;压缩炸弹&#34;), 没有读取: 压缩包里有 20000 个部件, 上限 1000 个(MINZHENG_ADD_MAX_ENTRIES)。"),
    ("炸弹.pdf", lambda tmp: files.make_flate_bomb_pdf(tmp / "x.pdf", 40 * MB).read_bytes(),
     '未添加: 炸弹.pdf 解压后过大(可能是&#34;压缩炸弹&#34;), 没有读取: 其中一个数据流解压后超过上限 30.0 MB(MINZHENG_ADD_MAX_ENTRY_MB)。'),
    ("深.html", lambda tmp: files.make_deep_html(tmp / "x.html", 100_000).read_bytes(),
     "未添加: 深.html 的网页元素嵌套了 101 层以上, 超过上限 100 层(MINZHENG_ADD_MAX_HTML_DEPTH), 没有读取。"),
])
def test_a_hostile_upload_is_refused_unread_with_its_message_and_not_kept(ws, web_settings, tmp_path, name, make, message):
    before = tree(ws.root)
    data = make(tmp_path)
    with workspace_admin(ws, web_settings) as (assistant, c):
        with nothing_unpacked():
            r = upload(c, name, data, "application/octet-stream")
        assert r.status_code == 422
        shown = text_of(r.text)
        assert message in shown and "知识库没有改变。" in shown
        assert "Error" not in shown and "Traceback" not in shown and "/tmp" not in r.text
        assert "最低生活保障" in c.post("/chat/api/ask", json={"question": "低保怎么申请"}).json()["text"]  # citizens still answered
    assert tree(ws.root) == before
    assert staged(ws) == []


def test_a_bidi_override_in_the_title_names_no_file_and_the_preview_says_it_was_removed(ws, web_settings):
    with workspace_admin(ws, web_settings) as (assistant, c):
        r = upload(c, "bidi\u202e.md", "# \u202e测试办法\u202c\n\n第一条 正文\u2066\u2067。\n".encode(), "text/markdown")
        assert r.status_code == 200
        converted = section(r.text, "converted")
        assert converted == 'id="converted">由Markdown bidi.md 转换而来;将写入 knowledge/documents/测试办法.md,原件存为 knowledge/originals/测试办法.md。'
        assert "注意:看不见的字符(文字方向控制符、零宽字符或控制字符)已从文件的文字(4 个)中删除。" in section(r.text, "cleaned")
        assert not any(c in r.text for c in "\u202e\u202c\u2066\u2067")
        [token] = staged(ws)
        assert [p.name for p in (ws.root / "var" / "uploads" / token).iterdir()] == ["bidi.md"]


def test_abandoned_previews_expire_by_age_and_by_count(ws, web_settings):
    uploads = ws.root / "var" / "uploads"
    with workspace_admin(ws, web_settings, add_max_previews=3, add_preview_hours=2) as (assistant, c):
        order, t0 = [], time.time() - 600
        for n in range(5):
            before = set(staged(ws))
            assert upload(c, f"办法{n}.md", GOOD_MD, "text/markdown").status_code == 200
            [new] = set(staged(ws)) - before
            os.utime(uploads / new, (t0 + n, t0 + n))  # one a second: their order is certain
            order.append(new)
        assert staged(ws) == sorted(order[-3:])  # the two oldest went
        newest = order[-3:]
        # one left three hours ago (older than add_preview_hours) goes at the next upload
        old = ws.root / "var" / "uploads" / newest[0]
        os.utime(old, (time.time() - 3 * 3600, time.time() - 3 * 3600))
        assert upload(c, "办法5.md", GOOD_MD, "text/markdown").status_code == 200
        assert old.name not in staged(ws) and len(staged(ws)) == 3
        # its preview is gone and says how long previews are kept
        r = c.post("/admin/add/review", data={"csrf": csrf(c.get("/admin/add").text), "token": old.name, "step": "preview"})
        assert r.status_code == 410
        assert "未添加: 这次上传已过期或已处理(未确认的上传只保留 2 小时)。请重新上传。" in text_of(r.text)


def test_previews_abandoned_before_a_start_are_removed_when_the_service_starts(ws, web_settings):
    uploads = ws.root / "var" / "uploads"
    old, fresh, other = uploads / ("a" * 32), uploads / ("b" * 32), uploads / "not-a-preview"
    for folder in (old, fresh, other):
        folder.mkdir(parents=True)
        (folder / "x.md").write_bytes(GOOD_MD)
    os.utime(old, (time.time() - 25 * 3600, time.time() - 25 * 3600))
    with workspace_admin(ws, web_settings) as (assistant, c):
        assert staged(ws) == ["b" * 32, "not-a-preview"]  # only what the page staged is its to remove


# -- Origin: null ---------------------------------------------------------------------------------
def test_origin_null_is_refused_on_admin_lookup_and_chat_posts_and_no_origin_still_works(assistant, web_settings, monkeypatch):
    calls = []
    monkeypatch.setattr(assistant, "reload", lambda: calls.append("reload"))
    null = {"Origin": "null"}
    with make_client(assistant, web_settings) as c:
        assert c.post("/admin/login", data={"token": ADMIN_TOKEN}, headers=null, follow_redirects=False).status_code == 403
        assert c.post("/lookup/login", data={"token": STAFF_TOKEN}, headers=null, follow_redirects=False).status_code == 403
        assert c.post("/chat/api/ask", json={"question": "低保怎么申请"}, headers=null).status_code == 403
        login(c, "admin", ADMIN_TOKEN)
        token = csrf(c.get("/admin").text)
        assert c.post("/admin/reload", data={"csrf": token}, headers=null, follow_redirects=False).status_code == 403
        r = c.post("/admin/add/upload", data={"csrf": csrf(c.get("/admin/add").text)}, files={"file": ("a.md", GOOD_MD, "text/markdown")}, headers=null)
        assert r.status_code == 403
        assert calls == []
        # our own origin, or none at all (curl, scripts), with the token: as before
        base = str(c.base_url).rstrip("/")
        assert c.post("/admin/reload", data={"csrf": token}, headers={"Origin": base}, follow_redirects=False).status_code == 303
        assert c.post("/admin/reload", data={"csrf": token}, follow_redirects=False).status_code == 303
        assert calls == ["reload", "reload"]
        assert c.post("/chat/api/ask", json={"question": "低保怎么申请"}).status_code == 200
