"""The sharded jieba prefix dictionary cuts exactly like the full one, and a bad file is rebuilt."""

from retrieval.prefixdict import ShardedTokenizer, cache_path
from retrieval.tokenize import TextAnalyzer

from .conftest import ROOT


def test_sharded_dictionary_gives_the_same_tokens_as_the_full_one(library, tmp_path):
    full = TextAnalyzer(ROOT / "faq")  # no cache dir: jieba's own full dictionary + userdict
    first = TextAnalyzer(ROOT / "faq", cache_dir=tmp_path)
    first.warm()  # builds the full tokenizer once and saves the shards
    sharded = TextAnalyzer(ROOT / "faq", cache_dir=tmp_path)
    texts = [p["text"] for p in library.snapshot.passages] + ["結婚證丢了怎么补办", "吃低保要什么条件", "iPhone 12345热线"]
    assert isinstance(sharded._tokenizer(), ShardedTokenizer)
    assert [sharded.words(t) for t in texts] == [full.words(t) for t in texts]
    assert 0 < len(sharded._tokenizer().FREQ) < len(full._tokenizer().FREQ)  # loaded only what it cut


def test_warm_loads_the_whole_dictionary(tmp_path):
    TextAnalyzer(ROOT / "faq", cache_dir=tmp_path).warm()
    sharded = TextAnalyzer(ROOT / "faq", cache_dir=tmp_path)
    sharded.warm()
    full = TextAnalyzer(ROOT / "faq")
    full.warm()
    assert sharded._tokenizer().FREQ == full._tokenizer().FREQ
    assert sharded._tokenizer().total == full._tokenizer().total


def test_truncated_shard_file_is_rebuilt(tmp_path):
    analyzer = TextAnalyzer(ROOT / "faq", cache_dir=tmp_path)
    path = cache_path(tmp_path, analyzer.fingerprint)
    path.write_bytes(b"jieba-prefix-shards-1\n\x05\x00")
    assert analyzer.words("离婚冷静期") == ["离婚", "冷静", "冷静期", "离婚冷静期"]
    again = TextAnalyzer(ROOT / "faq", cache_dir=tmp_path)
    assert isinstance(again._tokenizer(), ShardedTokenizer)
    assert again.words("离婚冷静期") == ["离婚", "冷静", "冷静期", "离婚冷静期"]
