"""The fourth attack's upload findings (docs/SECURITY.md, "Fourth attack: uploads"), reproduced on
real files made here: a zip-bomb .docx, a .docx of thousands of parts, a page of 100,000 nested
<div>, a PDF of too many pages, a title with a bidi override; each refused before it is unpacked or parsed (`make bench` times it) with a named
error and words for people (templates/admin_add_error.txt.j2), or cleaned."""

import logging
from dataclasses import replace

import pytest

from retrieval import adding
from retrieval.compose import Composer
from retrieval.errors import (
    ConversionTooSlowError,
    CorruptDocumentError,
    NestingTooDeepError,
    TooManyPagesError,
    UnpackLimitError,
    UnreadableDocumentError,
)
from retrieval.formats.web import nesting

from . import ingest_files as files
from .conftest import ROOT
from .test_adding import kb  # noqa: F401  (the fixture: knowledge/ and faq/ copied)
from .unread import nothing_unpacked

MB = 1024 * 1024


def words(settings, error):
    """The refusal as `bot.py add` and /admin/add word it."""
    return Composer(settings.templates_dir).render("admin_add_error.txt.j2", error=error).strip()


# -- zip-based files --------------------------------------------------------------------------------

def test_a_zip_bomb_docx_is_refused_from_its_directory_before_a_part_is_unpacked_with_the_default_limits(kb, tmp_path):
    bomb = files.make_zip_bomb_docx(tmp_path / "炸弹.docx", 40 * MB)
    assert bomb.stat().st_size < MB // 4  # a quarter of a MB that unpacks to 40
    with nothing_unpacked(), pytest.raises(UnpackLimitError) as info:
        adding.prepare(bomb, kb)
    error = info.value
    assert (error.what, error.entry, error.limit) == ("entry", "word/document.xml", 30 * MB)
    assert 40 * MB - len(files.BOMB_PARAGRAPH) < error.value <= 40 * MB
    assert words(kb, error) == (
        f'未添加: {bomb} 解压后过大(可能是"压缩炸弹"), 没有读取: 其中一个部件解压后有 40.0 MB, 上限 30.0 MB'
        "(MINZHENG_ADD_MAX_ENTRY_MB)。正常的 Word 文件不会这样; 请用 Word 重新另存后再试。"
    )


@pytest.mark.parametrize("limits, what, shown", [
    ({"add_max_ratio": 50}, "ratio", "其中一个部件压缩了 {value} 倍, 上限 50 倍(MINZHENG_ADD_MAX_RATIO)"),
    ({"add_max_entry_mb": 2}, "entry", "其中一个部件解压后有 3.0 MB, 上限 2.0 MB(MINZHENG_ADD_MAX_ENTRY_MB)"),
    ({"add_max_unpacked_mb": 2, "add_max_ratio": 100000}, "unpacked", "全部部件解压后超过 3.0 MB, 上限 2.0 MB(MINZHENG_ADD_MAX_UNPACKED_MB)"),
])
def test_a_small_ratio_bomb_is_refused_by_each_limit_lowered(kb, tmp_path, limits, what, shown):
    bomb = files.make_zip_bomb_docx(tmp_path / "炸弹.docx", 3 * MB)
    with pytest.raises(UnpackLimitError) as info:
        adding.prepare(bomb, replace(kb, **limits))
    assert info.value.what == what
    assert shown.format(value=info.value.value) in words(kb, info.value)
    if what == "ratio":
        assert info.value.value > 50


def test_a_docx_of_twenty_thousand_parts_is_refused_by_count_not_with_a_python_exception(kb, tmp_path):
    many = files.make_many_entries_docx(tmp_path / "部件.docx", 20_000)
    with nothing_unpacked(), pytest.raises(UnpackLimitError) as info:
        adding.prepare(many, kb)
    assert (info.value.what, info.value.value, info.value.limit) == ("entries", 20_000, 1000)
    assert words(kb, info.value) == (
        f'未添加: {many} 解压后过大(可能是"压缩炸弹"), 没有读取: 压缩包里有 20000 个部件, 上限 1000 个'
        "(MINZHENG_ADD_MAX_ENTRIES)。正常的 Word 文件不会这样; 请用 Word 重新另存后再试。"
    )


