"""Masking measured on an independent labelled set: tests/data/privacy_messages.jsonl.

324 messages written by a helper who had not seen faq/privacy.toml, each with the personal items
it holds ("pii") and the ordinary content that must survive ("keep": article numbers, dates,
amounts, ages, 12345, places). A personal item is *left in clear* when its exact text, or its
digits-only form (for items with 5 or more digits: "157 8239 4457" -> "15782394457"), is still
in the masked text with its non-digits removed. Run with -s to see the figures and what leaked.

Four sets: two tuned on (the first set; privacy_messages_fit2.jsonl, half of a third helper's 320
messages), whose leaks are printed; and two held out (privacy_messages_heldout.jsonl, the other
half privacy_messages_heldout2.jsonl), for which only aggregate figures are computed, so that no
one tunes on them by reading what they leak.
"""

import json
import re

import pytest

from retrieval.answer import valid_unicode

from .conftest import DATA

def _cases(name):
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


CASES = _cases("privacy_messages.jsonl")


def _digits(text):
    return re.sub(r"[^0-9]", "", text)


def left_in_clear(item, masked):
    digits = _digits(item)
    return item in masked or (len(digits) >= 5 and digits in _digits(masked))


def _leaks(cases, masker, name=None):
    """Each personal item left in clear and each keep item lost, as (id, item, masked text), masked
    as the query log stores the message; with `name`, the figures and the rows are printed."""
    left, lost = [], []
    for case in cases:
        masked = masker.mask(valid_unicode(case["text"]).strip())  # what the query log stores
        left += [(case.get("id"), item, masked) for item in case["pii"] if item and left_in_clear(item, masked)]
        lost += [(case.get("id"), item, masked) for item in case["keep"] if item and item not in masked]
    pii, keep = sum(len(c["pii"]) for c in cases), sum(len(c["keep"]) for c in cases)
    if name is not None:
        print(f"\n{name}: {len(cases)} messages; {len(left)} of {pii} personal items left in clear ({len(left) / pii:.1%}); "
              f"{keep - len(lost)} of {keep} keep items kept ({(keep - len(lost)) / keep:.1%})")
        for row in left + lost:
            print("  ", *row)
    return {"pii": pii, "left": left, "keep": keep, "lost": lost}


@pytest.fixture(scope="module")
def measured(answerer):
    return _leaks(CASES, answerer.masker, "privacy set")  # the build's one Masker, as the query log uses it


def test_the_set_is_the_independent_one_and_big_enough(measured):
    assert (len(CASES), measured["pii"], measured["keep"]) == (324, 582, 338)


def test_at_most_one_percent_of_personal_items_are_left_in_clear(measured):
    assert len(measured["left"]) / measured["pii"] <= 0.01, measured["left"]


def test_ordinary_content_is_kept(measured):
    """Every keep item is kept since a number no longer runs across a comma into the year after
    it (身份证…1814,2024年3月失业 lost its 2024年3月; 3 of 338 were lost)."""
    assert measured["lost"] == []


def test_no_item_is_left(measured):
    """Nothing leaks since a place word may start a given name after a label (我外公钱塘生住在钱塘区:
    钱塘生 was the one item left, a given name equal to the district the message names)."""
    assert measured["left"] == []


# -- a second fit set: 160 messages by a third helper, half of a set whose other half is held out --
FIT2 = _cases("privacy_messages_fit2.jsonl")


@pytest.fixture(scope="module")
def measured_fit2(answerer):
    return _leaks(FIT2, answerer.masker, "second fit set")


def test_the_second_fit_set_is_the_one_written_for_it(measured_fit2):
    assert (len(FIT2), measured_fit2["pii"], measured_fit2["keep"]) == (160, 233, 210)


def test_the_second_fit_set_leaves_at_most_one_percent_in_clear(measured_fit2):
    assert len(measured_fit2["left"]) / measured_fit2["pii"] <= 0.01, measured_fit2["left"]


