"""Our jieba tokenizer: exact tokens for key terms, normalisation, synonyms, bigrams."""

import pytest

from retrieval.errors import DataFileError
from retrieval.tokenize import TextAnalyzer

from .conftest import DATA, ROOT


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory):
    return TextAnalyzer(ROOT / "faq", cache_dir=tmp_path_factory.mktemp("jieba"))


def _token_cases():
    for line in (DATA / "tokens.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            text, expected = line.split("\t")
            yield text, expected.split()


@pytest.mark.parametrize("text,expected", list(_token_cases()))
def test_key_terms_tokenize_exactly(analyzer, text, expected):
    assert analyzer.words(text) == expected


def test_traditional_and_full_width_are_normalised(analyzer):
    assert analyzer.normalize("結婚證（補領）") == "结婚证(补领)"


def test_bigrams_cover_cjk_runs_and_keep_numbers_whole(analyzer):
    assert analyzer.bigrams("低保标准1102元") == ["低保", "保标", "标准", "1102", "元"]


def test_colloquial_phrases_add_canonical_terms(analyzer):
    text, added = analyzer.query("吃低保要什么条件")
    assert "最低生活保障" in added.split()
    _, added = analyzer.query("五保户能住敬老院吗")
    assert "特困" in added.split()
    _, added = analyzer.query("人走了后事怎么办")
    assert "殡葬" in added.split() and "身后一件事" in added.split()


def test_chat_filler_is_removed_from_the_search_text(analyzer):
    text, _ = analyzer.query("请问有没有老年食堂")
    assert "有没有" not in text and "请问" not in text and "老年食堂" in text


def test_bad_user_dictionary_line_names_file_and_line(tmp_path):
    for name in TextAnalyzer.DATA_FILES:
        (tmp_path / name).write_bytes((ROOT / "faq" / name).read_bytes())
    (tmp_path / "userdict.txt").write_text("低保 1000 n\n坏行 很多 n\n", encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        TextAnalyzer(tmp_path)
    assert err.value.line == 2 and err.value.path.endswith("userdict.txt")
