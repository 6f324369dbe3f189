"""/lookup for hotline and window staff: login, search with filters and highlights, copy text, document view."""

import re
from dataclasses import replace

import pytest

from channels.web.highlight import segments

from .conftest import NOW, STAFF_TOKEN, login, make_client


@pytest.fixture()
def staff(client):
    login(client, "lookup", STAFF_TOKEN)
    return client


def results(html):
    return re.findall(r'<li class="result" id="r-(\d+)" data-passage="([^"]+)">', html)


def test_lookup_asks_for_the_staff_token_first(client):
    r = client.get("/lookup", params={"q": "低保"})
    assert r.status_code == 401
    assert '<form method="post" action="/lookup/login">' in r.text
    assert '<input id="token" name="token" type="password" autocomplete="current-password" autofocus required>' in r.text
    assert "data-passage" not in r.text


def test_wrong_token_is_refused_and_the_right_one_sets_a_scoped_httponly_cookie(client):
    r = client.post("/lookup/login", data={"token": "guess"}, follow_redirects=False)
    assert r.status_code == 401 and '<p class="error" id="login-error">口令不正确,请重新输入。</p>' in r.text
    r = login(client, "lookup", STAFF_TOKEN)
    assert r.headers["location"] == "/lookup"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("mz_staff=") and "HttpOnly" in cookie and "Path=/lookup" in cookie and "SameSite=strict" in cookie
    assert client.get("/lookup").status_code == 200


def test_cookie_is_signed_and_expires(assistant, web_settings, log):
    with make_client(assistant, web_settings) as c:
        value = login(c, "lookup", STAFF_TOKEN).headers["set-cookie"].split(";")[0].split("=", 1)[1]
    issued, nonce, mac = value.split(".")
    with make_client(assistant, web_settings) as c:
        c.cookies.set("mz_staff", f"{int(issued) + 1000}.{nonce}.{mac}", path="/lookup")
        assert c.get("/lookup").status_code == 401  # tampered
    with make_client(assistant, web_settings, clock=lambda: NOW + 13 * 3600) as c:
        c.cookies.set("mz_staff", value, path="/lookup")
        assert c.get("/lookup").status_code == 401  # older than 12 hours
    with make_client(assistant, replace(web_settings, staff_token="rotated-staff-password")) as c:
        c.cookies.set("mz_staff", value, path="/lookup")
        assert c.get("/lookup").status_code == 401  # token changed: everybody logs in again


