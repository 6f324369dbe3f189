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
        '<textarea class="copy-text" readonly hidden>根据《婚姻登记条例》国务院(国务院令第804号),2025-04-06,2025-05-10施行 › 第二章 结婚登记 › 第八条:\n'
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


# -- the FAQ's 标准口径, document facts, filters with counts ------------------------------------------
def section(html, start, end):
    """The part of the page from `start` up to `end`."""
    i = html.index(start)
    return html[i : html.index(end, i)]


def chips(html, facet):
    """[(label, count, current?)] of one facet's chips, in page order."""
    block = section(html, f'<div class="facet" id="facet-{facet}">', "</div>")
    return [(label, int(n), bool(cur)) for cur, label, n in re.findall(r'<a class="chip( current)?"[^>]*>([^<]+) <span class="count">(\d+)</span></a>', block)]


def test_the_faq_standard_answer_and_its_sources_come_above_the_passages(staff, assistant):
    r = staff.get("/lookup", params={"q": "结婚登记要带什么材料"})
    assert assistant.answerer.ask("结婚登记要带什么材料").faq_id == "marriage-materials"  # what citizens get
    assert r.text.index('<section class="faq" id="faq"') < r.text.index('<ol class="results" id="results">')
    faq = section(r.text, '<section class="faq" id="faq"', "</section>")
    assert '<h2 id="faq-title"><span class="faq-label">标准口径</span> 领证需要带哪些材料</h2>' in faq
    assert (
        '<p class="faq-answer" id="faq-answer">内地居民办理结婚登记，双方各带本人的居民身份证，并现场签署本人无配偶以及与对方'
        "没有直系血亲和三代以内旁系血亲关系的声明。自2025年5月10日起施行的现行条例不再要求户口簿。</p>"
    ) in faq
    assert '<p class="faq-scope">适用地区:全国 · 2025-05-10 起适用 · 条目 marriage-materials</p>' in faq
    cited = re.findall(r'<span class="num">\[(\d)\]</span> <a class="title" href="/lookup/doc/([^?]+)\?p=[^"]+">《([^<]+)》</a> <span class="section">([^<]+)</span>', faq)
    assert cited == [
        ("1", "marriage-registration-2025", "婚姻登记条例", "第二章 结婚登记 › 第八条"),
        ("2", "marriage-registration-2025", "婚姻登记条例", "第六章 附 则 › 第二十八条"),
    ]
    assert faq.count('<span class="kind">法律法规</span>') == 2 and faq.count('<span class="effective">施行 2025-05-10</span>') == 2
    assert '<details><summary>原文</summary><p class="passage">第二十八条 本条例自2025年5月10日起施行。</p></details>' in faq
    assert (
        '<textarea class="copy-text" id="faq-copy" readonly hidden>内地居民办理结婚登记，双方各带本人的居民身份证，并现场签署本人无配偶以及'
        "与对方没有直系血亲和三代以内旁系血亲关系的声明。自2025年5月10日起施行的现行条例不再要求户口簿。\n"
        "出处:\n"
        "[1] 《婚姻登记条例》国务院(国务院令第804号),2025-04-06,2025-05-10施行 › 第二章 结婚登记 › 第八条\n"
        "[2] 《婚姻登记条例》国务院(国务院令第804号),2025-04-06,2025-05-10施行 › 第六章 附 则 › 第二十八条</textarea>"
    ) in faq
    assert '<button type="button" class="copy-faq" id="faq-copy-button">复制标准口径(含出处)</button>' in faq
    assert "<kbd>f</kbd> 复制标准口径" in r.text
    assert len(results(r.text)) == 20  # the passages are still all there


def test_no_faq_panel_when_the_core_answers_without_one_but_its_suggestions_link_to_lookups(staff, assistant):
    r = staff.get("/lookup", params={"q": "申请"})
    assert assistant.answerer.ask("申请").faq_id is None
    assert 'id="faq"' not in r.text and "<kbd>f</kbd>" not in r.text
    assert (
        '<p class="faq-near" id="faq-near">相关标准口径:<a href="/lookup?q=%E4%BD%8E%E4%BF%9D%E5%8E%BB%E5%93%AA%E9%87%8C%E7%94%B3%E8%AF%B7">低保去哪里申请</a> · '
        '<a href="/lookup?q=%E4%BD%8E%E4%BF%9D%E7%94%B3%E8%AF%B7%E8%A2%AB%E6%8B%92%E4%BA%86%E6%80%8E%E4%B9%88%E5%8A%9E">低保申请被拒了怎么办</a> · '
        '<a href="/lookup?q=%E5%8C%BB%E7%96%97%E6%95%91%E5%8A%A9%E6%80%8E%E4%B9%88%E7%94%B3%E8%AF%B7">医疗救助怎么申请</a></p>'
    ) in r.text
    assert "<h2 id=\"faq-title\"><span class=\"faq-label\">标准口径</span> 低保去哪里申请</h2>" in staff.get("/lookup", params={"q": "低保去哪里申请"}).text


