"""/lookup/explain (staff, compact) and /admin/explain (admin, full, with the files to change)."""

from .conftest import ADMIN_TOKEN, STAFF_TOKEN, login


def test_staff_see_the_compact_explanation_and_admins_the_full_one(client):
    assert client.get("/lookup/explain", params={"q": "低保家庭能不能养宠物狗"}).status_code == 401
    login(client, "lookup", STAFF_TOKEN)
    staff = client.get("/lookup/explain", params={"q": "低保家庭能不能养宠物狗"})
    assert staff.status_code == 200
    assert "置信度低于建议阈值,且有关键词资料里完全没有" in staff.text and "首段缺少的关键词(IDF): 宠物(" in staff.text
    assert "命中词" not in staff.text and "faq/lexicon.txt" not in staff.text
    assert 'href="/lookup/explain?q=' in client.get("/lookup", params={"q": "低保"}).text
    login(client, "admin", ADMIN_TOKEN)
    admin = client.get("/admin/explain", params={"q": "结婚登记", "passage": "marriage-registration-2025:第八条"})
    assert admin.status_code == 200
    assert "为什么不是这一段:" in admin.text and "words 命中词(IDF / BM25权重): 结婚登记(" in admin.text
    assert "knowledge/questions/marriage-registration-2025.toml" in admin.text
    assert "没有编号为“x:y”的段落" in client.get("/admin/explain", params={"q": "结婚登记", "passage": "x:y"}).text