def test_bearer_token_works_for_scripts(client):
    assert client.get("/lookup", headers={"Authorization": f"Bearer {STAFF_TOKEN}"}).status_code == 200
    assert client.get("/lookup", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_lookup_is_off_without_a_configured_token(assistant, web_settings, log):
    with make_client(assistant, replace(web_settings, staff_token="")) as c:
        r = c.get("/lookup")
        assert r.status_code == 401 and "此页面未启用:请在设置中配置 MINZHENG_STAFF_TOKEN。" in r.text
        assert c.post("/lookup/login", data={"token": ""}, follow_redirects=False).status_code == 401


def test_login_from_another_site_is_refused(client):
    r = client.post("/lookup/login", data={"token": STAFF_TOKEN}, headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 403 and "set-cookie" not in r.headers


def test_search_ranks_passages_with_highlights_section_date_and_copy_text(staff, assistant):
    r = staff.get("/lookup", params={"q": "结婚登记要带什么材料"})
    assert r.status_code == 200
    assert r.headers["server-timing"].startswith("search;dur=")
    found = results(r.text)
    expected = [h.passage["id"] for h in assistant.search("结婚登记要带什么材料", k=20).hits]
    assert [pid for _, pid in found] == expected and len(found) == 20
    assert re.search(r'<p class="summary" id="summary">找到 20 条相关段落,用时 \d+ 毫秒。</p>', r.text)
    first = r.text[r.text.index('id="r-1"') : r.text.index('id="r-2"')]
    # The materials article comes first now that the question type (materials) is read.
    assert '<a class="title" href="/lookup/doc/marriage-registration-2025?p=marriage-registration-2025%3A%E7%AC%AC%E5%85%AB%E6%9D%A1&amp;q=' in first
    assert "《婚姻登记条例》</a>" in first and '<span class="date">2025-04-06</span>' in first
    assert '<div class="section">第二章 结婚登记 › 第八条</div>' in first
    assert "第八条 申请<mark>结婚登记</mark>的内地居民应当<mark>出具</mark>下列<mark>证件</mark>和书面<mark>材料</mark>" in first
    assert (
        '<textarea class="copy-text" readonly hidden>根据《婚姻登记条例》(国务院(国务院令第804号),2025-04-06)第二章 结婚登记 › 第八条:\n'
        "第八条 申请结婚登记的内地居民应当出具下列证件和书面材料：\n（一）本人的居民身份证；"
    ) in first


def test_document_filter_keeps_only_that_document(staff):
    r = staff.get("/lookup", params={"q": "登记", "doc": "civil-code-marriage-family"})
    found = results(r.text)
    assert found and all(pid.startswith("civil-code-marriage-family:") for _, pid in found)
    assert '<option value="civil-code-marriage-family" selected>中华人民共和国民法典·婚姻家庭编</option>' in r.text


def test_topic_filter_keeps_passages_about_that_topic(staff, assistant):
    r = staff.get("/lookup", params={"q": "办理", "topic": "funeral"})
    found = results(r.text)
    assert found
    for _, pid in found:
        passage, document = assistant.passage(pid)
        assert "funeral" in assistant.topics_of("\n".join([document["title"], *passage["section"], passage["text"]]))
    assert '<option value="funeral" selected>殡葬服务</option>' in r.text


def test_region_filter_leaves_out_other_places(staff, assistant):
    r = staff.get("/lookup", params={"q": "养老服务", "region": "海宁市"})
    regions = {assistant.passage(pid)[1]["region"] for _, pid in results(r.text)}
    assert "海宁市" in regions and regions <= {"海宁市", "浙江省", "全国"}


def test_no_results_and_html_in_the_query_are_shown_safely(staff):
    r = staff.get("/lookup", params={"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in r.text
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in r.text
    empty = staff.get("/lookup", params={"q": "qqqzzzxxx"})
    assert results(empty.text) == []
    assert re.search(r'<p class="summary" id="summary">没有找到相关段落,请换个说法或去掉筛选条件,用时 \d+ 毫秒。</p>', empty.text)


def test_document_view_anchors_and_highlights_the_passage(staff):
    pid = "marriage-registration-2025:第八条"
    r = staff.get("/lookup/doc/marriage-registration-2025", params={"p": pid, "q": "结婚登记要带什么材料"})
    assert r.status_code == 200
    assert "<h1>《婚姻登记条例》</h1>" in r.text
    assert f'<p id="p-{pid}" class="doc-passage current">第八条 申请<mark>结婚登记</mark>的内地居民应当<mark>出具</mark>下列<mark>证件</mark>' in r.text
    assert '<p id="p-marriage-registration-2025:第九条" class="doc-passage">第九条' in r.text
    assert '<h2 class="doc-section">第二章 结婚登记</h2>' in r.text
    assert staff.get("/lookup/doc/no-such-doc").status_code == 404


def test_pages_carry_security_headers_and_local_scripts_only(staff):
    r = staff.get("/lookup", params={"q": "低保"})
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert r.headers["x-frame-options"] == "DENY"
    assert re.findall(r'<script src="([^"]+)"', r.text) == ["/static/lookup.js"]
    assert staff.get("/static/lookup.js").status_code == 200


def test_highlight_segments_prefer_longer_terms_and_ignore_case():
    assert segments("结婚登记和登记", ["登记", "结婚登记"]) == [("结婚登记", True), ("和", False), ("登记", True)]
    assert segments("ABC abc", ["abc"]) == [("ABC", True), (" ", False), ("abc", True)]
    assert segments("无匹配", []) == [("无匹配", False)]


def test_logout_ends_the_session_on_the_server_and_a_restart_keeps_it_ended(assistant, web_settings, log):
    with make_client(assistant, web_settings) as c:
        value = login(c, "lookup", STAFF_TOKEN).headers["set-cookie"].split(";")[0].split("=", 1)[1]
        assert c.get("/lookup").status_code == 200
        assert c.post("/lookup/logout", follow_redirects=False).status_code == 303
    with make_client(assistant, web_settings) as c:  # a copy of the cookie, in another client
        c.cookies.set("mz_staff", value, path="/lookup")
        assert c.get("/lookup").status_code == 401
    with make_client(assistant, web_settings) as restarted:  # a new app reads the revocations back
        restarted.cookies.set("mz_staff", value, path="/lookup")
        assert restarted.get("/lookup").status_code == 401
        login(restarted, "lookup", STAFF_TOKEN)
        assert restarted.get("/lookup").status_code == 200  # a new sign-in works
    assert oct((web_settings.log_path.parent / "revoked-staff.txt").stat().st_mode & 0o777) == "0o600"


def test_admin_logout_is_revoked_too(assistant, web_settings, log):
    from .conftest import ADMIN_TOKEN

    with make_client(assistant, web_settings) as c:
        value = login(c, "admin", ADMIN_TOKEN).headers["set-cookie"].split(";")[0].split("=", 1)[1]
        assert c.get("/admin").status_code == 200
        c.post("/admin/logout", follow_redirects=False)
        c.cookies.set("mz_admin", value, path="/admin")
        assert c.get("/admin").status_code == 401
