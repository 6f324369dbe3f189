"""Repair same-sounding typos (voice input, pinyin IMEs) to the knowledge base's own words.

底保 -> 低保, 宾仪馆 -> 殡仪馆, 食唐 -> 食堂: a run of 2-4 characters that no passage contains and
that is not a word of jieba's dictionary is replaced by the knowledge-base word that sounds the
same (toneless pinyin). The readings come from pypinyin, computed once per build and kept in
the store (importing pypinyin costs 0.25 s, too much for a one-shot `ask`).
"""

import json
import re

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
MIN_LEN, MAX_LEN = 2, 4


def readings(words):
    """({word: toneless pinyin key}, {char: toneless reading}) for the words, using pypinyin."""
    from pypinyin import Style, lazy_pinyin
    from pypinyin.pinyin_dict import pinyin_dict

    keys = {w: " ".join(lazy_pinyin(w, style=Style.NORMAL)) for w in words}
    chars = {}
    for code, value in pinyin_dict.items():
        if 0x4E00 <= code <= 0x9FFF:
            chars[chr(code)] = _toneless(value.split(",")[0])
    return keys, chars


_TONES = str.maketrans("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ", "aaaaeeeeiiiioooouuuuvvvvvnnnm")


def _toneless(syllable):
    return syllable.translate(_TONES)


class Homophones:
    """Maps a pinyin key to the knowledge-base word that has it; repairs question text."""

    def __init__(self, by_key, chars):
        self._by_key = by_key  # "di bao" -> ["低保"]
        self._chars = chars  # "底" -> "di"

    @classmethod
    def build(cls, vocabulary):
        """From the domain words the knowledge base uses, with their document frequency: {word:
        df}. Only domain words (the lexicon's official terms, the user dictionary): repairing
        to any word of the texts would turn 钱能 into 潜能."""
        words = [w for w in vocabulary if MIN_LEN <= len(w) <= MAX_LEN and _CJK_RUN.fullmatch(w)]
        keys, chars = readings(words)
        by_key = {}
        for word in sorted(words, key=lambda w: (-vocabulary[w], w)):
            by_key.setdefault(keys[word], []).append(word)  # most frequent first
        return cls(by_key, chars)

    def dumps(self):
        return json.dumps({"by_key": self._by_key, "chars": self._chars}, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def loads(cls, text):
        data = json.loads(text)
        return cls(data["by_key"], data["chars"])

    def key(self, text):
        parts = [self._chars.get(ch) for ch in text]
        return None if None in parts else " ".join(parts)

    def _sound_alike(self, piece):
        """The knowledge-base word that sounds like `piece` and differs from it in one character
        (two for four): a typo changes a character, a chance homophone changes them all."""
        allowed = 2 if len(piece) >= 4 else 1
        for word in self._by_key.get(self.key(piece), ()):
            differ = sum(a != b for a, b in zip(word, piece))
            if 0 < differ <= allowed:
                return word
        return None

    def repair(self, text, tokens, known, function_word=None):
        """(text, ((typed, repaired), ...)). `tokens`: jieba's cut of `text` (a repair covers
        whole tokens, so it never crosses into a word the question spelled right); `known(w)`:
        a word that needs no repair (some passage contains it, or jieba's dictionary has it);
        `function_word(ch)`: a stopword character; a piece that ends with one is not repaired
        ("的事能不能" is not "失能")."""
        repairs = []
        position, spans = 0, []
        for token in tokens:
            spans.append((position, token))
            position += len(token)
        i = 0
        while i < len(spans):
            start = spans[i][0]
            best = None
            piece = ""
            for j in range(i, len(spans)):
                token = spans[j][1]
                if not _CJK_RUN.fullmatch(token) or (len(token) >= 2 and known(token)):
                    break
                piece += token
                if len(piece) > MAX_LEN:
                    break
                # A piece that ends with a function word's character is a word and the particle
                # or modal after it ("事能" of "的事能不能"), not a typo of one word ("失能"); a
                # first character may be one (voice input types 救助 as "就助").
                if function_word is not None and function_word(piece[-1]):
                    continue
                if len(piece) >= MIN_LEN and not known(piece):
                    word = self._sound_alike(piece)
                    if word:
                        best = (j, piece, word)
            if best is None:
                i += 1
                continue
            j, piece, word = best
            repairs.append((start, piece, word))
            i = j + 1
        if not repairs:
            return text, ()
        pieces, last = [], 0
        for start, piece, word in repairs:
            pieces.append(text[last:start])
            pieces.append(word)
            last = start + len(piece)
        pieces.append(text[last:])
        return "".join(pieces), tuple((piece, word) for _, piece, word in repairs)
