"""The fixture of nasty inputs (tests/data/nasty_inputs.jsonl) and a hypothesis strategy for
messages citizens and attackers send; shared by the core, CLI and channel fuzz tests."""

import json

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from .conftest import DATA


def fuzz(examples):
    """Hypothesis settings for a fuzz test: `examples` runs, no deadline (the first answer loads
    jieba), module-scoped fixtures allowed."""
    return settings(max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def nasty_inputs():
    """(name, text) of every fixture line; a line may give `repeat` x `times` instead of `text`."""
    out = []
    for line in (DATA / "nasty_inputs.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        text = item["text"] if "text" in item else item["repeat"] * item["times"]
        out.append((item["name"], text))
    return out


_PIECES = [
    "结婚登记", "离婚", "低保", "特困", "临时救助", "老年食堂", "殡仪馆", "骨灰", "12345", "萧山", "海宁",
    "要带什么", "多少钱", "电话", "怎么申请", "吗", "？", "!", "<b>", "&amp;", "]]>", "<![CDATA[", "'", '"',
    "\\", "%s", "{{", "}}", "\x00", "\u200b", "\u202e", "\ufeff", "👍", "💍", "\U0001f600", " ", "\t", "\r",
]
_ALPHABET = st.characters(
    codec="utf-8",
    categories=("L", "M", "N", "P", "S", "Z", "Cc", "Cf"),
)

messages = st.one_of(
    st.text(_ALPHABET, max_size=60),
    st.lists(st.sampled_from(_PIECES), max_size=12).map("".join),
    st.tuples(st.text(_ALPHABET, max_size=10), st.sampled_from(_PIECES), st.text(_ALPHABET, max_size=10)).map("".join),
)
