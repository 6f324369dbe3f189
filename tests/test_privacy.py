"""Masking personal data before a question is logged (faq/privacy.toml)."""

import json
import re

import pytest

from retrieval.errors import DataFileError
from retrieval.privacy import CHECKS, Masker

from .conftest import DATA, ROOT

CASES = [json.loads(line) for line in (DATA / "personal_data.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def masker(answerer):
    """The build's one Masker, as the query log uses it (it reads the knowledge base's words)."""
    return answerer.masker


def test_the_fixture_is_big_enough_and_mostly_personal():
    assert len(CASES) >= 50
    assert sum(case["text"] != case["masked"] for case in CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:16] for c in CASES])
def test_each_message_is_masked_exactly(masker, case):
    assert masker.mask(case["text"]) == case["masked"]


def test_no_long_digit_run_survives_in_the_masked_fixture(masker):
    for case in CASES:
        digits = re.findall(r"[0-9０-９]{9,}", masker.mask(case["text"]))
        assert digits == [], case["text"]


@pytest.mark.parametrize(
    "text",
    ["打12345投诉", "第八条", "2024年3月1日", "2024-03-01", "每月1200元", "3,000元", "1.5万元", "12349", "第一千零七十七条", "30天"],
)
def test_hotlines_articles_dates_and_amounts_are_kept(masker, text):
    assert masker.mask(text) == text


def test_empty_and_none_pass_through(masker):
    assert masker.mask("") == "" and masker.mask(None) is None


