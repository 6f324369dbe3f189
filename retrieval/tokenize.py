"""Our jieba tokenizer: normalisation, domain dictionary, stopwords, synonyms, character bigrams.

One `TextAnalyzer` is shared by the index side and the query side so both see the same tokens.
All vocabulary comes from data files under faq/ (see docs/data-files.md).
"""

import hashlib
import logging
import re
import unicodedata
from pathlib import Path

from .datafiles import read_lines
from .errors import DataFileError
from .prefixdict import ShardedTokenizer, cache_path, jieba, open_sharded, save_sharded

# jieba logs "Building prefix dict..." at INFO on every load; it is noise for a CLI.
jieba.setLogLevel(logging.WARNING)

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{_CJK}]+|[0-9a-z]+(?:\.[0-9]+)?%?")
_HAS_WORD_CHAR = re.compile(rf"[{_CJK}0-9a-z]")


class TextAnalyzer:
    """Turns text into search tokens: jieba words and character bigrams."""

    DATA_FILES = ("userdict.txt", "stopwords.txt", "synonyms.txt", "lexicon.txt", "query_fillers.txt", "domain_terms.txt", "generic_words.txt", "people_words.txt", "acknowledgements.txt")

    def __init__(self, data_dir, cache_dir=None):
        data_dir = Path(data_dir)
        self.data_dir = data_dir
        self._t2s = None
        self._stopwords = frozenset(self.normalize(w) for _, w in read_lines(data_dir / "stopwords.txt"))
        self._synonyms = _read_synonyms((data_dir / "synonyms.txt", data_dir / "lexicon.txt"), self.normalize)
        fillers = (self.normalize(w) for _, w in read_lines(data_dir / "query_fillers.txt"))
        # Longest first, then by text: a set's order would change from process to process which of
        # two overlapping fillers of one length goes ("市民来电" or "来电咨询").
        self._fillers = tuple(sorted(set(fillers), key=lambda f: (-len(f), f)))
        self._userdict = _read_userdict(data_dir / "userdict.txt", self.normalize)
        self._people = frozenset(self.normalize(w) for _, line in read_lines(data_dir / "people_words.txt") for w in line.split())
        self._generic = self._people | frozenset(self.normalize(w) for _, line in read_lines(data_dir / "generic_words.txt") for w in line.split())
        acknowledgements = {self.normalize(w) for _, w in read_lines(data_dir / "acknowledgements.txt")}
        self._acknowledgements = tuple(sorted(acknowledgements, key=lambda a: (-len(a), a)))  # longest first
        self._cache_dir = Path(cache_dir) if cache_dir else None
        self._jieba = None
        self._term_tokens = {}  # lexicon term -> (words, bigrams); set item by item, thread-safe
        self.fingerprint = _fingerprint(data_dir, self.DATA_FILES)

    # -- normalisation ---------------------------------------------------------------------
    def normalize(self, text):
        """Full-width to half-width (NFKC), traditional to simplified (OpenCC), lower case."""
        if self._t2s is None:
            import opencc  # 20 ms; only when text is first normalised

            self._t2s = opencc.OpenCC("t2s")
        text = unicodedata.normalize("NFKC", text)
        return self._t2s.convert(text).lower()

    # -- tokens ----------------------------------------------------------------------------
    def words(self, text, normalized=False):
        """jieba search-mode tokens of the normalised text, stopwords and punctuation removed.

        `normalized`: the text is normalised already (a Query's), so it is not done again."""
        tokenizer = self._tokenizer()
        out = []
        for token in tokenizer.cut_for_search(text if normalized else self.normalize(text), HMM=True):
            token = token.strip()
            if token and token not in self._stopwords and _HAS_WORD_CHAR.search(token):
                out.append(token)
        return out

    def bigrams(self, text, normalized=False):
        """Overlapping character bigrams of each CJK run; Latin words and numbers whole."""
        out = []
        for run in _RUN.findall(text if normalized else self.normalize(text)):
            if not ("\u3400" <= run[0] <= "\ufaff"):
                out.append(run)
            elif len(run) == 1:
                if run not in self._stopwords:
                    out.append(run)
            else:
                out.extend(run[i : i + 2] for i in range(len(run) - 1))
        return out

    def query(self, question):
        """(question without chat filler, canonical terms of the colloquial phrases it contains)."""
        text = self.normalize(question)
        return self.without_fillers(text), self.expansions(text)

    def is_dictionary_word(self, word):
        """Whether jieba's dictionary (with ours) has `word` as a word of its own."""
        tokenizer = self._tokenizer()
        if isinstance(tokenizer, ShardedTokenizer):
            tokenizer.get_DAG(word[:1])  # loads the shard of its first character
        return bool(tokenizer.FREQ.get(word))

    def dictionary_frequency(self, word):
        """jieba's dictionary count of `word` (0 when it is not a word there): how common it is in
        general Chinese."""
        tokenizer = self._tokenizer()
        if isinstance(tokenizer, ShardedTokenizer):
            tokenizer.get_DAG(word[:1])
        return tokenizer.FREQ.get(word) or 0

    def expansions(self, text):
        """The official terms of the colloquial phrases in (normalised) `text`, in order."""
        return " ".join(dict.fromkeys(canonical for _, canonical in self._phrases_of(text)))

    def expansion_tokens(self, expansions):
        """(words, bigrams) of `expansions` (what `expansions` gave), as `words` and `bigrams`
        of it would be. Each lexicon term is tokenised once per analyzer and kept: the terms
        are data, and whitespace separates them, so their tokens simply follow one another."""
        words, bigrams = [], []
        for term in expansions.split():
            tokens = self._term_tokens.get(term)
            if tokens is None:
                tokens = self._term_tokens[term] = (tuple(self.words(term)), tuple(self.bigrams(term)))
            words.extend(tokens[0])
            bigrams.extend(tokens[1])
        return words, bigrams

    def cut(self, text):
        """jieba's plain cut of normalised text (no search-mode sub-words), for typo repair."""
        return list(self._tokenizer().cut(text, HMM=True))

    def domain_terms(self):
        """The official terms of the lexicon and synonyms (right-hand sides) and the user
        dictionary's words: the vocabulary a typo is repaired to."""
        terms = {t for _, canonical in self._synonyms for t in canonical.split()}
        terms.update(word for word, _, _ in self._userdict)
        terms.update(self.normalize(w) for _, w in read_lines(self.data_dir / "domain_terms.txt"))
        return terms

    def stand_ins(self, word, text):
        """The official terms standing in for `word` in (normalised) `text`: those of every
        lexicon phrase that contains the word and occurs in the text (去世 -> 死亡 殡葬...)."""
        out = []
        for phrase, canonical in self._synonyms:
            if word in phrase and phrase in text:
                out.extend(canonical.split())
        return out

    def phrases_in(self, text):
        """(phrase, official terms) of every lexicon phrase that occurs in (normalised) `text`."""
        return [(phrase, canonical.split()) for phrase, canonical in self._phrases_of(text)]

    def _phrases_of(self, text):
        return ((phrase, canonical) for phrase, canonical in self._synonyms if phrase in text)

    def without_fillers(self, text):
        for filler in self._fillers:
            text = text.replace(filler, " ")
        return text

    def is_generic(self, word):
        """A word that names no subject (faq/generic_words.txt, faq/people_words.txt): never a focus term."""
        return word in self._generic

    def is_person(self, word):
        """A word for who a question is about (faq/people_words.txt: 我妈, 有人, 家里)."""
        return word in self._people

    def is_acknowledgement(self, text, normalized=False):
        """Whether the whole message only acknowledges, thanks or greets ("好的", "嗯嗯,谢谢!",
        faq/acknowledgements.txt): what is left without those, punctuation, spaces and symbols
        is nothing."""
        rest = "".join(c for c in (text if normalized else self.normalize(text)) if unicodedata.category(c)[0] in "LN")
        if not rest:
            return False
        while rest:
            for phrase in self._acknowledgements:
                if rest.startswith(phrase):
                    rest = rest[len(phrase):]
                    break
            else:
                return False
        return True

    def is_stopword(self, token, normalized=False):
        return (token if normalized else self.normalize(token)) in self._stopwords

    def warm(self):
        """Load jieba's dictionary now rather than on the first question."""
        tokenizer = self._tokenizer()
        if isinstance(tokenizer, ShardedTokenizer):
            tokenizer.load_all()

    def _tokenizer(self):
        if self._jieba is None and self._cache_dir is not None:
            # Our dictionary (jieba's + userdict) saved in shards: a process loads only the
            # characters it cuts. Built once per fingerprint from the full tokenizer below.
            self._jieba = open_sharded(cache_path(self._cache_dir, self.fingerprint))
            if self._jieba is not None:
                for word, freq, _ in self._userdict:
                    if freq == 0:  # what add_word does besides changing the dictionary
                        jieba.finalseg.add_force_split(word)
        if self._jieba is None:
            tokenizer = jieba.Tokenizer()
            if self._cache_dir is not None:
                self._cache_dir.mkdir(parents=True, exist_ok=True)
                tokenizer.tmp_dir = str(self._cache_dir)
            tokenizer.initialize()
            for word, freq, tag in self._userdict:
                tokenizer.add_word(word, freq, tag)
            if self._cache_dir is not None:
                save_sharded(cache_path(self._cache_dir, self.fingerprint), tokenizer)
            self._jieba = tokenizer
        return self._jieba


