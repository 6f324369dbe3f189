"""/admin/add (issue 18): an admin with only a .docx of a new local 低保 rule uploads it, reviews
the proposed metadata and passages, accepts (the reload gate), sees the citizens' answer cite it,
and undoes it; broken uploads get a clear message in Chinese and leave knowledge/ as it was."""

import re
from dataclasses import replace

import pytest

from .. import ingest_files as files
from .conftest import make_client
from .test_admin import csrf, section, workspace_admin

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOC_ID = "hzsdbjtznrxzzbf-2024"
TITLE = "杭州市低保家庭子女入学资助办法"
ARTICLE = f"{DOC_ID}:第三条"
QUESTION = "低保家庭子女考入全日制普通高校给予多少入学资助"
ASKED = "低保家庭孩子考上大学有补助吗\n低保户子女上本科能拿多少入学资助"


def tree(root):
    """Every file under knowledge/ with its bytes: what "knowledge/ as it was" means."""
    return {p.relative_to(root): p.read_bytes() for p in sorted((root / "knowledge").rglob("*")) if p.is_file()}


def upload(c, name, data, mime=DOCX):
    token = csrf(c.get("/admin/add").text)
    return c.post("/admin/add/upload", data={"csrf": token}, files={"file": (name, data, mime)})


def form_values(page):
    """The review form's fields as the page fills them in (what an admin who changes nothing sends)."""
    form = section(page, "add-form")
    values = dict(re.findall(r'<input name="(\w+)" value="([^"]*)"', form))
    values["kind"] = re.search(r'<option value="(\w+)" selected>', form).group(1)
    values["token"] = re.search(r'name="token" value="([0-9a-f]{32})"', form).group(1)
    values["csrf"] = csrf(page)
    return values


def chat(c, question):
    r = c.post("/chat/api/ask", json={"question": question})
    assert r.status_code == 200
    return r.json()