def test_a_zip_that_is_no_word_document_is_worded_without_the_parsers_exception(kb, tmp_path):
    # under a raised entry limit the same file reaches python-docx, which failed with
    # "AttributeError: 'lxml.etree._Element' object has no attribute 'overrides'" on the page
    many = files.make_many_entries_docx(tmp_path / "部件.docx", 200)
    with pytest.raises(CorruptDocumentError) as info:
        adding.prepare(many, kb)
    assert info.value.cause == "not_docx"
    assert "AttributeError" in info.value.detail  # kept for the log
    assert words(kb, info.value) == f"未添加: {many} 已损坏或不是它的后缀所说的格式, 无法读取(缺少 Word 文档必需的部分)。请用原程序重新另存后再试。"


@pytest.mark.parametrize("name, make, cause, shown", [
    ("截断.docx", lambda p: p.write_bytes(files.truncated(files.make_docx(p).read_bytes())), "not_zip", "不是完整的 Word 文件: 文件不完整, 或者并不是 .docx"),
    ("旧格式.docx", lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0" + bytes(200)), "old_doc", "这是旧版 Word(.doc)文件或加了密码的文件; 请在 Word 里另存为不加密码的 .docx"),
    ("坏.pdf", lambda p: p.write_bytes(b"%PDF-1.4\n1 0 obj\n<<"), "not_pdf", "PDF 的结构已损坏或不完整"),
    ("乱码.txt", lambda p: p.write_bytes("测试".encode("utf-16")), "encoding", "文字编码既不是 UTF-8 也不是 GB18030"),
    ("二进制.md", lambda p: p.write_bytes("# 标题\n\x00\x00".encode()), "binary", "内容不是文字(含二进制数据)"),
])
def test_every_corrupt_file_is_worded_by_its_cause_never_by_the_parsers_message(kb, tmp_path, name, make, cause, shown):
    path = tmp_path / name
    make(path)
    with pytest.raises(CorruptDocumentError) as info:
        adding.prepare(path, kb)
    assert info.value.cause == cause
    assert words(kb, info.value) == f"未添加: {path} 已损坏或不是它的后缀所说的格式, 无法读取({shown})。请用原程序重新另存后再试。"


# -- PDF streams -----------------------------------------------------------------------------------

def test_a_pdf_whose_stream_inflates_past_the_entry_limit_is_refused_before_pdfminer_reads_it(kb, tmp_path):
    # fifth attack M1: 1.5 MB unpacking to 1.5 GB was accepted for preview, 3 GB of memory at peak
    bomb = files.make_flate_bomb_pdf(tmp_path / "炸弹.pdf", 40 * MB)
    assert bomb.stat().st_size < MB // 4
    with nothing_unpacked(), pytest.raises(UnpackLimitError) as info:
        adding.prepare(bomb, kb)
    error = info.value
    assert (error.kind, error.what, error.limit) == ("pdf", "entry", 30 * MB)
    assert 30 * MB < error.value <= 31 * MB  # counted a MB at a time and stopped at the limit
    assert words(kb, error) == (
        f'未添加: {bomb} 解压后过大(可能是"压缩炸弹"), 没有读取: 其中一个数据流解压后超过上限 30.0 MB'
        "(MINZHENG_ADD_MAX_ENTRY_MB)。正常的 PDF 文件不会这样; 请用原程序重新导出 PDF 后再试。"
    )


@pytest.mark.parametrize("limits, what", [
    ({"add_max_unpacked_mb": 5, "add_max_ratio": 100000}, "unpacked"),  # 3 streams of 2 MB: each within, together over
    ({"add_max_ratio": 50}, "ratio"),
])
def test_a_pdf_of_several_streams_is_refused_by_the_total_and_by_the_ratio(kb, tmp_path, limits, what):
    bomb = files.make_flate_bomb_pdf(tmp_path / "炸弹.pdf", 2 * MB, streams=3)
    with nothing_unpacked(), pytest.raises(UnpackLimitError) as info:
        adding.prepare(bomb, replace(kb, **limits))
    assert (info.value.kind, info.value.what) == ("pdf", what)


def test_an_ordinary_pdf_passes_the_stream_check_and_converts(kb, tmp_path):
    draft = adding.prepare(files.make_pdf(tmp_path / "助餐补贴.pdf"), kb)
    assert draft.passages


# -- web pages -------------------------------------------------------------------------------------

def test_a_page_of_a_hundred_thousand_nested_divs_is_refused_before_parsing(kb, tmp_path):
    deep = files.make_deep_html(tmp_path / "深.html", 100_000)  # took 132 s to be refused before
    with nothing_unpacked(), pytest.raises(NestingTooDeepError) as info:
        adding.prepare(deep, kb)
    assert (info.value.depth, info.value.limit) == (101, 100)
    assert words(kb, info.value) == (
        f"未添加: {deep} 的网页元素嵌套了 101 层以上, 超过上限 100 层(MINZHENG_ADD_MAX_HTML_DEPTH), 没有读取。"
        "请在浏览器里另存网页, 或把正文复制为纯文本(.txt)再上传。"
    )


def test_nesting_is_counted_as_the_parser_nests_not_by_tags_that_hold_nothing_or_close_themselves(tmp_path):
    page = (
        "<html><head><title><div><div></title><style>div > p {}</style></head><body>"
        "<!-- <div><div><div> -->"
        + "<p>段落<br><img src=x>" * 500  # unclosed <p>: each one closes the one before
        + "<ul>" + "<li>项" * 500 + "</ul>"
        + "<script>for (;;) document.write('<div><div><div>');</script>"
        + "<div><section><span/><div>正文</div></section></div>"
        "</body></html>"
    )
    assert nesting(tmp_path / "页.html", page, 100) == 3  # div > section > div; <ul> adds one
    assert nesting(tmp_path / "页.html", "<div>" * 50 + "</div>" * 50 + "<div>" * 40, 100) == 50


def test_a_page_nested_within_the_limit_still_converts(kb, tmp_path):
    page = tmp_path / "办法.html"
    page.write_text("<html><body>" + "<div>" * 90 + "".join(f"<p>第{n}条 本条内容。</p>" for n in "一二三") + "</div>" * 90 + "</body></html>", encoding="utf-8")
    draft = adding.prepare(page, kb, {"title": "测试办法", "issuer": "杭州市民政局", "published": "2024-01-01"})
    assert [p.section_path for p in draft.passages] == ["第一条", "第二条", "第三条"]


def test_a_reader_failing_unforeseen_is_refused_as_unreadable_and_logged_with_its_traceback(kb, tmp_path, caplog):
    # nested deeper than Python's recursion limit once the nesting limit is raised: the reader's
    # own walk fails with RecursionError, which no named error foresees
    article = "".join(f"<p>第{n}条 本条规定最低生活保障的申请、审核和确认，以及救助标准的调整办法。</p>" for n in "一二三")
    deep = files.make_deep_html(tmp_path / "深.html", 3000, article)
    with caplog.at_level(logging.ERROR, logger="retrieval.formats"), pytest.raises(UnreadableDocumentError) as info:
        adding.prepare(deep, replace(kb, add_max_html_depth=5000))
    assert "RecursionError" in info.value.detail
    [record] = [r for r in caplog.records if r.name == "retrieval.formats"]
    assert record.getMessage() == "add: the html reader failed on 深.html" and record.exc_info[0] is RecursionError
    assert words(kb, info.value) == (
        f"未添加: 读取 {deep} 时出现意外错误, 文件没有读取。请用原程序重新另存后再试; 如仍不行, 请把文件交给系统维护人员(服务器日志里有详细原因)。"
    )


# -- PDF pages and time ----------------------------------------------------------------------------

def test_a_pdf_of_more_pages_than_the_limit_is_refused_before_a_page_is_read(kb, tmp_path):
    pdf = files.make_many_pages_pdf(tmp_path / "多页.pdf", 30)
    with pytest.raises(TooManyPagesError) as info:
        adding.prepare(pdf, replace(kb, add_max_pages=20))
    assert (info.value.pages, info.value.limit) == (21, 20)
    assert words(kb, info.value) == f"未添加: {pdf} 超过 20 页(MINZHENG_ADD_MAX_PAGES), 没有读取。请只提供政策文件本身。"
    given = {"title": "测试办法", "issuer": "杭州市民政局", "published": "2024-01-01"}
    assert [p.section_path for p in adding.prepare(pdf, replace(kb, add_max_pages=30), given).passages][::10] == ["第一条", "第十一条", "第二十一条"]


@pytest.mark.parametrize("name, make", [
    ("入学资助.docx", files.make_docx),
    ("助餐补贴.pdf", files.make_pdf),
    ("低保.html", files.make_html),
])
def test_a_conversion_past_its_seconds_is_abandoned_with_a_named_error(kb, tmp_path, name, make):
    path = make(tmp_path / name)
    with pytest.raises(ConversionTooSlowError) as info:
        adding.prepare(path, replace(kb, add_max_seconds=0))
    assert words(kb, info.value) == f"未添加: 转换 {path} 超过 0 秒(MINZHENG_ADD_MAX_SECONDS), 已停止。文件可能过大或结构异常; 请另存为更简单的格式(如纯文本 .txt)再试。"
    assert adding.prepare(path, kb).passages  # the default allows it


# -- invisible characters in titles and names -----------------------------------------------------

def test_bidi_overrides_and_invisible_characters_leave_the_title_the_text_and_the_file_name(kb, tmp_path):
    path = tmp_path / "bidi\u202e.md"
    path.write_text("# \u202e测试办法\u202c\n\n第一条 正文\u2066\u2067，\u200b零宽\ufeff。\n", encoding="utf-8")
    draft = adding.prepare(path, kb, {"issuer": "杭州市民政局", "published": "2024-01-01"})
    assert (draft.metadata["title"], draft.text_name, draft.original_name) == ("测试办法", "测试办法(2024-01-01).md", "测试办法(2024-01-01).md")
    assert (draft.invisible, draft.cleaned, draft.source_name, draft.metadata["source_file"]) == (6, (), "bidi.md", "bidi.md")
    assert draft.text == "# 测试办法\n\n第一条 正文，零宽。\n"
    assert [p.text for p in draft.passages] == ["第一条 正文，零宽。"]
    shown = Composer(kb.templates_dir).render("admin_add.txt.j2", draft=draft, limit=10)
    assert "注意: 看不见的字符(文字方向控制符、零宽字符或控制字符)已从文件的文字(6 个)中删除。" in shown


def test_a_given_title_with_controls_is_cleaned_and_the_preview_says_so(kb, tmp_path):
    path = files.make_docx(tmp_path / "入学资助.docx")
    draft = adding.prepare(path, kb, {"title": "杭州市\u202e低保\x85办法\u2069", "issuer": "杭州市民\u200d政局"})
    assert (draft.metadata["title"], draft.metadata["issuer"], draft.cleaned, draft.invisible) == ("杭州市低保办法", "杭州市民政局", ("title", "issuer"), 0)
    assert draft.text_name == "杭州市低保办法(2024-01-15).md"
    shown = Composer(kb.templates_dir).render("admin_add.txt.j2", draft=draft, limit=10)
    assert "注意: 看不见的字符(文字方向控制符、零宽字符或控制字符)已从标题、发文机关中删除。" in shown


def test_every_setting_is_documented_in_the_readme():
    from dataclasses import fields

    from retrieval.settings import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = [f.metadata.get("env", "MINZHENG_" + f.name.upper()) for f in fields(Settings)]
    assert [n for n in names if f"`{n}`" not in readme] == []
