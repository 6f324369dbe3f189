"""Fuzz the citizens' chat JSON endpoints and the staff /lookup pages with nasty and generated
input: JSON always parses with the documented shape, pages never reflect input unescaped
(only the template's own tags and attributes appear, the only script is /static/...)."""

import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st


from ..nasty import fuzz, messages, nasty_inputs
from .conftest import STAFF_TOKEN, make_client, own_log

KINDS = {"answer", "suggest", "out_of_scope", "not_found", "fact_missing", "empty", "too_long"}
ASK_FIELDS = {"kind", "declined", "text", "sources", "suggestions", "query_id", "feedback_token", "followup", "asked"}
SOURCE_FIELDS = {"number", "title", "issuer", "date", "section", "status", "text", "order", "revised", "effective", "year", "validity", "validity_now", "repealed_on"}
JSON_HEADERS = {"Content-Type": "application/json"}
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
SURROGATE = re.compile("[\ud800-\udfff]")
INJECTIONS = [
    "<script>alert(1)</script>",
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "javascript:alert(1)",
    "{{ 7*7 }}低保",
]


@pytest.fixture(scope="module")
def web(assistant, web_settings, tmp_path_factory):
    with own_log(assistant, tmp_path_factory.mktemp("web-fuzz") / "log.db"), make_client(assistant, replace(web_settings, rate_limit_per_minute=0, address_rate_limit_per_minute=0)) as c:
        c.get("/chat")  # the anonymous cookie
        yield c


class Page(HTMLParser):
    """Tags, attribute names, script sources and the search box's value of one page."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.attributes, self.scripts, self.values = set(), set(), [], {}
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)
        attrs = dict(attrs)
        if tag == "script":
            self.scripts.append(attrs.get("src"))
        if tag == "input" and "id" in attrs:
            self.values[attrs["id"]] = attrs.get("value")


@pytest.fixture(scope="module")
def baseline(web):
    """What the templates themselves produce: a results page and a document page."""
    pages = [
        web.get("/lookup", params={"q": "结婚登记 材料"}, headers=STAFF).text,
        web.get("/lookup", params={"topic": "marriage"}, headers=STAFF).text,
        web.get("/lookup/doc/none", headers=STAFF).text,
        web.get("/chat").text,
    ]
    doc = re.search(r'href="(/lookup/doc/[^"]+)"', pages[0]).group(1).replace("&amp;", "&")
    pages.append(web.get(doc, headers=STAFF).text)
    parsed = [Page(p) for p in pages]
    return set().union(*(p.tags for p in parsed)), set().union(*(p.attributes for p in parsed))


def check_page(page_text, baseline, given=()):
    tags, attributes = baseline
    page = Page(page_text)
    assert page.tags <= tags, page.tags - tags
    assert page.attributes <= attributes, page.attributes - attributes
    assert not any(a.startswith("on") for a in page.attributes)
    assert all(src and src.startswith("/static/") for src in page.scripts)
    for text in given:
        for marker in ("<script>alert", "<img src=x", "</textarea><script"):
            if marker in text:
                assert marker not in page_text
    return page


def for_url(text):
    """Query strings carry UTF-8: a lone surrogate cannot be sent at all."""
    return SURROGATE.sub("\ufffd", text)


# -- /chat/api/ask ---------------------------------------------------------------------------------
def check_ask(client, question):
    # json.dumps escapes lone surrogates as \udcff, which is valid JSON a client may send
    r = client.post("/chat/api/ask", content=json.dumps({"question": question}), headers=JSON_HEADERS)
    assert r.status_code == 200, r.text[:300]
    data = json.loads(r.content.decode("utf-8"))
    assert set(data) == ASK_FIELDS and data["kind"] in KINDS
    assert isinstance(data["text"], str) and data["text"].strip()
    assert data["declined"] is (data["kind"] != "answer")
    for source in data["sources"]:
        assert set(source) == SOURCE_FIELDS
    assert all(isinstance(s, str) for s in data["suggestions"])
    return data


NASTY = nasty_inputs()


@pytest.mark.parametrize("n", range(len(NASTY)), ids=[name for name, _ in NASTY])
def test_chat_ask_answers_nasty_questions_with_valid_json(web, n):
    text = NASTY[n][1]
    r = web.post("/chat/api/ask", content=json.dumps({"question": text}), headers=JSON_HEADERS)
    if len(json.dumps({"question": text}).encode()) > 16 * 1024:
        assert (r.status_code, r.json()) == (413, {"error": "too large"})
    else:
        check_ask(web, text)


@fuzz(400)
@given(question=messages)
def test_chat_ask_answers_generated_questions_with_valid_json(web, question):
    check_ask(web, question)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | messages,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["question", "query_id", "token", "value", "comment", "x"]), inner, max_size=5),
    max_leaves=12,
)


@fuzz(200)
@given(body=st.one_of(JSON_VALUES.map(json.dumps).map(str.encode), st.binary(max_size=300)), path=st.sampled_from(["/chat/api/ask", "/chat/api/feedback"]))
def test_chat_endpoints_answer_any_body_with_json(web, body, path):
    r = web.post(path, content=body, headers=JSON_HEADERS)
    assert r.status_code in (200, 400, 403, 404), r.text[:200]
    data = json.loads(r.content)
    if r.status_code != 200:
        assert set(data) == {"error"}
    elif path == "/chat/api/ask":
        assert set(data) == ASK_FIELDS


def test_chat_answers_do_not_reflect_markup_as_anything_but_json_text(web):
    for text in INJECTIONS:
        r = web.post("/chat/api/ask", json={"question": text})
        assert r.headers["content-type"] == "application/json"
        assert r.headers["x-content-type-options"] == "nosniff"


# -- /lookup ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", INJECTIONS + [t for _, t in NASTY if len(t) < 3000], ids=[f"i{n}" for n in range(len(INJECTIONS))] + [n for n, t in NASTY if len(t) < 3000])
def test_lookup_search_reflects_input_only_escaped(web, baseline, text):
    text = for_url(text)
    r = web.get("/lookup", params={"q": text, "region": text, "topic": text, "doc": text}, headers=STAFF)
    assert r.status_code == 200
    page = check_page(r.text, baseline, [text])
    assert page.values["q"] == text.strip()[:200]


@fuzz(250)
@given(q=messages, region=st.one_of(st.just(""), messages), topic=st.one_of(st.just(""), st.sampled_from(["marriage", "aid"]), messages))
def test_lookup_search_pages_for_generated_queries(web, baseline, q, region, topic):
    q = for_url(q)
    r = web.get("/lookup", params={"q": q, "region": for_url(region), "topic": for_url(topic)}, headers=STAFF)
    assert r.status_code == 200
    page = check_page(r.text, baseline, [q])
    assert page.values["q"] == q.strip()[:200]


@fuzz(150)
@given(doc=messages, p=messages, q=messages)
def test_lookup_document_pages_for_generated_ids(web, baseline, doc, p, q):
    r = web.get("/lookup/doc/x", params={"p": for_url(p), "q": for_url(q)}, headers=STAFF)
    assert r.status_code == 404
    check_page(r.text, baseline)
    r = web.get("/lookup/doc/marriage-registration-2025", params={"p": for_url(p), "q": for_url(q)}, headers=STAFF)
    assert r.status_code == 200
    check_page(r.text, baseline, [p, q])
    quoted = quote(for_url(doc), safe="")
    r = web.get("/lookup/doc/" + (quoted or "x"), headers=STAFF)
    assert r.status_code == 404
    check_page(r.text, baseline)