def _fingerprint(data_dir, names):
    from importlib.metadata import version  # OpenCC's tables decide normalisation too

    digest = hashlib.sha256((jieba.__version__ + "\0" + version("opencc")).encode())
    for name in names:
        digest.update(name.encode())
        digest.update((data_dir / name).read_bytes())
    return digest.hexdigest()[:16]


def _read_synonyms(paths, normalize):
    """`口语 => 规范词 [规范词...]`; longest phrases first so they win over their parts."""
    rules = []
    for path, lineno, line in ((path, n, line) for path in paths for n, line in read_lines(path)):
        if "=>" not in line:
            raise DataFileError(path, lineno, "expected '口语说法 => 规范说法'")
        left, right = (part.strip() for part in line.split("=>", 1))
        if not left or not right:
            raise DataFileError(path, lineno, "both sides of '=>' must be non-empty")
        for phrase in left.split("|"):
            if phrase.strip():
                rules.append((normalize(phrase.strip()), normalize(right)))
    rules.sort(key=lambda rule: -len(rule[0]))
    return tuple(rules)


def _read_userdict(path, normalize):
    """jieba's user-dictionary format: `词 [词频] [词性]`, one entry per line."""
    entries = []
    for lineno, line in read_lines(path):
        parts = line.split()
        if len(parts) > 3:
            raise DataFileError(path, lineno, "expected '词 [词频] [词性]'")
        word = normalize(parts[0])
        freq = None
        tag = None
        if len(parts) >= 2:
            if not parts[1].isdigit():
                raise DataFileError(path, lineno, f"word frequency must be a whole number, got {parts[1]!r}")
            freq = int(parts[1])
        if len(parts) == 3:
            tag = parts[2]
        entries.append((word, freq, tag))
    return tuple(entries)