def test_the_second_fit_set_keeps_ordinary_content(measured_fit2):
    assert 1 - len(measured_fit2["lost"]) / measured_fit2["keep"] >= 0.99, measured_fit2["lost"]


# -- a second independent set, written after the masker was tuned on the first, never tuned on ----
HELDOUT = _cases("privacy_messages_heldout.jsonl")


def _measure(cases, masker):
    """(share of personal items left in clear, share of keep items kept): aggregates only."""
    found = _leaks(cases, masker)
    return len(found["left"]) / found["pii"], 1 - len(found["lost"]) / found["keep"]


def test_the_held_out_privacy_set_holds_its_measured_level(answerer):
    """Measured after the fifth round's classes were covered (numbers by their own shape or after
    the words that name them: two-digit birth years, wxid_, spaced plates, dashed rooms, VINs,
    spelled e-mail, starred and mis-sized numbers after a phone or ID word; names in more
    contexts): 10 of 212 personal items left in clear (4.7%; 8.0% after the fourth round, 8.5%,
    9.0%, 9.4% and 12.3% before that), 261 of 262 keep items kept. The
    first set's 0.2% was reached while looking at it; this one is the honest figure. Only these
    aggregates are ever computed for this set. 8 of 212 (3.8%) since a name may stand where jieba's
    cut starts a word (2026-12-07)."""
    left, kept = _measure(HELDOUT, answerer.masker)
    print(f"\nheld-out privacy set: {len(HELDOUT)} messages, {left:.1%} left in clear, {kept:.1%} kept")
    assert len(HELDOUT) == 160 and left <= 8 / 212 + 1e-9 and kept >= 261 / 262 - 1e-9


@pytest.mark.xfail(strict=True, reason="the issue-14 target (≤ 1% in clear) is not met on a set nobody tuned on: 3.8%")
def test_the_held_out_privacy_set_meets_the_target(answerer):
    assert _measure(HELDOUT, answerer.masker)[0] <= 0.01


# -- the held-out half of the third helper's set: never opened while the masker was built ---------
HELDOUT2 = _cases("privacy_messages_heldout2.jsonl")


def test_the_second_held_out_privacy_set_holds_its_measured_level(answerer):
    """Measured after the masker read names from the civil-affairs vocabulary (0 of 233 in clear on
    the fit half), then the third attack's classes, then the fourth round's, then the fifth's: 8 of
    216 personal items left in clear (3.7%; 4.6%, 5.6%, 6.5% and 6.9% before), 213 of 213 kept;
    after the third fit set's classes, 6 of 216 (2.8%)."""
    left, kept = _measure(HELDOUT2, answerer.masker)
    print(f"\nsecond held-out privacy set: {len(HELDOUT2)} messages, {left:.1%} left in clear, {kept:.1%} kept")
    assert len(HELDOUT2) == 160 and left <= 6 / 216 + 1e-9 and kept >= 1.0 - 1e-9


@pytest.mark.xfail(strict=True, reason="the issue-14 target (≤ 1% in clear) is not met on the second held-out set either: 2.8%")
def test_the_second_held_out_privacy_set_meets_the_target(answerer):
    assert _measure(HELDOUT2, answerer.masker)[0] <= 0.01


# -- a fourth helper's 400 messages (2026-12-07), split once with seed 20261207: the fit half was
# -- tuned on, the held-out half only ever measured in aggregate ------------------------------------
FIT3 = _cases("privacy_messages_fit3.jsonl")
HELDOUT3 = _cases("privacy_messages_heldout3.jsonl")


