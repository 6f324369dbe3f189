"""Person names found by jieba's part-of-speech tagger (tags nr...), with our user dictionary.

Used by privacy.py beside the cue-word rules: "帮我查一下黄志强的低保" has no cue, but jieba's
tagger calls 黄志强 a person name. The tagger is loaded on first use (about a second), never at
import or when the masking rules are only validated. Only the person-name tags are kept from
jieba's dictionary, so the tagger costs little memory beside its tokenizer.
"""

import logging
import threading
from pathlib import Path

from .datafiles import read_lines
from .errors import DataFileError
from .prefixdict import jieba


class NameTagger:
    """(start, end, word, tag) of the words jieba tags as person names in a text."""

    def __init__(self, userdict, tags=("nr",), cache_dir=None):
        self.userdict = Path(userdict) if userdict else None
        self.tags = tuple(tags)
        self.cache_dir = cache_dir
        self._pos = None
        self._lock = threading.Lock()

    def _tagger(self):
        if self._pos is None:
            with self._lock:
                if self._pos is None:
                    self._pos = self._load()
        return self._pos

    def _load(self):
        import jieba.posseg

        jieba.setLogLevel(logging.WARNING)  # its "Building prefix dict..." is noise for a CLI
        tokenizer = jieba.Tokenizer()
        if self.cache_dir is not None:
            tokenizer.tmp_dir = str(self.cache_dir)
        tokenizer.initialize()
        if self.userdict is not None:
            for lineno, line in read_lines(self.userdict):
                parts = line.split()
                if len(parts) > 3 or (len(parts) >= 2 and not parts[1].isdigit()):
                    raise DataFileError(self.userdict, lineno, "expected '词 [词频] [词性]'")
                tokenizer.add_word(parts[0], int(parts[1]) if len(parts) >= 2 else None, parts[2] if len(parts) == 3 else "n")
        tags = self.tags

        class _NamesOnly(jieba.posseg.POSTokenizer):
            def load_word_tag(self, f):
                # Only the name tags matter here; every other word may read as 'x'.
                super().load_word_tag(f)
                self.word_tag_tab = {w: t for w, t in self.word_tag_tab.items() if t.startswith(tags)}

        return _NamesOnly(tokenizer)

    def warm(self):
        self._tagger()

    def common_word(self, word, min_freq=100, prefix=True):
        """True when `word`, or the two characters it starts with, is an everyday dictionary word
        that is not a name (申请, 高龄, 电话): after 父亲 or 联系人 such a word is not a name.
        jieba's dictionary tags some words nr that are not names (申请书), so a longer word is
        also judged by the word it starts with."""
        pos = self._tagger()
        freq = pos.tokenizer.FREQ

        def everyday(w):
            return (freq.get(w) or 0) >= min_freq and not pos.word_tag_tab.get(w, "").startswith(self.tags)

        if everyday(word):
            return True
        return prefix and len(word) > 2 and everyday(word[:2])

    def names(self, text):
        """Every word of `text` tagged as a person name, with its offsets."""
        out, at = [], 0
        for word, tag in self._tagger().cut(text):
            start = at
            at += len(word)
            if tag.startswith(self.tags):
                out.append((start, at, word, tag))
        return out

    def words(self, text):
        """Every word of `text` with its offsets and tag ('x' for any word that is not a name)."""
        out, at = [], 0
        for word, tag in self._tagger().cut(text):
            out.append((at, at + len(word), word, tag))
            at += len(word)
        return out
