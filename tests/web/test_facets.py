"""channels/web/facets.py on small inputs: the region list's order and the shareable filter URLs."""

from channels.web.facets import Filters, Place, places
from retrieval.regions import Region


TABLE = (
    Region("萧山区", (), ("杭州市", "浙江省")),
    Region("余杭区", (), ("杭州市", "浙江省")),
    Region("杭州市", (), ("浙江省",)),
    Region("海宁市", (), ("浙江省",)),
    Region("无锡市滨湖区", (), ("江苏省",)),
    Region("浙江省", (), ()),
    Region("江苏省", (), ()),
)


def test_places_keep_each_city_with_its_districts_then_provinces_then_national():
    present = {"萧山区", "余杭区", "杭州市", "海宁市", "无锡市滨湖区", "浙江省", "全国"}
    assert places(TABLE, present) == (
        Place("杭州市"),
        Place("萧山区", "杭州市"),
        Place("余杭区", "杭州市"),
        Place("海宁市"),
        Place("无锡市滨湖区"),
        Place("浙江省"),
        Place("全国"),
    )


def test_a_district_whose_city_has_no_documents_is_not_indented_and_absent_places_are_left_out():
    assert places(TABLE, {"余杭区", "江苏省"}) == (Place("余杭区"), Place("江苏省"))


def test_filter_urls_carry_every_value_but_the_empty_ones():
    f = Filters(q="低保 标准", region="萧山区", kind="plan")
    assert f.url(topic="aid") == "/lookup?q=%E4%BD%8E%E4%BF%9D+%E6%A0%87%E5%87%86&topic=aid&region=%E8%90%A7%E5%B1%B1%E5%8C%BA&kind=plan"
    assert f.url(region="", kind="") == "/lookup?q=%E4%BD%8E%E4%BF%9D+%E6%A0%87%E5%87%86"
    assert f.active == ("region", "kind")
    assert Filters(q="x", topic="nope", kind="plan").known({"topic": {"aid"}, "region": set(), "kind": {"plan"}, "doc": set()}) == Filters(q="x", kind="plan")
