"""/admin/faq: the FAQ editor. Change or add an entry from the browser, checked like `bot.py check`,
shown as a diff, written to faq/entries/*.toml and reloaded through the quality gate; a declined
question opens it prefilled. Each test edits its own copy of faq/ (tests/workspace.py)."""

import html
import re
import tomllib
from urllib.parse import quote

import pytest

from retrieval.faq_edit import render_entry, replace_block

from ..workspace import CIVIL_CODE, FORTY_FIVE, THIRTY
from .conftest import ADMIN_TOKEN, STAFF_TOKEN
from .test_admin import csrf, section, workspace_admin

MATERIALS = "marriage-materials"
OLD_ANSWER = "内地居民办理结婚登记，双方各带本人的居民身份证，并现场签署本人无配偶以及与对方没有直系血亲和三代以内旁系血亲关系的声明。自2025年5月10日起施行的现行条例不再要求户口簿。"
NEW_ANSWER = "内地居民办理结婚登记，双方各带本人的居民身份证，到婚姻登记机关现场签署本人无配偶以及与对方没有直系血亲和三代以内旁系血亲关系的声明。自2025年5月10日起施行的现行条例不再要求户口簿。"
QUESTIONS = "领证需要带哪些材料\n结婚登记还要户口本吗\n去民政局扯证要带啥\n結婚登記要帶哪些證件\n结昏证要准备什么东西"
SOURCES = ["marriage-registration-2025:第八条", "marriage-registration-2025:第二十八条"]


def form(page, **values):
    """The editor's fields for a POST: the CSRF token of the page plus the given values."""
    fields = {"csrf": csrf(page), "original": "", "gives": "", "id": "", "topic": "", "region": "全国", "questions": "", "answer": "", "valid_from": "", "valid_to": "", "find": ""}
    fields.update(values)
    return fields


def materials(page, **changes):
    values = dict(original=MATERIALS, id=MATERIALS, topic="marriage", questions=QUESTIONS, answer=OLD_ANSWER, source=SOURCES, valid_from="2025-05-10")
    values.update(changes)
    return form(page, **values)


def save_fields(page):
    """The hidden fields of the save form of a preview, as the browser would send them."""
    save = page[page.index('<form method="post" action="/admin/faq/save"') :]
    save = save[: save.index("</form>")]
    fields = {}
    for name, value in re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', save):
        value = html.unescape(value)
        if name == "source":
            fields.setdefault("source", []).append(value)
        else:
            fields[name] = value
    return fields


def test_the_list_shows_every_entry_with_a_link_to_change_it(ws, web_settings):
    with workspace_admin(ws, web_settings) as (assistant, c):
        page = c.get("/admin/faq").text
    assert "<p>共 96 条。" in page
    row = page[page.index(f'<tr data-id="{MATERIALS}">') :]
    row = row[: row.index("</tr>")]
    assert row == f'<tr data-id="{MATERIALS}"><td>{MATERIALS}</td><td>婚姻登记</td><td>全国</td><td>领证需要带哪些材料</td><td>2025-05-10 至 </td><td><a href="/admin/faq/edit?id={MATERIALS}">修改</a></td>'


def test_the_editor_opens_an_entry_with_its_fields_and_cited_passages(ws, web_settings):
    with workspace_admin(ws, web_settings) as (assistant, c):
        page = c.get(f"/admin/faq/edit?id={MATERIALS}").text
    assert f"<h1>修改常见问答 {MATERIALS}</h1>" in page
    assert f'<input name="id" value="{MATERIALS}" readonly' in page
    assert '<option value="marriage" selected>婚姻登记</option>' in page
    assert '<option value="全国" selected>全国</option>' in page
    assert f'<textarea name="questions" rows="6">{QUESTIONS}</textarea>' in page
    assert f'<textarea name="answer" rows="5">{OLD_ANSWER}</textarea>' in page
    assert '<input name="valid_from" value="2025-05-10"' in page
    sources = section(page, "sources")
    for passage_id in SOURCES:
        assert f'<input type="checkbox" name="source" value="{passage_id}" checked> <code>{passage_id}</code> 《婚姻登记条例》' in sources