def test_upload_review_accept_answer_then_undo(ws, web_settings, tmp_path):
    before = tree(ws.root)
    with workspace_admin(ws, web_settings) as (assistant, c):
        assert TITLE not in {s["title"] for s in chat(c, QUESTION)["sources"]}  # the chat API cites by title
        r = upload(c, "入学资助.docx", files.make_docx(tmp_path / "入学资助.docx").read_bytes())
        assert r.status_code == 200
        page = r.text
        # the proposal, editable, with where each value came from; the passages it will make
        values = form_values(page)
        assert {k: values[k] for k in ("title", "issuer", "region", "kind", "published", "effective", "id")} == {
            "title": "杭州市低保家庭子女入学资助办法", "issuer": "杭州市民政局", "region": "杭州市", "kind": "regulation",
            "published": "2024-01-15", "effective": "2024-03-01", "id": DOC_ID,
        }
        assert "将生成 5 个段落:条 5" in page
        assert '<span class="section">第二章 资助标准 › 第三条</span> 第三条 低保家庭子女考入全日制普通高校的，给予一次性入学资助，标准如下：' in page
        assert tree(ws.root) == before  # a preview writes nothing to knowledge/
        # the admin corrects nothing but writes how citizens ask what 第三条 answers, and accepts
        r = c.post("/admin/add/review", data={**values, f"q:{ARTICLE}": ASKED, "step": "accept"}, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/admin/add")
        page = c.get("/admin/add").text
        assert "添加文件:成功" in page
        assert f"已添加《杭州市低保家庭子女入学资助办法》({DOC_ID},5 个段落),并已重新加载" in page
        assert 'id="quality"' in page  # the reload report's quality line
        listed = section(page, "added-list")
        assert f"<code>{DOC_ID}</code>" in listed and "入学资助.docx" in listed
        added = set(tree(ws.root)) - set(before)
        assert sorted(str(p) for p in added) == sorted([
            "knowledge/documents/杭州市低保家庭子女入学资助办法(2024-01-15).md",
            "knowledge/documents/杭州市低保家庭子女入学资助办法(2024-01-15).toml",
            "knowledge/originals/杭州市低保家庭子女入学资助办法(2024-01-15).docx",
            f"knowledge/questions/{DOC_ID}.toml",
        ])
        # a citizen's question is answered from the new rule, cited with its article and dates
        answer = chat(c, QUESTION)
        assert answer["kind"] == "answer"
        first = answer["sources"][0]
        assert (first["title"], first["issuer"], first["section"], first["date"], first["effective"], first["validity"]) == (
            "杭州市低保家庭子女入学资助办法", "杭州市民政局", "第二章 资助标准 › 第三条", "2024-01-15", "2024-03-01", "in_force")
        text = assistant.answerer.ask(QUESTION).text
        assert "[1] 《杭州市低保家庭子女入学资助办法》杭州市民政局,2024-01-15,2024-03-01施行 › 第二章 资助标准 › 第三条" in text
        # undo: the files add wrote are removed and the build reloaded; the rule is no longer cited
        r = c.post("/admin/add/undo", data={"csrf": csrf(page), "id": DOC_ID}, follow_redirects=False)
        assert r.status_code == 303
        page = c.get("/admin/add").text
        assert "撤销添加:成功" in page and f"已撤销《杭州市低保家庭子女入学资助办法》({DOC_ID})" in page
        assert 'id="none-added"' in page
        assert tree(ws.root) == before
        assert TITLE not in {s["title"] for s in chat(c, QUESTION)["sources"]}  # the chat API cites by title
        assert DOC_ID not in {d["id"] for d in assistant.documents()}


def test_a_changed_value_is_kept_and_shown_as_given(ws, web_settings, tmp_path):
    with workspace_admin(ws, web_settings) as (assistant, c):
        values = form_values(upload(c, "入学资助.docx", files.make_docx(tmp_path / "入学资助.docx").read_bytes()).text)
        r = c.post("/admin/add/review", data={**values, "effective": "2024年4月1日", "step": "preview"})
        assert r.status_code == 200
        assert form_values(r.text)["effective"] == "2024-04-01"
        assert '<input name="effective" value="2024-04-01" placeholder="YYYY-MM-DD">\n      <span class="origin">您指定</span>' in r.text
        r = c.post("/admin/add/review", data={**form_values(r.text), "region": "火星区", "step": "accept"})
        assert r.status_code == 422
        assert "地区 无效或缺失,请在上面填写(region &#39;火星区&#39; must be one of" in r.text
        assert not (ws.root / "knowledge" / "originals").exists()


BROKEN = [
    ("损坏.docx", lambda tmp: files.truncated(files.make_docx(tmp / "x.docx").read_bytes()), DOCX,
     "未添加: 损坏.docx 已损坏或不是它的后缀所说的格式, 无法读取"),
    ("加密.pdf", lambda tmp: files.make_encrypted_pdf(tmp / "x.pdf").read_bytes(), "application/pdf",
     "未添加: 加密.pdf 是加密(需要密码)的 PDF。请提供未加密的版本。"),
    ("扫描件.pdf", lambda tmp: files.make_scanned_pdf(tmp / "x.pdf").read_bytes(), "application/pdf",
     "未添加: 扫描件.pdf 是扫描件"),
    ("通知.xls", lambda tmp: b"\xd0\xcf\x11\xe0", "application/vnd.ms-excel",
     "未添加: 通知.xls 的格式不支持"),
]


@pytest.mark.parametrize("name, make, mime, message", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_upload_gets_a_clear_message_and_knowledge_stays_as_it_was(ws, web_settings, tmp_path, name, make, mime, message):
    before = tree(ws.root)
    data = make(tmp_path)
    with workspace_admin(ws, web_settings) as (assistant, c):
        r = upload(c, name, data, mime)
        assert r.status_code == 422
        shown = section(r.text, "add-error")
        assert message in shown and "知识库没有改变。" in shown
        assert "/tmp" not in r.text and str(ws.root) not in r.text  # never a server path
    assert tree(ws.root) == before
    assert list((web_settings_uploads(ws)).glob("*")) == []  # the refused upload is not kept


def web_settings_uploads(ws):
    return ws.root / "var" / "uploads"


def test_a_file_over_the_limit_is_refused_before_it_is_kept(ws, web_settings, tmp_path):
    before = tree(ws.root)
    with workspace_admin(ws, web_settings, add_max_mb=1) as (assistant, c):
        r = upload(c, "大文件.docx", b"PK" + b"0" * (2 * 1024 * 1024))
        assert r.status_code == 413
        assert "超过上限 1.0 MB(MINZHENG_ADD_MAX_MB)" in section(r.text, "add-error")
    assert tree(ws.root) == before
    assert not web_settings_uploads(ws).exists() or list(web_settings_uploads(ws).glob("*")) == []


def test_upload_needs_the_admin_session_and_its_csrf_token(ws, web_settings, tmp_path):
    settings = replace(ws.settings, admin_token=web_settings.admin_token, staff_token=web_settings.staff_token, session_revocation_dir=ws.root / "var")
    from retrieval.assistant import Assistant

    assistant = Assistant(settings)
    with make_client(assistant, settings) as c:
        r = c.post("/admin/add/upload", files={"file": ("a.txt", b"x", "text/plain")}, follow_redirects=False)
        assert r.status_code in (303, 401)
    assistant.log.close()
    with workspace_admin(ws, web_settings) as (assistant, c):
        r = c.post("/admin/add/upload", data={"csrf": "0" * 64}, files={"file": ("a.txt", b"x", "text/plain")})
        assert r.status_code == 403
        assert c.post("/admin/add/undo", data={"csrf": csrf(c.get("/admin/add").text), "id": "marriage-registration-2025"}).status_code == 404