def test_the_third_fit_set_leaves_three_names_in_clear(answerer):
    """12 of 286 were left before this set was tuned on (4.2%): role words before a name
    (会计饶建新, 司机罗卫国), surnames the list lacked (官, 楚), 签字 as a label, a date straight
    after 出生, numbers after a calling code (+852), Western-order Latin names (Emily Chen) and
    Contact:; then a surname-led run no word explains where jieba's cut starts a word (叫什么来着包红霞
    对就是她). Left: 张三丰 (a numeral in the given name) and 么秀云 (么 is never in a name)."""
    found = _leaks(FIT3, answerer.masker, "third fit set")
    left, lost, pii, keep = found["left"], found["lost"], found["pii"], found["keep"]
    assert (len(FIT3), pii, keep) == (200, 286, 363)
    assert [item for _, item, _ in left] == ["么秀云", "张三丰"]  # 2 of 286, 0.7%
    assert [item for _, item, _ in lost] == ["小周", "全角"]  # a nickname in brackets after 社工; 全角 read as a name after an ID number


def test_the_third_held_out_privacy_set_holds_its_measured_level(answerer):
    """Before the fit half was tuned on: 13 of 293 left in clear (4.4%), 349 of 354 kept; after: 12
    (4.1%), 349 kept; after the fourth fit set's classes, 11 (3.8%)."""
    left, kept = _measure(HELDOUT3, answerer.masker)
    print(f"\nthird held-out privacy set: {len(HELDOUT3)} messages, {left:.1%} left in clear, {kept:.1%} kept")
    assert len(HELDOUT3) == 200 and left <= 11 / 293 + 1e-9 and kept >= 349 / 354 - 1e-9


@pytest.mark.xfail(strict=True, reason="the issue-14 target (≤ 1% in clear) is not met on the third held-out set: 3.8%")
def test_the_third_held_out_privacy_set_meets_the_target(answerer):
    assert _measure(HELDOUT3, answerer.masker)[0] <= 0.01


# -- a fifth helper's 400 messages (2026-12-07; forms, work orders, voice transcripts, group
# -- messages, minority and rare names), split once with seed 20261207 -----------------------------
FIT4 = _cases("privacy_messages_fit4.jsonl")
HELDOUT4 = _cases("privacy_messages_heldout4.jsonl")


def test_the_fourth_fit_set_leaves_what_no_mechanism_reads_yet(answerer):
    """18 of 339 were left before this set was tuned on (5.3%): minority names (扎西顿珠, 次仁卓玛,
    帕提古丽, 阿牛木呷), birth dates after 生日写成了 / 实际是 / a spaced 出生 日期, a QQ number after
    a comma, a name after 打成. Left: names that are everyday words (甘露, 国庆 as a given name,
    和平 after 孙), a surname typed apart from its given name, and an English name after 的."""
    found = _leaks(FIT4, answerer.masker, "fourth fit set")
    left, lost, pii, keep = found["left"], found["lost"], found["pii"], found["keep"]
    assert (len(FIT4), pii, keep) == (200, 339, 330)
    assert [item for _, item, _ in left] == ["王 桂兰", "甘露", "李国庆", "Michael Johnson", "双 福 来", "孙和平", "澹台 明 月"]  # 7 of 339, 2.1%
    assert len(lost) == 5  # place and order numbers read as names or addresses (莫力达瓦旗, 湖南 邵阳, SQ2024...)


def test_the_fourth_held_out_privacy_set_holds_its_measured_level(answerer):
    """Before the fit half was tuned on: 16 of 315 left in clear (5.1%), 326 of 328 kept; after: 14
    (4.4%), 326 kept."""
    left, kept = _measure(HELDOUT4, answerer.masker)
    print(f"\nfourth held-out privacy set: {len(HELDOUT4)} messages, {left:.1%} left in clear, {kept:.1%} kept")
    assert len(HELDOUT4) == 200 and left <= 14 / 315 + 1e-9 and kept >= 326 / 328 - 1e-9


@pytest.mark.xfail(strict=True, reason="the issue-14 target (≤ 1% in clear) is not met on the fourth held-out set: 4.4%")
def test_the_fourth_held_out_privacy_set_meets_the_target(answerer):
    assert _measure(HELDOUT4, answerer.masker)[0] <= 0.01
