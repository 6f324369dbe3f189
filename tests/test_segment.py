"""Cleaning and passage splitting on the real seed documents and regulations."""

import pytest

from retrieval.ingest import load_documents
from retrieval.regions import Regions
from retrieval.segment import MAX_PASSAGE_CHARS, segment

from .conftest import ROOT


@pytest.fixture(scope="module")
def passages():
    regions = Regions.load(ROOT / "faq" / "regions.toml")
    docs = load_documents(ROOT / "knowledge", regions.names)
    return {d.id: segment(d) for d in docs}


def _find(passages, doc_id, needle):
    found = [p for p in passages[doc_id] if needle in p.text]
    assert found, f"{needle!r} not in any passage of {doc_id}"
    return found[0]


def test_inline_item_in_the_long_line_is_its_own_passage(passages):
    p = _find(passages, "haining-2024", "7.深化为老助餐服务品牌")
    assert p.text.startswith("7.深化为老助餐服务品牌。")
    assert p.section == ("二、主要任务", "(二)以“老有康养”为重点", "7.深化为老助餐服务品牌")
    assert "8.探索养老服务国企化改革" not in p.text


def test_regulation_article_keeps_its_items(passages):
    p = _find(passages, "marriage-registration-2025", "第八条 申请结婚登记的内地居民")
    assert p.id == "marriage-registration-2025:第八条"
    assert p.section == ("第二章 结婚登记", "第八条")
    assert "（一）本人的居民身份证；" in p.text and "签字声明" in p.text


def test_packed_yishi_items_are_split(passages):
    p = _find(passages, "yuhang-2023", "一是强化养老设施品牌打造")
    assert "二是实现养老服务品质提升" not in p.text
    assert p.section[-1] == "一是强化养老设施品牌打造"


def test_flattened_table_becomes_readable_rows(passages):
    p = _find(passages, "hangzhou-plan-2021", "城乡居民最低生活保障标准(元/年)")
    assert p.text == "城乡居民最低生活保障标准(元/年): 2020年 10584, 2022年目标 11000, 2025年目标 14000"
    assert p.section[-1] == "精准保障" and p.section[-2].startswith("专栏2")
    assert not any(p.text.strip() in ("10584", "11000", "序号") for p in passages["hangzhou-plan-2021"])


def test_footnote_is_attached_to_the_passage_citing_it(passages):
    p = _find(passages, "hangzhou-plan-2021", "颐养社区[7]")
    assert "[7]“1+N”颐养社区:" in p.text
    note = [p for p in passages["hangzhou-plan-2021"] if p.kind == "footnote" and p.text.startswith("[8]时间银行")]
    assert len(note) == 1 and note[0].section == ("注释",)


def test_short_title_lines_head_their_paragraph(passages):
    p = _find(passages, "xiaoshan-2024", "旗舰式社区食堂")
    assert p.section[-2:] == ("二、老年助餐服务迭代升级项目", "完善设施布局")


@pytest.mark.parametrize(
    "doc_id,boilerplate",
    [
        ("hangzhou-plan-2021", "当前位置"),
        ("hangzhou-plan-2021", "索引号"),
        ("hangzhou-plan-2021", "附件:"),
        ("binhu-2021", "网站支持IPv6"),
        ("binhu-2021", "信息索引号"),
        ("binhu-2021", "文章来源"),
        ("yuhang-2023", "分享:"),
        ("marriage-registration-2025", "<!--"),
        ("marriage-registration-2025", "国务院令第387号公布"),
    ],
)
def test_boilerplate_is_gone(passages, doc_id, boilerplate):
    assert not any(boilerplate in p.text for p in passages[doc_id])


def test_plan_passages_are_split_only_at_sentence_ends(passages):
    files = {"hangzhou-plan-2021": "003", "yuhang-2023": "002", "binhu-2021": "004", "haining-2024": "001", "xiaoshan-2024": "000"}
    sources = {
        doc_id: next((ROOT / "knowledge" / "documents").glob(prefix + "_*.txt")).read_text(encoding="utf-8").splitlines()
        for doc_id, prefix in files.items()
    }
    for doc_id in ("hangzhou-plan-2021", "yuhang-2023", "binhu-2021", "haining-2024", "xiaoshan-2024"):
        for p in passages[doc_id]:
            if p.kind in ("item", "paragraph") and len(p.text) > MAX_PASSAGE_CHARS * 1.5:
                pytest.fail(f"{p.id} has {len(p.text)} characters")
            body = p.text.split("\n注:")[0]
            ends_sentence = body[-1] in "。;；!！?？”)）"
            ends_source_line = any(line.rstrip().endswith(body[-20:]) for line in sources[doc_id])
            assert ends_sentence or ends_source_line or len(body) < 80 or p.kind == "table_row", (p.id, body[-20:])


def test_passage_ids_are_unique_and_stable(passages):
    ids = [p.id for ps in passages.values() for p in ps]
    assert len(ids) == len(set(ids))
    assert "civil-code-marriage-family:第一千零七十七条" in ids