def test_a_bad_pattern_names_file_and_line(tmp_path):
    path = tmp_path / "privacy.toml"
    path.write_text('# c\n\n[[pattern]]\nname = "ok"\nregex = "a+"\nreplacement = "[x]"\n\n[[pattern]]\nregex = "(unclosed"\nreplacement = "[y]"\n', encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        Masker.load(path)
    assert (info.value.path, info.value.line) == (str(path), 8)
    assert "bad regular expression" in info.value.message


def test_names_section_with_a_wrong_type_is_a_data_error(tmp_path):
    path = tmp_path / "privacy.toml"
    path.write_text('[names]\nreplacement = "[姓名]"\nstrong = "我叫"\nweak = []\nsurnames = "王"\nends_before = ["的"]\n', encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        Masker.load(path)
    assert info.value.line == 1


# -- measured on labelled messages (tests/privacy_eval.py) -------------------------------------------
from . import privacy_eval  # noqa: E402

def stored(masker):
    from retrieval.answer import valid_unicode

    return lambda text: masker.mask(valid_unicode(text).strip())


def test_own_labelled_messages_leave_no_personal_item_in_clear_and_keep_the_rest(masker):
    result = privacy_eval.measure(stored(masker), privacy_eval.read_cases(DATA / "privacy_own.jsonl"))
    assert (result.messages, result.pii, result.keep) == (50, 42, 20)
    assert (result.pii_in_clear, result.keep_lost) == ([], [])


def test_ordinary_questions_are_not_masked(masker):
    questions = [json.loads(line)["q"] for line in (DATA / "golden_questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    assert [q for q in questions if masker.mask(q) != q] == []


def test_the_probe_keeps_length_and_reads_numerals_only_in_long_runs(masker):
    text = "电话一三八零五七一二二三三，１３８，二〇二四年，第一千零七十七条"
    probe = masker.probe(text)
    assert len(probe) == len(text)
    assert probe == "电话13805712233,138,二〇二四年,第一千零七十七条"  # NFKC: full-width comma and digits too


def test_an_unknown_check_names_file_and_line(tmp_path):
    path = tmp_path / "privacy.toml"
    path.write_text('[[pattern]]\nregex = "a"\nreplacement = "[x]"\ncheck = "soundex"\n', encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        Masker.load(path)
    assert (info.value.line, info.value.message) == (1, "unknown check 'soundex'; known: document_number, id_card, luhn")


def test_developer_written_messages_of_every_kind_leave_no_name_and_lose_one_word(masker):
    """180 messages written while building the masker (not the helpers' sets): every mechanism and
    its ordinary look-alikes. The lost word is an office building without its estate, read like a
    home address."""
    result = privacy_eval.measure(stored(masker), privacy_eval.read_cases(DATA / "privacy_own2.jsonl"))
    assert (result.messages, result.pii, result.keep) == (180, 126, 137)
    assert [item for item, _ in result.pii_in_clear] == []  # 江海生 was: 江海 is a noun no policy text uses
    assert [item for item, _ in result.keep_lost] == ["三号楼"]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # after a cue, a surname and two characters no civil-affairs word explains: 程志, 周长 and
        # 魏国 are jieba nouns (or places) that no policy text and no lexicon file uses
        ("我妈程志明2024年12月去世的", "我妈[姓名]2024年12月去世的"),
        ("我是周长林，想问低保", "我是[姓名]，想问低保"),
        ("找魏国强办理", "找[姓名]办理"),
        ("我妈高建国去世了", "我妈[姓名]去世了"),
        # ...while the words the vocabulary explains stay: 申请 and 高龄 are the knowledge base's,
        # 成家 ends before 后, which ends no given name
        ("我妈申请书写好了", "我妈申请书写好了"),
        ("我是高龄老人", "我是高龄老人"),
        ("我儿子成家后不管我", "我儿子成家后不管我"),
    ],
)
def test_a_name_the_civil_affairs_vocabulary_does_not_explain_is_masked(masker, text, masked):
    assert masker.mask(text) == masked


def test_without_the_knowledge_base_only_the_lexicon_files_explain_words(answerer):
    """任务 is a word of the knowledge base, not of faq/'s lexicon files: a masker loaded without
    the build reads 我是任务英 as a name, the build's does not."""
    alone = Masker.load(ROOT / "faq" / "privacy.toml")
    assert (alone.mask("我是任务英，想问"), answerer.masker.mask("我是任务英，想问")) == ("我是[姓名]，想问", "我是任务英，想问")


def test_a_masked_question_masks_to_itself(masker):
    """What a follow-up keeps of a masked question, masked again, reveals nothing new and loses nothing."""
    texts = [case["text"] for name in ("personal_data.jsonl", "privacy_messages.jsonl", "privacy_messages_fit2.jsonl", "privacy_own2.jsonl") for case in _jsonl(DATA / name)]
    assert len(texts) == 832
    assert [t for t in texts if masker.mask(masker.mask(t)) != masker.mask(t)] == []


def _jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_chinese_numbers_before_a_unit_are_read_as_digits_and_mapped_back(masker):
    probe = masker.probe("康桥路一百零八号三单元二零二室，第十二条，两寸")
    reading, starts, ends = masker.numbers(probe)
    assert reading == "康桥路108号3单元202室,第十二条,两寸"
    assert (starts[3], ends[5]) == (3, 7)  # "108" stands for 一百零八
    assert masker.numbers("第十二条") == ("第十二条", None, None)


@pytest.mark.parametrize(
    ("check", "text", "ok"),
    [
        ("id_card", "330102193002140022", True),  # a date inside
        ("id_card", "110101199013320010", True),  # month 13, but the check digit is right
        ("id_card", "110101199013320014", False),  # neither
        ("id_card", "3303 8119 9507 2211 8X", True),
        ("luhn", "6222 0812 0200 9876 549", True),
        ("luhn", "6222 0812 0200 9876 548", False),
        ("document_number", "C7HJ42KX9", True),
        ("document_number", "12/03/1987", False),  # a date, found by the birth-date rules
        ("document_number", "ABC123", False),  # too few digits
    ],
)
def test_checks_confirm_numbers(check, text, ok):
    assert CHECKS[check](text) is ok


def test_a_surname_that_is_not_one_or_two_characters_names_the_surname_file_and_line(tmp_path):
    (tmp_path / "surnames.txt").write_text("# surnames\n王 李\n张三丰\n", encoding="utf-8")
    path = tmp_path / "privacy.toml"
    path.write_text('[names]\nreplacement = "[姓名]"\nstrong = []\nweak = []\nsurname_file = "surnames.txt"\nends_before = ["的"]\n', encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        Masker.load(path)
    assert (info.value.path, info.value.line) == (str(tmp_path / "surnames.txt"), 3)
    assert "'张三丰'" in info.value.message


def test_a_bad_keep_pattern_names_file_and_line(tmp_path):
    path = tmp_path / "privacy.toml"
    path.write_text("[[pattern]]\nregex = 'a'\nreplacement = '[x]'\n\n[[keep]]\nregex = '('\n", encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        Masker.load(path)
    assert info.value.line == 5 and "bad regular expression" in info.value.message


def test_a_find_wholly_inside_kept_content_is_dropped(tmp_path):
    path = tmp_path / "privacy.toml"
    path.write_text("[[pattern]]\nregex = '[0-9]{4}'\nreplacement = '[n]'\n\n[[keep]]\nregex = '〔[0-9]{4}〕'\n", encoding="utf-8")
    assert Masker.load(path).mask("浙民发〔2024〕12号，卡1234") == "浙民发〔2024〕12号，卡[n]"


def test_a_phone_number_hidden_by_zero_width_characters_or_written_in_financial_numerals_is_masked(tmp_path):
    """Found by the third attack: 138\\u200b1234\\u200b5678 and 壹叁捌… were stored as typed."""
    from retrieval.privacy import Masker

    masker = Masker.load(ROOT / "faq" / "privacy.toml")
    assert masker.mask("我电话138\u200b1234\u200b5678想问低保") == "我电话[手机号]想问低保"
    assert masker.mask("我电话壹叁捌壹贰叁肆伍陆柒捌 想问低保") == "我电话[手机号] 想问低保"
    assert masker.mask("特困供养第壹条是什么") == "特困供养第壹条是什么"  # one numeral is no number


# -- classes the held-out sets were leaking (issue 14, fourth round): each message exactly --------
@pytest.mark.parametrize("text, masked", [
    ("王建军想申请低保，他家三口人", "[姓名]想申请低保，他家三口人"),
    ("李娜和我要结婚，需要带什么", "[姓名]和我要结婚，需要带什么"),
    ("你好，王建军想问一下低保", "你好，[姓名]想问一下低保"),
    ("向志强想问特困", "[姓名]想问特困"),  # 向 is a surname as a clause's first word
    ("叶子涵同学的父母离婚了", "[姓名]同学的父母离婚了"),  # a role word after it ends a name
    ("请通知一下吴国栋来社区", "请通知一下[姓名]来社区"),
])
def test_a_name_opening_a_clause_with_no_cue_is_masked(masker, text, masked):
    assert masker.mask(text) == masked


@pytest.mark.parametrize("text", ["张家口的低保怎么申请", "高龄津贴怎么领", "向社区反映问题", "于是我想问低保", "向日葵社区在哪", "金华的低保标准", "周末能办吗", "李家村的低保标准是多少", "王家村在哪", "民政局电话是多少", "特困供养标准", "陈经理你好"])
def test_a_place_a_policy_term_or_a_title_opening_a_clause_is_no_name(masker, text):
    expected = "[姓名]经理你好" if text == "陈经理你好" else text  # the surname before a title is one
    assert masker.mask(text) == expected


def test_a_surname_said_first_and_then_the_given_name_is_masked(masker):
    assert masker.mask("我姓黄名美华，低保审批到哪一步了") == "我姓黄名[姓名]，低保审批到哪一步了"
    assert masker.mask("我姓王，名小燕，想问低保") == "我姓王，名[姓名]，想问低保"
    assert masker.mask("姓张的名下有两套房能申请低保吗") == "姓张的名下有两套房能申请低保吗"


def test_a_name_typed_with_spaces_between_its_characters_is_masked(masker):
    assert masker.mask("王 秀 英 电 话 13857123456 问 低 保") == "[姓名] 电 话 [手机号] 问 低 保"
    assert masker.mask("我叫 张 桂 兰，想问低保") == "我叫 [姓名]，想问低保"
    assert masker.mask("帮 李 建 国 问 一 下 特 困") == "帮 [姓名] 问 一 下 特 困"
    assert masker.mask("我 想 问 一 下 高 龄 津 贴") == "我 想 问 一 下 高 龄 津 贴"


def test_a_nickname_before_the_full_name_with_its_surname_masks_both(masker):
    assert masker.mask("邻居老赵赵长顺一个人住，能申请特困吗") == "邻居[姓名][姓名]一个人住，能申请特困吗"


@pytest.mark.parametrize("text, masked", [
    ("电话l38S7l23456（手机键盘打错了）低保", "电话[手机号]（手机键盘打错了）低保"),
    ("电话:I3857I23456", "电话:[手机号]"),
    ("身份证33O1O2195OO312451７", "身份证[身份证号]"),
    ("护照E12345678，工单HZ20240611003", "护照[证件号]，工单HZ20240611003"),
])
def test_letters_typed_for_digits_inside_a_number_are_read_as_digits(masker, text, masked):
    assert masker.mask(text) == masked


def test_the_probe_reads_look_alike_letters_only_inside_a_digit_run(masker):
    text = "电话l38S7l23456，SOS 123，Hello 2024"
    assert masker.probe(text) == "电话13857123456,SOS 123,Hello 2024"


def test_look_alikes_that_are_not_letters_for_digits_are_a_data_error(tmp_path):
    path = tmp_path / "privacy.toml"
    path.write_text('[probe]\nlookalikes = { "O" = "zero" }\n', encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        Masker.load(path)
    assert (info.value.line, info.value.message) == (1, "[probe] lookalikes maps single Latin letters to single digits")


@pytest.mark.parametrize("text, masked", [
    ("女方出生日期：1999年5月3日，男方2000年1月1日，能结婚吗", "女方出生日期：[出生日期]，男方[出生日期]，能结婚吗"),
    ("我生日1950年3月1日，老伴1952年6月8日，能领高龄补贴吗", "我生日[出生日期]，老伴[出生日期]，能领高龄补贴吗"),
    ("我1950年3月1日出生，老伴1952年6月8日出生，能领高龄补贴吗", "我[出生日期]出生，老伴[出生日期]出生，能领高龄补贴吗"),
    ("我生日1950年3月1日，老伴2024年3月1日去世了，丧葬费", "我生日[出生日期]，老伴2024年3月1日去世了，丧葬费"),
])
def test_a_second_birth_date_after_the_first_is_masked_and_an_event_date_is_kept(masker, text, masked):
    assert masker.mask(text) == masked


def test_the_tail_of_a_mobile_number_given_in_parts_is_masked(masker):
    assert masker.mask("手机号后面是5712 3456，前面是138，特困") == "手机号后面是[电话]，前面是138，特困"


def test_a_number_does_not_run_across_a_comma_into_a_year_or_an_age(masker):
    assert masker.mask("身份证330203198705151814,2024年3月失业") == "身份证[身份证号],2024年3月失业"
    assert masker.mask("身份证号420106 19620216 4249,60岁的时候") == "身份证号[身份证号],60岁的时候"
    assert masker.mask("电话13,857,123,456") == "电话[手机号]"


def test_a_number_written_with_wide_spaces_between_its_digits_or_numerals_is_masked(masker):
    assert masker.mask("手机 138    5712    3456") == "手机 [手机号]"
    assert masker.mask("电话一  三  八  五  七  一  二  三  四  五  六") == "电话[手机号]"


# -- issue 14, fifth round: number classes a person who knows Chinese personal data expects -------
@pytest.mark.parametrize("text, masked", [
    # a birth date with a two-digit year, only beside a birth cue
    ("我是87年5月15日出生的", "我是[出生日期]出生的"),
    ("老伴儿是52年10月1日生的，高龄补贴", "老伴儿是[出生日期]生的，高龄补贴"),
    ("出生日期：87.5.15", "出生日期：[出生日期]"),
    ("生日是91年3月2号", "生日是[出生日期]"),
    ("24年3月1日开始申请低保", "24年3月1日开始申请低保"),
    ("24年3月1日出生的孩子能上户口吗", "24年3月1日出生的孩子能上户口吗"),
    # a WeChat id by its wxid_ shape, with or without a cue
    ("我的wxid_abc123def456", "我的[微信号]"),
    ("加我vx：lily-2020abc", "加我vx：[微信号]"),
    ("QQ:8765432 问低保", "QQ:[QQ号] 问低保"),
    ("微信 8765432 加我", "微信 [微信号] 加我"),
    ("车牌号 A12345 被拖走了", "车牌号 [车牌号] 被拖走了"),
    # a licence plate typed with spaces or a dot between its parts
    ("车牌号是浙 A D12345", "车牌号是[车牌号]"),
    ("浙 A·12345 停在殡仪馆门口", "[车牌号] 停在殡仪馆门口"),
    # building, unit and room in dashes
    ("住在3-2-501，想申请助餐", "住在[地址]，想申请助餐"),
    ("地址：西湖区文一路3-2-501", "地址：西湖区[地址]"),  # the road goes with its number
    ("家住5-1-602室", "家住[地址]"),
    # a VIN of 17 characters
    ("我的车LSGJA52U2CS123456报废会影响低保吗", "我的车[车架号]报废会影响低保吗"),
    ("VIN: LFV2A21K6G4012345", "VIN: [车架号]"),
    # an e-mail address spelled around filters
    ("我的邮箱是wangfang(at)163.com", "我的邮箱是[邮箱]"),
    ("邮箱 wang.fang @ 126 .com", "邮箱 [邮箱]"),
    ("邮箱zs艾特163点com", "邮箱[邮箱]"),
    # a village house number
    ("住嵊州市城北村9号", "住嵊州市[地址]"),
    # the last digits of a number, after the words that say so
    ("手机尾号3456的那个短信", "手机尾号[号码]的那个短信"),
    ("身份证后六位 301234", "身份证后六位 [号码]"),
    ("银行卡尾号 8812", "银行卡尾号 [号码]"),
    # a passport number typed in groups; Hong Kong and Macau identity cards with their check digit
    ("护照号 E 1234 5678 过期了", "护照号 [证件号] 过期了"),
    ("香港身份证A123456(7)", "香港身份证[身份证号]"),
    ("澳门身份证1234567(8)", "澳门身份证[身份证号]"),
    # a room after its building or estate, or before 室
    ("住阳光公寓1208室", "住阳光公寓[地址]"),
    ("住A座1604", "住A座[地址]"),
    ("在301室住了十年", "在[地址]住了十年"),
    # a year and month before 生
    ("1950年3月生，今年74", "[出生日期]生，今年74"),
    # a birth date after 出生: / 出生年份 / 生辰
    ("出生：1952/10/15", "出生：[出生日期]"),
    ("生辰1952年10月15日", "生辰[出生日期]"),
    # a lane of old town houses and its number
    ("住在宝善里3弄5号", "住在[地址]"),
    ("住在新华坊12号", "住在[地址]"),
    # a road and its house number typed without 号
    ("住在文三路259，想问", "住在[地址]，想问"),
    ("家住解放路23-1", "家住[地址]"),
    ("地址 湖墅南路 88", "地址 [地址]"),
    # a room in numerals after its unit
    ("住在5幢3单元一零二", "住在[地址][地址]"),
    # numbers a hospital, school, employer or insurer knows a person by
    ("住院号123456，费用能报销吗", "住院号[号码]，费用能报销吗"),
    ("工号10086", "工号[号码]"),
    ("结婚证字号 J330106-2010-001234", "结婚证字号 [号码]"),
    # accounts on other services, and a handle by its own shape
    ("支付宝账号：zhang_san88", "支付宝账号：[账号]"),
    ("抖音号 abc12345", "抖音号 [账号]"),
    ("我的tg是@zhangsan_88", "我的tg是[账号]"),
    # any number of 7-13 digits after a phone word, though no mobile or landline has its shape
    ("身份证3301021987，少了几位", "身份证[身份证号]，少了几位"),
    ("身份证号 33010219870515181", "身份证号 [身份证号]"),
    ("手机 12345678901", "手机 [电话]"),
    ("电话1385712345（少打了一位）", "电话[电话]（少打了一位）"),
    # a number partly starred out
    ("手机号138****3456", "手机号[号码]"),
    ("身份证330102********1814", "身份证[号码]"),
    ("卡号 6222 **** **** 1234", "卡号 [号码]"),
])
def test_number_classes_of_the_fifth_round_are_masked(masker, text, masked):
    assert masker.mask(text) == masked


@pytest.mark.parametrize("text", [
    "第十二条规定的", "2024年3月开始", "每月1200元", "80岁老人", "打12345", "浙民发〔2024〕12号", "西湖区的低保",
    "2024-3-15去的民政局", "12-03-2024办的结婚证", "GB 38600-2019", "申请编号LSJZ2024031500127", "工单HZ20240611003001",
    "下午3点到 at 3 pm", "李家村的低保", "第3-2-1项", "浙江A级景区",
    "小区200多户", "小区1386户低保户", "公寓2024年建的", "大厦1000米外", "第301室", "2024年3月生效", "2024年3月生的孩子",
    "尾号是什么", "后四位数是什么", "我在这里12号来办", "下个月12号去", "城里12号", "出生 2024年1月1日以后的孩子", "孩子出生：2024年",
    "身份证20300101到期", "身份证有效期2030年", "身份证丢了2024年补办", "电话12349", "电话96345", "电话号码是多少", "手机2024年买的", "电话费每月30元", "电话里说1200元", "三单元一个人住", "我妈萧山人", "我儿子金华读书", "我老公江北上班", "我外婆宁波来的", "我妈嘉兴住院", "微信 1200 元转给我了", "微信支付 1200 元", "车牌限行", "车牌号多少", "坐文三路10路车", "延安路2024年改造", "解放路上100多家店", "沿着文三路200米", "中山路有3个",
    "加工号码", "大学号召", "每月@所有人", "@12345", "字号大一点",
])
def test_near_misses_of_the_fifth_round_number_classes_are_kept(masker, text):
    assert masker.mask(text) == text


# -- issue 14, fifth round: person names in the contexts Chinese speakers give them ---------------
@pytest.mark.parametrize("text, masked", [
    # a kinship word said with 儿 labels a name as the word does
    ("我老伴儿封国华去世了，丧葬费怎么领", "我老伴儿[姓名]去世了，丧葬费怎么领"),
    ("我家老伴儿祝春花住院了", "我家老伴儿[姓名]住院了"),
    ("我们家那口子刘国庆不管家", "我们家那口子[姓名]不管家"),
    # 的 + a kinship word
    ("我的老伴张桂芝去年走了", "我的老伴[姓名]去年走了"),
    # a compound surname and one given character opening a clause
    ("诸葛明想问低保", "[姓名]想问低保"),
    ("钟离秀住在城北村", "[姓名]住在城北村"),
    # a surname and one given character that make no word, opening a clause before a word that ends a name
    ("你好，蔺金想问一下", "你好，[姓名]想问一下"),
    # 于, 向, 时 as surnames after a cue, where they make no word with what follows
    ("老人于建国，男，八十岁", "老人[姓名]，男，八十岁"),
    ("于正义想申请低保", "[姓名]想申请低保"),
    ("我是于强的儿子", "我是[姓名]的儿子"),
    ("帮向兰问一下特困", "帮[姓名]问一下特困"),
    ("申请人时小红", "申请人[姓名]"),
    # a kinship or role word in brackets after a name, 本人 after it, a kinship word after a dictionary name
    ("王芳（我妈）想问低保", "[姓名]（我妈）想问低保"),
    ("我妈（贺娜）想问", "我妈（[姓名]）想问"),
    ("黄秀珍本人申请", "[姓名]本人申请"),
    ("爷爷胡国华奶奶王秀英", "爷爷[姓名]奶奶[姓名]"),
    # a phone number right after a surname-led name
    ("窦金根 13857123456", "[姓名] [手机号]"),
    # names after 叫 / 姓…叫 / 是
    ("我老公姓陈，叫陈建", "我老公姓陈，叫[姓名]"),
    ("申请人是赵志刚", "申请人是[姓名]"),
    # a name opening a clause before a verb of hotline tickets (反映, 诉求, 告诉, 目前)
    ("朱伟反映低保问题", "[姓名]反映低保问题"),
    ("何红梅诉求：补发高龄津贴", "[姓名]诉求：补发高龄津贴"),
    ("莫金花目前独居", "[姓名]目前独居"),
    # single-character kinship words as labels (俺娘, 我爷)
    ("俺娘许根娣今年八十", "俺娘[姓名]今年八十"),
    ("我爷巫水根去世了", "我爷[姓名]去世了"),
    # a name standing alone right after 我
    ("我卫娟，想问低保", "我[姓名]，想问低保"),
    # given names jieba's dictionary tags as a rare adverb (立新) or ends with a rare preposition (根, 顺)
    ("方立新大爷八十多了", "[姓名]大爷八十多了"),
    ("联系吴立新就行", "联系[姓名]就行"),
    ("江水根户口在西湖区", "[姓名]户口在西湖区"),
    ("卫长顺已经去世三年", "[姓名]已经去世三年"),
    # Latin names: one capitalised word after a kinship word, a full name after a letter's sign-off
    ("我老公 David 是美国人", "我老公 [姓名] 是美国人"),
    ("Regards, Peter Smith", "Regards, [姓名]"),
    # a pinyin name in small letters after a Chinese cue
    ("我叫wang fang，想问低保", "我叫[姓名]，想问低保"),
    ("我妈叫 li xiuying", "我妈叫 [姓名]"),
    ("本人 zhao lei", "本人 [姓名]"),
    # a name right after a time word or a connective opening the clause
    ("昨天许永康来办低保", "昨天[姓名]来办低保"),
    ("为什么严洋没有高龄补贴", "为什么[姓名]没有高龄补贴"),
    ("叶强属于特困人员吗", "[姓名]属于特困人员吗"),
    # the person cared for or visited, and a name before a job title
    ("我照顾张阿根十年了", "我照顾[姓名]十年了"),
    ("我去看望路美玲", "我去看望[姓名]"),
    ("村里的侯福会计说的", "村里的[姓名]会计说的"),
    # a name after 写成了 / 实际是 (a name written wrong on a certificate), and 于 where a person stands
    ("死亡证明上写成了龙志强，实际是龙志刚，怎么改", "死亡证明上写成了[姓名]，实际是[姓名]，怎么改"),
    ("我是殡葬服务站的于桂芝，想问", "我是殡葬服务站的[姓名]，想问"),
    # the roles of forms and bank slips
    ("签收人吴国强", "签收人[姓名]"),
    ("收款人：王秀英", "收款人：[姓名]"),
    # after a label a place word may start a given name, before a word that ends a name
    ("我外公钱塘生住在钱塘区，95岁了", "我外公[姓名]住在钱塘区，95岁了"),
])
def test_names_in_the_fifth_round_contexts_are_masked(masker, text, masked):
    assert masker.mask(text) == masked


@pytest.mark.parametrize("text", [
    "于是我想问低保", "向往美好生活", "时间是几点", "我们向政府反映", "帮向社区反映一下", "给向导打电话", "和时间赛跑",
    "是于去年申请的", "是时候申请了", "与时俱进", "跟向阳社区说", "问问向上级部门", "我是向着社区来的", "和向日葵社区联系",
    "低保（城市）标准", "申请人本人签字", "户主本人到场", "高龄津贴 12345", "东方明珠", "车费想报销", "全家想申请低保",
    "钱都花光了", "单亲想申请", "单位反映的问题", "金额目前是多少", "周边目前有没有养老院", "马上投诉", "家属反映",
    "奶粉钱", "姥姥家", "我明白。", "我同意，", "我从去年，", "我单身，", "我全家，", "他住在家里后面", "王村里有人", "Thanks, I will go", "Best, the Li family", "帮我 li yi xia", "和 ok 吗", "昨天高温天气老人能领补贴吗", "今天王府井开门吗", "为什么高龄津贴没到",
    "请问李家村在哪", "请问余额怎么查", "现在钱都没到", "如果全家都是残疾", "所以林业局说", "照顾老人十年了", "照顾好自己",
    "赡养费怎么算", "照顾方面有补贴吗", "探望权", "社区保安", "名字写成了繁体", "改成了城市户口", "实际是低保户",
    "实际是向社区申请", "服务站的向导说", "社区的于是说", "第十二条", "2024年3月", "1200元", "80岁", "12345", "浙民发〔2024〕12号", "西湖区", "低保",
])
def test_everyday_words_beside_the_fifth_round_name_contexts_are_kept(masker, text):
    assert masker.mask(text) == text


@pytest.mark.parametrize("text, masked", [
    ("一九零，七二零零，六四一六是我手机", "[手机号]是我手机"),
    ("座机零二一--五五七四-三三七七", "座机[电话]"),
    ("第一，二，三条", "第一，二，三条"),
    ("一，二，三，四，五，六点", "一，二，三，四，五，六点"),
])
def test_numerals_grouped_with_commas_or_doubled_dashes_are_read_as_one_number(masker, text, masked):
    assert masker.mask(text) == masked


def test_a_number_grouped_with_full_width_commas_is_masked_and_does_not_break_the_id_check(masker):
    """6217，9147，0407，2113，553 raised ValueError in the ID check: a 15-digit match with three
    full-width commas is 18 characters long, and the check read the comma as a digit."""
    assert masker.mask("卡号6217，9147，0407，2113，553") == "卡号[银行卡号]"
    assert CHECKS["id_card"]("330102，19300214，0022") is True  # the commas are separators, not digits


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # a role word before a name labels it as it does after one (会计饶建新 as 饶建新会计)
        ("村里的会计饶建新把我们家的低保名额给了他亲戚", "村里的会计[姓名]把我们家的低保名额给了他亲戚"),
        ("司机罗卫国，他开车撞了人", "司机[姓名]，他开车撞了人"),
        ("主任说低保要重新审核", "主任说低保要重新审核"),
        ("会计做账有问题", "会计做账有问题"),
        # a signature is a label
        ("申请人签字 支文博 2024年6月1日", "申请人签字 [姓名] 2024年6月1日"),
        ("需要本人签字吗", "需要本人签字吗"),
        # surnames the list lacked
        ("老婆是杭州人，叫楚云，我们想去登记结婚", "老婆是杭州人，叫[姓名]，我们想去登记结婚"),
        ("临平区民政局的 官建华 他老婆开的养老院", "临平区民政局的 [姓名] 他老婆开的养老院"),
        # a calling code is only written before a phone number, not inside a card number
        ("mobile +852 9123 4567, 想了解", "mobile [电话], 想了解"),
        ("卡号：6217 0012 3456 7890 123，低保金没到账", "卡号：[银行卡号]，低保金没到账"),
        # a full date straight after 出生 is a birth date, unless it bounds a period
        ("出生1941年2月14日，蒙古族", "出生[出生日期]，蒙古族"),
        ("出生 2024年1月1日以后的孩子", "出生 2024年1月1日以后的孩子"),
        # Western-order Latin names with a pinyin surname; a place in Latin letters is no name
        ("Emily Chen 想了解杭州的收养登记流程", "[姓名] 想了解杭州的收养登记流程"),
        ("Contact: Wendy Lau, 想了解香港居民在杭州登记结婚", "Contact: [姓名], 想了解香港居民在杭州登记结婚"),
        ("Hong Kong 居民在杭州登记结婚", "Hong Kong 居民在杭州登记结婚"),
        # the unit after a number is no surname (元太少)
        ("高龄补贴每个月才50元太少了", "高龄补贴每个月才50元太少了"),
    ],
)
def test_the_third_fit_set_classes_are_masked_and_their_look_alikes_kept(masker, text, masked):
    assert masker.mask(text) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # two or more elements of a minority name together are a name wherever they stand
        ("我们村的次仁卓玛家里失火了", "我们村的[姓名]家里失火了"),
        ("我邻居阿牛木呷是个孤儿，村主任阿西拉哈不管", "我邻居[姓名]是个孤儿，村主任[姓名]不管"),
        ("男的叫王建国，女的叫帕提古丽，都七十多了", "男的叫[姓名]，女的叫[姓名]，都七十多了"),
        ("乌兰察布的低保标准", "乌兰察布的低保标准"),
        # a birth date after what the cue says of it, and a spaced cue
        ("结婚证上我的生日写成了1992年3月15日，实际是1992年5月13日，怎么改", "结婚证上我的生日写成了[出生日期]，实际是[出生日期]，怎么改"),
        ("他 出生 日期 是 一九四零年六月十八日 他 想 申请", "他 出生 日期 是 [出生日期] 他 想 申请"),
        # a QQ number after a comma
        ("留了个QQ号，1025638847，说有事联系他", "留了个QQ号，[QQ号]，说有事联系他"),
        # a name a clerk typed wrong, and a leader or a client named by role
        ("她打成唐诗语，结婚证都发了", "她打成[姓名]，结婚证都发了"),
        ("领导说低保要重新审核", "领导说低保要重新审核"),
    ],
)
def test_the_fourth_fit_set_classes_are_masked_and_their_look_alikes_kept(masker, text, masked):
    assert masker.mask(text) == masked


def test_a_bad_minority_name_element_names_file_and_line(tmp_path):
    path = tmp_path / "privacy.toml"
    path.write_text('[names]\nreplacement = "[姓名]"\nstrong = ["我叫"]\nweak = []\nsurnames = "王"\nends_before = ["的"]\nminority_file = "m.txt"\n', encoding="utf-8")
    (tmp_path / "m.txt").write_text("# elements\n扎西 顿珠\n扎\n", encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        Masker.load(path)
    assert info.value.line == 3 and "扎" in info.value.message


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # found by the second review: a name right after a phone number is no unit of a quantity
        ("我电话13812345678张伟", "我电话[手机号][姓名]"),
        ("电话13812345678万丽娟", "电话[手机号][姓名]"),
        # a date after 出生 that bounds a period or names an event is no birth date
        ("出生在2024年1月1日及以后的孩子能领育儿补贴吗", "出生在2024年1月1日及以后的孩子能领育儿补贴吗"),
        ("出生2024年1月1日以来", "出生2024年1月1日以来"),
        ("出生在2023年1月1日当天", "出生在2023年1月1日当天"),
        ("出生在2022年1月1日和2024年12月31日之间的孩子", "出生在2022年1月1日和2024年12月31日之间的孩子"),
        # a card typed with two spaces between groups is a card, not a number after a calling code
        ("卡号6217  0012 3456 7890", "卡号[银行卡号]"),
        # places and English words before a pinyin surname are no Western-order names
        ("Visit Wen Zhou", "Visit Wen Zhou"),
        ("Welcome Wang", "Welcome Wang"),
        ("我叫买买提‧艾力", "我叫[姓名]"),
    ],
)
def test_the_second_review_s_cases_are_masked_as_they_should_be(masker, text, masked):
    assert masker.mask(text) == masked



@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # a surname-led run no word explains, where jieba's cut starts a word, though no cue is before it
        ("我们楼那个叫什么来着邬桂荣对就是她不让我们办", "我们楼那个叫什么来着[姓名]对就是她不让我们办"),
        # ...but a verb said twice around 一 and a run with a question word are no names
        ("小区里搭灵棚办丧事太吵了,有没有办法管一管?", "小区里搭灵棚办丧事太吵了,有没有办法管一管?"),
        ("给老人用的养老积分、电子钱叫啥,全市都能用吗", "给老人用的养老积分、电子钱叫啥,全市都能用吗"),
    ],
)
def test_a_name_where_a_word_starts_is_masked_and_its_look_alikes_kept(masker, text, masked):
    assert masker.mask(text) == masked