def test_the_region_filter_is_where_the_faq_is_asked(staff):
    assert 'id="faq"' not in staff.get("/lookup", params={"q": "老年食堂补贴怎么申请"}).text
    r = staff.get("/lookup", params={"q": "老年食堂补贴怎么申请", "region": "萧山区"})
    faq = section(r.text, '<section class="faq" id="faq"', "</section>")
    assert '<p class="faq-scope">适用地区:萧山区 · 条目 xiaoshan-meal-services</p>' in faq
    assert '<span class="kind">规划和工作计划</span>' in faq and '<span class="effective">同日施行</span>' in faq


def test_every_passage_shows_document_kind_issuer_and_the_dates_its_sidecar_records(staff):
    funeral = staff.get("/lookup", params={"q": "火化 遗体", "doc": "funeral-regulation-2025"}).text
    assert (
        '《殡葬管理条例》</a>\n      <span class="kind">法律法规</span>\n<span class="issuer">国务院</span>\n'
        '<span class="order">国务院令第824号</span><span class="published">发布 <span class="date">2025-12-12</span></span><span class="effective">施行 2026-03-30</span><span class="region">全国</span>'
    ) in section(funeral, 'id="r-1"', '<div class="section">')
    undated = staff.get("/lookup", params={"q": "余杭 养老", "doc": "yuhang-2023"}).text
    assert (
        '<span class="kind">工作总结</span>\n<span class="issuer">杭州市余杭区民政局</span>\n'
        '<span class="undated">未注明日期(据正文约2023年)</span><span class="region">余杭区</span>'
    ) in section(undated, 'id="r-1"', '<div class="section">')
    # the sidecars record no verification date, so the page shows none
    assert "核实" not in funeral and "verified" not in funeral


def test_a_filter_that_matches_nothing_shows_every_result_with_a_note_and_its_zero_count(staff, assistant):
    r = staff.get("/lookup", params={"q": "申请", "topic": "funeral"})
    assert '<p class="note" id="fallback" role="note">殡葬服务类别下没有匹配“申请”的内容,以下为全部结果。</p>' in r.text
    unfiltered = staff.get("/lookup", params={"q": "申请"}).text
    assert results(r.text) == results(unfiltered) and len(results(r.text)) == 20
    assert '<option value="funeral" selected>殡葬服务</option>' in r.text  # the choice stays visible
    topics = chips(r.text, "topic")
    assert topics[0] == ("全部", len(assistant.search("申请", k=1000).hits), False) and ("殡葬服务", 0, True) in topics
    assert 'id="fallback"' not in unfiltered
    both = staff.get("/lookup", params={"q": "申请", "topic": "funeral", "region": "海宁市", "kind": "plan"}).text
    assert '<p class="note" id="fallback" role="note">殡葬服务类别、海宁市地区、规划和工作计划文件类型下没有匹配“申请”的内容,以下为全部结果。</p>' in both


def test_counts_are_what_each_filter_gives(staff, assistant):
    """Every chip's count is the number of passages the page would list with that value (uncapped)."""
    q = "结婚登记要带什么材料"
    r = staff.get("/lookup", params={"q": q})
    everything = assistant.search(q, k=1000).hits

    def topics(hit):
        return assistant.topics_of("\n".join([hit.document["title"], *hit.passage["section"], hit.passage["text"]]))

    labels = {"婚姻登记": "marriage", "殡葬服务": "funeral", "社会救助": "aid", "养老服务": "elderly_care", "儿童福利": "children",
              "社会组织": "social_org", "社区治理": "community", "地名区划": "place_names", "老年助餐": "elderly_meals"}
    assert chips(r.text, "topic")[0] == ("全部", len(everything), True)
    for label, n, _ in chips(r.text, "topic")[1:]:
        assert n == sum(labels[label] in topics(h) for h in everything) > 0
    regions = chips(r.text, "region")
    assert [label for label, _, _ in regions] == ["全部", "杭州市", "萧山区", "余杭区", "海宁市", "无锡市滨湖区", "浙江省", "全国性规定"]
    for label, n, _ in regions[1:-1]:
        assert n == len(assistant.search(q, k=1000, region=label).hits)
    assert regions[-1][1] == sum(h.document["region"] == "全国" for h in everything)
    kinds = chips(r.text, "kind")
    kind_counts = [sum(h.document["kind"] == k for h in everything) for k in ("regulation", "plan", "summary")]
    assert kinds == [("全部", len(everything), True)] + [(label, n, False) for label, n in zip(("法律法规", "规划和工作计划", "工作总结"), kind_counts)]
    assert all(kind_counts)
    # with a topic chosen, the other facets count within it
    narrowed = staff.get("/lookup", params={"q": q, "topic": "marriage"}).text
    assert chips(narrowed, "kind")[0] == ("全部", sum("marriage" in topics(h) for h in everything), True)
    assert chips(narrowed, "topic")[0] == ("全部", len(everything), False)
    assert len(results(narrowed)) == 20 and 'id="fallback"' not in narrowed