def test_a_change_is_previewed_as_a_diff_then_written_and_reloaded(ws, web_settings):
    path = ws.root / "faq" / "entries" / "marriage.toml"
    before = path.read_text(encoding="utf-8")
    with workspace_admin(ws, web_settings) as (assistant, c):
        page = c.get(f"/admin/faq/edit?id={MATERIALS}").text
        preview = c.post("/admin/faq/edit", data=materials(page, answer=NEW_ANSWER, step="preview"))
        assert preview.status_code == 200
        assert 'id="problems"' not in preview.text
        diff = html.unescape(section(preview.text, "diff"))
        assert f'<span class="del">-answer = "{OLD_ANSWER}"</span>' in diff
        assert f'<span class="add">+answer = "{NEW_ANSWER}"</span>' in diff
        assert diff.count('<span class="add">') == 1 and diff.count('<span class="del">') == 1  # only the answer; the +++/--- header lines are context
        assert "<h2>将写入 faq/entries/marriage.toml 的变化</h2>" in preview.text
        assert path.read_text(encoding="utf-8") == before  # a preview writes nothing

        r = c.post("/admin/faq/save", data=save_fields(preview.text), follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/admin")
        written = path.read_text(encoding="utf-8")
        assert written == before.replace(OLD_ANSWER, NEW_ANSWER)  # only that line changed, comments kept
        answer = assistant.ask("领证需要带哪些材料", channel="test").answer
        assert answer.faq_id == MATERIALS and "到婚姻登记机关现场签署" in answer.text
        report = section(c.get("/admin").text, "last-action")
    assert "<h2>保存常见问答:成功</h2>" in report
    assert f"<p id=\"faq-saved\">已将常见问答 {MATERIALS} 更新到 faq/entries/marriage.toml,并已重新加载。</p>" in report
    assert f'<tr><th>修改常见问答</th><td><a href="/admin/faq/edit?id={MATERIALS}">{MATERIALS}</a>「领证需要带哪些材料」</td></tr>' in report


def test_problems_are_worded_and_nothing_can_be_saved(ws, web_settings):
    with workspace_admin(ws, web_settings) as (assistant, c):
        page = c.get(f"/admin/faq/edit?id={MATERIALS}").text
        r = c.post("/admin/faq/edit", data=materials(page, questions="领证需要带哪些材料\n结婚登记还要户口本吗", answer=OLD_ANSWER + "工本费9元。", step="preview"))
        problems = section(r.text, "problems")
        assert '<li data-code="few_questions">至少需要 3 种问法,现在只有 2 种。</li>' in problems
        assert 'action="/admin/faq/save"' not in r.text
        r = c.post("/admin/faq/edit", data=materials(page, answer=OLD_ANSWER + "工本费9元。", step="preview"))
        assert '<li data-code="number_not_cited">答案中的数字 9 在所选的引用段落中找不到(12345 除外):请核对,或选上写有它的段落。</li>' in r.text
        # in characters too (fifth attack M5: "低保每月补贴三千元" was saved)
        r = c.post("/admin/faq/edit", data=materials(page, answer=OLD_ANSWER + "补贴三千元。", step="preview"))
        assert '<li data-code="number_not_cited">答案中的数字 三千(3000) 在所选的引用段落中找不到(12345 除外):请核对,或选上写有它的段落。</li>' in r.text
        r = c.post("/admin/faq/edit", data=materials(page, source=[], valid_to="2020-01-01", step="preview"))
        codes = re.findall(r'<li data-code="([a-z_]+)">', r.text)
        assert codes == ["no_sources", "dates_reversed", "expired"]
        r = c.post("/admin/faq/edit", data=materials(page, step="preview"))
        assert '<li data-code="unchanged">内容没有变化,无需保存。</li>' in r.text
        # a save sent anyway is checked again and refused
        r = c.post("/admin/faq/save", data=materials(page, questions="只有一种问法", base="0" * 64), follow_redirects=False)
        assert r.status_code == 422 and '<li data-code="few_questions">' in r.text


def test_a_broken_data_file_the_editor_needs_is_named_not_a_500(ws, web_settings):
    regions = ws.root / "faq" / "regions.toml"
    with workspace_admin(ws, web_settings) as (assistant, c):
        page = c.get(f"/admin/faq/edit?id={MATERIALS}").text
        regions.write_text(regions.read_text(encoding="utf-8") + "\n[[region]]\nname = 3\n", encoding="utf-8")  # broken by someone else
        r = c.post("/admin/faq/edit", data=materials(page, answer=NEW_ANSWER, step="preview"))
    assert r.status_code == 503
    assert '<p class="error" id="broken">faq/regions.toml:44:region needs a name</p>' in r.text
    assert str(ws.root) not in r.text


def test_bot_py_check_findings_on_the_new_file_are_shown(ws, web_settings, monkeypatch):
    """A problem only the whole-tree checks see (here: an empty file beside the entries) blocks the save."""
    with workspace_admin(ws, web_settings) as (assistant, c):
        page = c.get(f"/admin/faq/edit?id={MATERIALS}").text
        (ws.root / "faq" / "entries" / "draft.toml").write_text("", encoding="utf-8")
        r = c.post("/admin/faq/edit", data=materials(page, answer=NEW_ANSWER, step="preview"))
    assert '<li data-code="check">与 bot.py check 相同的检查发现问题:faq/entries/draft.toml: the file is empty (truncated?): restore it from a backup or version control</li>' in r.text
    assert 'action="/admin/faq/save"' not in r.text and str(ws.root) not in r.text


def test_saving_needs_the_admin_session_the_csrf_token_and_our_origin(ws, web_settings):
    path = ws.root / "faq" / "entries" / "marriage.toml"
    before = path.read_text(encoding="utf-8")
    with workspace_admin(ws, web_settings) as (assistant, c):
        page = c.get(f"/admin/faq/edit?id={MATERIALS}").text
        preview = c.post("/admin/faq/edit", data=materials(page, answer=NEW_ANSWER, step="preview")).text
        fields = save_fields(preview)
        assert c.get("/admin/faq/save").status_code == 405
        for bad, headers in [({**fields, "csrf": "0" * 64}, {}), ({k: v for k, v in fields.items() if k != "csrf"}, {}), (fields, {"Origin": "https://evil.example"}), (fields, {"Sec-Fetch-Site": "cross-site"})]:
            assert c.post("/admin/faq/save", data=bad, headers=headers, follow_redirects=False).status_code == 403
            assert c.post("/admin/faq/edit", data={**bad, "step": "preview"}, headers=headers, follow_redirects=False).status_code == 403
        c.cookies.clear()
        assert c.post("/admin/faq/save", data=fields, follow_redirects=False).status_code == 401
        assert c.post("/admin/faq/save", data=fields, headers={"Authorization": f"Bearer {STAFF_TOKEN}"}, follow_redirects=False).status_code == 401
    assert path.read_text(encoding="utf-8") == before


def test_a_file_changed_after_the_preview_is_not_overwritten(ws, web_settings):
    path = ws.root / "faq" / "entries" / "marriage.toml"
    with workspace_admin(ws, web_settings) as (assistant, c):
        page = c.get(f"/admin/faq/edit?id={MATERIALS}").text
        preview = c.post("/admin/faq/edit", data=materials(page, answer=NEW_ANSWER, step="preview")).text
        ws.edit("faq/entries/marriage.toml", "男不得早于二十二周岁", "男不得早于二十二周岁 ")  # a colleague's edit meanwhile
        edited = path.read_text(encoding="utf-8")
        r = c.post("/admin/faq/save", data=save_fields(preview), follow_redirects=False)
    assert r.status_code == 409
    assert '<li data-code="stale">faq/entries/marriage.toml 在预览之后被修改过:请查看新的差异后再保存。</li>' in r.text
    assert 'id="diff"' in r.text  # the new diff, against the colleague's version
    assert path.read_text(encoding="utf-8") == edited


def test_a_save_the_quality_gate_refuses_puts_the_file_back(ws, web_settings):
    path = ws.root / "faq" / "entries" / "marriage.toml"
    before = path.read_text(encoding="utf-8")
    with workspace_admin(ws, web_settings, reload_max_quality_drop=0.0) as (assistant, c):
        ws.edit(CIVIL_CODE, THIRTY, FORTY_FIVE)  # hit@3 dips: any reload is refused with a margin of 0
        page = c.get(f"/admin/faq/edit?id={MATERIALS}").text
        preview = c.post("/admin/faq/edit", data=materials(page, answer=NEW_ANSWER, step="preview")).text
        c.post("/admin/faq/save", data=save_fields(preview))
        report = section(c.get("/admin").text, "last-action")
        assert assistant.ask("领证需要带哪些材料", channel="test").answer.text.count("到婚姻登记机关现场签署") == 0
    assert "<h2>保存常见问答:未切换</h2>" in report
    assert '<p id="faq-saved">没有保存:重新加载未通过,faq/entries/marriage.toml 已恢复原样。</p>' in report
    assert "超过允许的降幅 0.0" in report
    assert path.read_text(encoding="utf-8") == before


def test_a_declined_question_becomes_a_new_entry(ws, web_settings):
    question = "结婚登记处周六上班吗"
    path = ws.root / "faq" / "entries" / "marriage.toml"
    with workspace_admin(ws, web_settings) as (assistant, c):
        assistant.ask(question, channel="web", user="u1")
        overview = c.get("/admin").text
        link = f"/admin/faq/edit?question={quote(question)}"
        assert f'<a href="{link}">转为常见问答草稿</a>' in section(overview, "declined-gap")
        page = c.get(link).text
        assert f'<p id="from-question">根据未回答的问题“{question}”起草:' in page
        assert f'<textarea name="questions" rows="6">{question}</textarea>' in page
        assert '<option value="marriage" selected>婚姻登记</option>' in page
        assert f'<input name="find" value="{question}"' in page
        assert 'name="source" value="marriage-registration-2025:' in section(page, "results")
        # the rule naming who registers marriages is not among the first results for opening
        # hours: the admin searches for it in the editor, the draft kept
        page = c.post("/admin/faq/edit", data=form(page, topic="marriage", questions=question, find="婚姻登记机关 县级人民政府民政部门")).text
        assert f'<textarea name="questions" rows="6">{question}</textarea>' in page
        results = section(page, "results")
        assert '<input type="checkbox" name="source" value="marriage-registration-2025:第二条">' in results
        fields = form(
            page,
            id="marriage-office-hours",
            topic="marriage",
            questions=f"{question}\n婚姻登记处周末能办证吗\n星期六可以去领结婚证吗",
            answer="现有政策资料没有规定婚姻登记机关的办公时间。出发前请先问当地婚姻登记机关，或拨打12345。",
            source=["marriage-registration-2025:第二条"],
            step="preview",
        )
        preview = c.post("/admin/faq/edit", data=fields).text
        assert 'id="problems"' not in preview
        diff = html.unescape(section(preview, "diff"))
        assert '<span class="add">+id = "marriage-office-hours"</span>' in diff
        assert "<code>marriage-registration-2025#第二条</code>" in preview
        c.post("/admin/faq/save", data=save_fields(preview))
        report = section(c.get("/admin").text, "last-action")
        assert "<h2>保存常见问答:成功</h2>" in report
        assert '<tr><th>新增常见问答</th><td><a href="/admin/faq/edit?id=marriage-office-hours">marriage-office-hours</a>「结婚登记处周六上班吗」</td></tr>' in report
        assert assistant.ask("婚姻登记处周末能办证吗", channel="test").answer.faq_id == "marriage-office-hours"
    entry = tomllib.loads(path.read_text(encoding="utf-8"))["faq"][-1]
    assert entry == {
        "id": "marriage-office-hours",
        "topic": "marriage",
        "region": "全国",
        "questions": [question, "婚姻登记处周末能办证吗", "星期六可以去领结婚证吗"],
        "answer": "现有政策资料没有规定婚姻登记机关的办公时间。出发前请先问当地婚姻登记机关，或拨打12345。",
        "sources": ["marriage-registration-2025#第二条"],
    }


def test_passages_are_found_and_picked_in_the_form(ws, web_settings):
    with workspace_admin(ws, web_settings) as (assistant, c):
        page = c.get(f"/admin/faq/edit?id={MATERIALS}").text
        r = c.post("/admin/faq/edit", data=materials(page, find="离婚冷静期", step="find"))
        results = section(r.text, "results")
        assert '<input type="checkbox" name="source" value="civil-code-marriage-family:第一千零七十七条">' in results
        assert "marriage-registration-2025:第八条" not in results  # already picked: listed above, not twice
        r = c.post("/admin/faq/edit", data=materials(page, source=[SOURCES[0]], step="find"))
        sources = section(r.text, "sources")
        assert f'value="{SOURCES[0]}" checked' in sources and SOURCES[1] not in sources


@pytest.mark.parametrize(
    "text",
    ['引号"和反斜杠\\', "制表\t符", "DEL\x7f字符", "换行\n之后"],
)
def test_rendered_entries_are_toml_that_reads_back_the_same(text):
    block = render_entry("x-y", "aid", "全国", [text, "b", "c"], text, ["d#e"], "2025-01-01", "", ["phone"])
    assert tomllib.loads(block)["faq"][0] == {"id": "x-y", "topic": "aid", "region": "全国", "questions": [text, "b", "c"], "answer": text, "sources": ["d#e"], "valid_from": "2025-01-01", "gives": ["phone"]}


def test_replacing_a_block_keeps_the_comments_of_the_next_one():
    text = '# head\n\n[[faq]]\nid = "a"\n\n# about b\n[[faq]]\nid = "b"\n'
    assert replace_block(text, 3, '[[faq]]\nid = "A"\n') == '# head\n\n[[faq]]\nid = "A"\n\n# about b\n[[faq]]\nid = "b"\n'
    assert replace_block(text, 7, '[[faq]]\nid = "B"\n') == '# head\n\n[[faq]]\nid = "a"\n\n# about b\n[[faq]]\nid = "B"\n'
