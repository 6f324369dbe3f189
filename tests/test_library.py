"""Building, caching and loading the store; region detection."""

from dataclasses import replace

import pytest

from retrieval.library import Library
from retrieval.regions import Regions

from .conftest import ROOT


def test_rebuild_reuses_tokens_of_unchanged_passages(settings, tmp_path):
    lib = Library(replace(settings, store_path=tmp_path / "s.db"))
    first = lib.build()
    second = lib.build()
    assert first.tokenized == first.passages - first.reused > 700
    assert second.tokenized == 0 and second.reused == first.tokenized
    assert first.documents == 12


def test_corrupt_store_is_rebuilt_on_load(settings, tmp_path):
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not sqlite")
    lib = Library(replace(settings, store_path=path))
    assert len(lib.snapshot.passages) > 700
    assert lib.is_current()


@pytest.mark.parametrize(
    "question,region",
    [
        ("肖山的老年食堂", "萧山区"),
        ("宾湖结婚登记", "无锡市滨湖区"),
        ("杭州萧山区低保", "萧山区"),
        ("浙江临时救助", "浙江省"),
        ("海寧殡葬", "海宁市"),
        ("结婚要带什么", None),
    ],
)
def test_region_detection(question, region):
    regions = Regions.load(ROOT / "faq" / "regions.toml")
    assert regions.detect(question.replace("寧", "宁")) == region


def test_region_affinity():
    regions = Regions.load(ROOT / "faq" / "regions.toml")
    assert regions.affinity("海宁市", "海宁市") == 2
    assert regions.affinity("海宁市", "浙江省") == 1
    assert regions.affinity("海宁市", "全国") == 1
    assert regions.affinity("海宁市", "无锡市滨湖区") == 0
    assert regions.affinity("无锡市滨湖区", "浙江省") == 0