def test_a_question_naming_a_place_counts_other_places_by_their_own_search(staff, assistant):
    q = "萧山老年食堂"
    r = staff.get("/lookup", params={"q": q})
    regions = dict((label, n) for label, n, _ in chips(r.text, "region"))
    assert regions["全部"] == len(assistant.search(q, k=1000).hits)  # the question's own place applies
    assert regions["余杭区"] == len(assistant.search(q, k=1000, region="余杭区").hits)
    assert regions["海宁市"] == len(assistant.search(q, k=1000, region="海宁市").hits)
    assert "(问题中提到“萧山区”,已优先显示当地政策)" in r.text


def test_the_region_list_keeps_each_city_with_its_districts_then_provinces_then_national(staff):
    r = staff.get("/lookup")
    select = section(r.text, '<select name="region" id="region" aria-label="地区">', "</select>")
    assert re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select) == [
        ("", "全部地区"),
        ("杭州市", "杭州市"),
        ("萧山区", "\u3000萧山区"),
        ("余杭区", "\u3000余杭区"),
        ("海宁市", "海宁市"),
        ("无锡市滨湖区", "无锡市滨湖区"),
        ("浙江省", "浙江省"),
        ("全国", "全国性规定"),
    ]


def test_kind_and_national_filters_keep_only_those_documents(staff, assistant):
    plans = staff.get("/lookup", params={"q": "养老服务", "kind": "plan"}).text
    assert results(plans) and {assistant.passage(pid)[1]["kind"] for _, pid in results(plans)} == {"plan"}
    assert '<option value="plan" selected>规划和工作计划</option>' in plans
    national = staff.get("/lookup", params={"q": "低保", "region": "全国"}).text
    assert 'id="fallback"' not in national
    assert results(national) and {assistant.passage(pid)[1]["region"] for _, pid in results(national)} == {"全国"}


def test_unknown_filter_values_are_ignored_rather_than_emptying_the_page(staff):
    plain = results(staff.get("/lookup", params={"q": "低保"}).text)
    odd = staff.get("/lookup", params={"q": "低保", "topic": "nope", "kind": "poem", "region": "火星", "doc": "none"}).text
    assert results(odd) == plain and 'id="fallback"' not in odd


def test_chips_are_shareable_links_keeping_the_other_filters(staff):
    r = staff.get("/lookup", params={"q": "养老服务", "kind": "plan"})
    facet = section(r.text, '<div class="facet" id="facet-topic">', "</div>")
    assert '<a class="chip" href="/lookup?q=%E5%85%BB%E8%80%81%E6%9C%8D%E5%8A%A1&amp;topic=elderly_care&amp;kind=plan">养老服务 <span class="count">30</span></a>' in facet
    followed = staff.get("/lookup?q=%E5%85%BB%E8%80%81%E6%9C%8D%E5%8A%A1&topic=elderly_care&kind=plan").text
    assert '<option value="elderly_care" selected>养老服务</option>' in followed and '<option value="plan" selected>规划和工作计划</option>' in followed
    assert len(results(followed)) == 20


def test_the_search_box_has_focus_on_an_empty_page_and_the_page_fits_a_phone(staff):
    r = staff.get("/lookup")
    assert '<input id="q" name="q" type="search" value="" placeholder="输入关键词或群众原话,按回车检索" autocomplete="off" maxlength="200" autofocus>' in r.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in r.text
    assert '<link rel="stylesheet" href="/static/lookup.css">' in r.text and staff.get("/static/lookup.css").status_code == 200
