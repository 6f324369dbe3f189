"""Person names in a question, for privacy.py: who is named, found from the words around a name.

A Chinese name is a surname from faq/surnames.txt (compound ones too: 欧阳, 呼延) and a given
name of one or two characters (two unless the second starts a word: 张伟在外地, 林立今年). It is
taken for a name when something says so, and each kind of evidence is judged on its own level:

- a word that introduces a name: a *call* (我叫, 我妈叫, 名字是) takes any name, even an everyday
  word (我爸叫黎明); a *label* (本人, 申请人, 联系人, a kinship or role word: 我老公, 孩子, 网格员)
  takes a surname-led name, or any name after a colon or space; a *weak* cue (我是, 帮, 给, 和)
  takes a surname-led name that is not an everyday word;
- opening a message or a clause with no cue (王建军想申请低保): a surname-led name jieba reads as a
  name, or three characters nothing explains, before a word that ends a name or a kinship/role word;
- a title or person word after it (孙主任, 王秀英老太太, 董宇航(男)), contact details after it
  (卢梓萱 电话...), 男/女 after it at the start of a clause (上官福海，男，), a nickname (小贾,
  老王), a listing beside a found name (王秀英、王秀兰), words saying it is a name (周庄是我外婆的名字);
- jieba's part-of-speech tagger (tags nr...): a word jieba does not know and tags as a name, or a
  surname tagged as a name before a word that reads as a given name (柯/nr 少华/nz);
- Latin-script names after a cue (my name is, name Robert Hughes, 我爸 WU JIANPING, 女儿 Lily Han),
  a pinyin surname with a given name (Zhang Wei), or at the start of a clause before 男/女;
- the civil-affairs vocabulary (the build's knowledge-base words, faq/'s lexicon files, jieba's
  frequent function words and verbs): a surname and two characters that none of it explains are
  a name after a cue (我妈程志明: 程志 is a noun no policy text uses) and, when jieba's dictionary
  does not know them either, where a person stands (小区里的X, 让X回电话).

Everyday words are told from names with jieba's dictionary and our user dictionary: after a weak
cue or from the tagger alone 申请, 高龄 and 文明 are not names; after a label a noun standing
alone is (本人金星，, 我儿子汪洋今年). jieba's dictionary also tags words such as 康复 and 养老
nr, so a dictionary word is never a name on the tagger's word alone. Places (faq/regions.toml),
kinship and role words, words with a character no given name has (金名片) and words before a place
word (金城路) are not names. A text typed with spaces between its characters (王 秀 英) is also
read with them taken out. Spans are returned on the text given, which has the length of the
question.
"""

import logging
import re
import threading
from pathlib import Path

from .datafiles import read_lines
from .errors import DataFileError
from .prefixdict import jieba

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_SEPARATORS = " \t\u3000:：(（"  # 我妈（王芳）: a bracket after a cue sets a name apart as a colon does
_DICTIONARY_FREQ = 100  # a dictionary word this frequent is an everyday word, not a rare name
# jieba tags of words that are never a given name: directions, times, adverbs, prepositions,
# conjunctions, pronouns, particles, numerals, measure words (附近, 周期, 已经, 我们, 一个); a verb
# may be one (兴发, 建设)
_NEVER_GIVEN = tuple("ftdpcrumqyeo")
# a single character this frequent in jieba's dictionary and tagged a function word ends a word (后, 里,
# 在); a rarer one so tagged is as often the end of a given name (根 5413 and 顺 2916 are tagged p)
_FUNCTION_FREQ = 10000
# jieba tags of words that explain the characters after a cue as what they say rather than a name:
# the function words above and verbs (申请, 成家); a noun (石子, 周长, 程志) explains nothing the
# civil-affairs vocabulary does not know
_EXPLAINING = _NEVER_GIVEN + ("v",)
_ENDS_NO_NAME = tuple("fupcyr")  # tags of single characters that end no given name (后, 的, 在, 和, 吗, 他)
_VOCABULARY_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{2,}")
_CLAUSE_START = re.compile(r"(?:^|(?<=[\n，,。；;！!？?：:、 \t\u3000]))(?=[\u3400-\u4dbf\u4e00-\u9fff])")
_SPACES = " \t\u3000"
# two or more characters, each standing alone between spaces: 王 秀 英 / 我叫 张 桂 兰
_SPACED_RUN = re.compile(r"(?<![\u3400-\u4dbf\u4e00-\u9fff])[\u3400-\u4dbf\u4e00-\u9fff](?:[ \t\u3000]+[\u3400-\u4dbf\u4e00-\u9fff](?![\u3400-\u4dbf\u4e00-\u9fff])){1,}")
_LATIN_WORD = r"(?:[A-Z][a-z]+(?:[-'][A-Za-z][a-z]+)?|[A-Z]{2,}(?:-[A-Z]{2,})?)"


class NameTagger:
    """jieba's part-of-speech tagger reduced to what names need: words with offsets, name tags, and
    which words are dictionary words."""

    def __init__(self, userdict, tags=("nr",), cache_dir=None):
        self.userdict = Path(userdict) if userdict else None
        self.tags = tuple(tags)
        self.cache_dir = cache_dir
        self._pos = None
        self._frequent = None  # dictionary words of 2-4 characters this frequent -> tag
        self._not_given = None  # two-character dictionary words no given name is (附近, 周期)
        self._single = None  # character -> jieba's tag of it as a word of its own (后 f, 的 uj)
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
        added = []
        if self.userdict is not None:
            for lineno, line in read_lines(self.userdict):
                parts = line.split()
                if len(parts) > 3 or (len(parts) >= 2 and not parts[1].isdigit()):
                    raise DataFileError(self.userdict, lineno, "expected '词 [词频] [词性]'")
                tag = parts[2] if len(parts) == 3 else "n"
                tokenizer.add_word(parts[0], int(parts[1]) if len(parts) >= 2 else None, tag)
                added.append((parts[0], tag))
        tags, owner = self.tags, self

        class _NamesOnly(jieba.posseg.POSTokenizer):
            def load_word_tag(self, f):
                # Only the name tags are kept for cutting (every other dictionary word reads as
                # 'x'); what judging a name needs is kept aside, small.
                super().load_word_tag(f)
                freq = tokenizer.FREQ
                owner._frequent = {w: t for w, t in self.word_tag_tab.items() if 2 <= len(w) <= 4 and (freq.get(w) or 0) >= _DICTIONARY_FREQ}
                owner._frequent.update((w, t) for w, t in added if 2 <= len(w) <= 4)
                owner._not_given = {w: t for w, t in self.word_tag_tab.items() if len(w) == 2 and t.startswith(_NEVER_GIVEN)}
                owner._single = {w: t for w, t in self.word_tag_tab.items() if len(w) == 1}
                self.word_tag_tab = {w: t for w, t in self.word_tag_tab.items() if t.startswith(tags)}

        return _NamesOnly(tokenizer)

    def warm(self):
        self._tagger()

    def frequent(self, word):
        """The dictionary tag of `word` when it is a frequent dictionary word (申请 v, 高龄 n, and
        文明 or 康复, which jieba's dictionary tags nr), else None."""
        self._tagger()
        return self._frequent.get(word)

    def never_given(self, word, times=True):
        """True for a two-character dictionary word that is never the given name of a person: a
        direction, adverb, pronoun... (附近, 已经) or, with `times`, a time word (周期; but 国庆 is
        a given name too). A rare word so tagged (立新, 51 times, an adverb) is a given name as often."""
        tag = self._tagger() and self._not_given.get(word)
        return tag is not None and (times or not tag.startswith("t")) and self.frequency(word) >= _DICTIONARY_FREQ

    def single_tag(self, char):
        """jieba's tag of one character as a word of its own (后 f, 了 ul), or None."""
        self._tagger()
        return self._single.get(char)

    def frequency(self, word):
        return self._tagger().tokenizer.FREQ.get(word) or 0

    def is_name_tag(self, tag):
        return tag.startswith(self.tags)

    def is_name_word(self, word):
        """True for a dictionary word tagged as a name (柳絮 nr)."""
        return word in self._tagger().word_tag_tab

    def words(self, text):
        """Every word of `text` as (start, end, word, tag). A dictionary word that is not a name
        reads 'x'; a run of characters jieba does not know is tagged by its HMM (nr, nz, n...)."""
        out, at = [], 0
        for word, tag in self._tagger().cut(text):
            out.append((at, at + len(word), word, tag))
            at += len(word)
        return out


class NameFinder:
    """The [names] section of privacy.toml applied to a text: (start, end) of every name."""

    def __init__(self, data, tagger, known=None):
        self.replacement = data["replacement"]
        self.tagger = tagger
        self.vocabulary = data.get("vocabulary", frozenset())  # words of faq/'s lexicon files
        self.known = known  # word -> bool: a word of the knowledge base (the build's vocabulary), or None
        surnames = data["surnames"]
        self.surnames = frozenset(surnames)
        self.max_surname = max((len(s) for s in surnames), default=1)
        self.needing_given = frozenset(data["needing_given"])
        self.never = data["never"]
        self.never_given_chars = data["never_given"]
        self.name_char = re.compile(rf"(?![{re.escape(self.never)}])[{_CJK}]" if self.never else rf"[{_CJK}]")
        self.ends = re.compile(rf"(?:{_alternatives(data['ends'])}|[^{_CJK}]|$)")
        self.places = _compiled(data["places"])
        self.titles = _compiled(data["titles"])
        self.honorifics = _compiled(data["honorifics"])
        fields = [_alternatives(data["fields"])] if data["fields"] else []
        fields += [data["number_after"]] if data.get("number_after") else []
        self.fields = re.compile(rf"[ \t\u3000,，:：]*(?:{'|'.join(fields)})") if fields else re.compile("(?!)")
        self.short_honorifics = frozenset(w for w in data["honorifics"] if len(w) == 1)
        self.bad_endings = data["bad_endings"]
        self.not_names = tuple(data["not_names"])
        self.not_names_exact = frozenset(data["not_names_exact"])
        self.pos_not_before = data["pos_not_before"]
        self.pos_not_after = data["pos_not_after"]
        self.gender = data["gender"]
        self.cues = [(re.compile(_alternatives(words)), kind) for kind, words in data["cues"] if words]
        self.cues += [(regex, "call") for regex in data.get("call_patterns", ())]
        self.value_rules = data["value_rules"]
        self.name_elements = data.get("name_elements", frozenset())  # of minority names: 扎西, 顿珠, 古丽
        self.element_joiners = data.get("element_joiners", "")  # the dots between them: 买买提·艾力
        self.unit_tags = data.get("unit_tags", ())
        self.doubled_around = data.get("doubled_around", "")  # 管一管: the 一 of a verb said twice
        self.unit_digits = data.get("unit_digits", 4)
        self.regions = data["regions"]
        self.relations = data["relations"]
        self.relation = _compiled([w for w in data["relations"] if len(w) > 1])
        # a kinship or role word in brackets right after a name says who it is: 钟伟（儿子）, 王芳(我妈)
        people = _alternatives(data.get("bracketed", ()))
        self.bracketed = re.compile(rf"[ \t\u3000]*[(（](?:我的?|其|他的?|她的?)?(?:{people})") if people else re.compile("(?!)")
        self.listing = "、和及与"
        self.openers = _compiled(data.get("clause_openers", ()))
        self.alone_after = _compiled(data.get("alone_after", ()))  # 我卫娟，想问: a name standing alone after 我
        self.before_person = data.get("before_person", "")  # characters a name may follow inside a sentence (的, 让)

    # -- loading --------------------------------------------------------------------------------
    @classmethod
    def load(cls, path, names, section_line, known=None):
        """From the [names] table of privacy.toml at `path`; DataFileError names file and line.
        `known` (word -> bool) says which words the knowledge base has."""
        path = Path(path)
        try:
            replacement = names["replacement"]
            strong, weak, called = _words(names["strong"]), _words(names["weak"]), _words(names.get("called", []))
            kinship, calls = _words(names.get("kinship", [])), _words(names.get("calls", []))
            roles = _words(names.get("roles", []))
            titles = _words(names.get("after_name", []))
            honorifics = _words(names.get("titles", []))
            fields = _words(names.get("fields_after", []))
            call_patterns = []
            for pattern in _words(names.get("call_patterns", [])):
                try:
                    call_patterns.append(re.compile(pattern))
                except re.error as exc:
                    raise DataFileError(path, section_line, f"[names] call_patterns: bad regular expression {pattern!r}: {exc}") from exc
            number_after = names.get("number_after_name")
            if number_after is not None:
                if not isinstance(number_after, str):
                    raise TypeError("number_after_name is a regular expression")
                try:
                    re.compile(number_after)
                except re.error as exc:
                    raise DataFileError(path, section_line, f"[names] number_after_name: bad regular expression: {exc}") from exc
            called_after = names.get("called_after")
            if called_after is not None and not isinstance(called_after, str):
                raise TypeError("called_after is a regular expression")
            latin = _words(names.get("latin", []))
            latin_capitalised = _words(names.get("latin_capitalised", []))
            latin_surnames = _words(names.get("latin_surnames", []))
            latin_places = _words(names.get("latin_places", []))
            ends = _words(names["ends_before"])
            places = _words(names.get("places_after", []))
            never = _chars(names.get("never_in_names", ""))
            never_given = _chars(names.get("never_in_given_names", ""))
            bad_endings = _chars(names.get("not_name_endings", ""))
            needing_given = _chars(names.get("surnames_needing_given", ""))
            not_names = _words(names.get("not_names", []))
            not_names_exact = _words(names.get("not_names_exact", []))
            pos_tags = _words(names.get("pos_tags", []))
            pos_not_before = _chars(names.get("pos_not_before", ""))
            pos_not_after = _chars(names.get("pos_not_after", ""))
            userdict = names.get("userdict")
            vocabulary_files = _words(names.get("vocabulary", []))
            gender = bool(names.get("gender_after_name", False))
            surname_file = names.get("surname_file")
            regions_file = names.get("places_file")
            if regions_file is not None and not isinstance(regions_file, str):
                raise TypeError("places_file is a file name")
            inline = names.get("surnames", "")
            if not isinstance(inline, str) or (surname_file is not None and not isinstance(surname_file, str)):
                raise TypeError("surnames is a string of characters, surname_file a file name")
        except (KeyError, TypeError) as exc:
            raise DataFileError(path, section_line, f"[names] needs replacement, strong, weak, ends_before and surnames or surname_file: {exc!r}") from exc
        surnames = [c for c in inline if not c.isspace()] + _words(names.get("compound_surnames", []))
        if surname_file is not None:
            surnames += read_surnames(path.parent / surname_file)
        if not surnames:
            raise DataFileError(path, section_line, "[names] needs surnames or surname_file")
        # A call takes any name: 我叫 / 名字是 and a kinship word with a calling word (我妈叫).
        called = called + [k + c for k in kinship + ["他", "她", "老人", "孩子"] for c in calls if c != "是"]
        # a kinship word said with an ending (老伴儿, 闺女儿) labels a name as the word does
        kinship += [k + e for e in _words(names.get("kinship_endings", [])) for k in kinship if not k.endswith(e)]
        labels = strong + kinship + roles
        latin_name = r"[A-Za-z][A-Za-z'\-]*(?:(?:[ ·.][A-Z][A-Za-z'\-]*){1,2}|[ ·][a-z]+(?=\s*(?:[^\sA-Za-z]|$)))?"
        capitalised = rf"{_LATIN_WORD}(?:[ ·.]{_LATIN_WORD}){{1,2}}"
        value_rules = []  # regular expressions whose group `value` is a name
        if latin:
            value_rules.append(re.compile(rf"(?i:(?<![A-Za-z])(?:{'|'.join(re.escape(w) for w in sorted(set(latin), key=len, reverse=True))}))\s*[:：]?\s*(?P<value>(?-i:{latin_name}))"))
        if latin_capitalised:
            words = "|".join(re.escape(w) for w in sorted(set(latin_capitalised), key=len, reverse=True))
            value_rules.append(re.compile(rf"(?i:(?<![A-Za-z])(?:{words})(?![A-Za-z]))\s*[:：]?\s*(?P<value>{_LATIN_WORD}(?:[ ·.]{_LATIN_WORD}){{0,2}})"))
        # after a Chinese cue (我叫, 我老公, 女儿, 申请人:) a name in Latin letters: Lily Han, WU JIANPING
        value_rules.append(re.compile(rf"(?:{_alternatives(called + labels + weak)})\s*[:：]?\s*(?P<value>{capitalised})(?![A-Za-z])"))
        # ...and one capitalised word after a call or a kinship word (我老公 David, 叫 Tom): an English
        # given name; a word in capitals (我妈 QQ号) is no name
        value_rules.append(re.compile(rf"(?:{_alternatives(called + kinship)})\s*[:：]?\s*(?P<value>[A-Z][a-z]{{2,}})(?![A-Za-z])"))
        if latin_surnames:
            # after a Chinese cue a pinyin name in small letters too: 我叫wang fang, 我妈叫 li xiuying
            lowered = "|".join(re.escape(w.lower()) for w in sorted(set(latin_surnames), key=len, reverse=True))
            value_rules.append(re.compile(rf"(?:{_alternatives(called + labels + weak)})\s*[:：]?\s*(?P<value>(?:{lowered})[ ·]?[a-z]{{2,12}}(?:[ ][a-z]{{2,12}})?)(?![A-Za-z])"))
            # a pinyin surname and a capitalised given name: Zhang Wei, WANG Xiuying, Li Na here
            given = r"[A-Z][a-z]{1,9}(?:-?[A-Za-z][a-z]{1,9}|[ ][A-Z][a-z]{1,9}(?![A-Za-z]))?"
            value_rules.append(re.compile(rf"(?<![A-Za-z])(?P<value>(?i:{'|'.join(re.escape(w) for w in latin_surnames)})[ ·]{given})(?![A-Za-z])"))
            # ...and a capitalised given name before one, in Western order: Emily Chen, Wendy Lau
            # (not one of latin_places: Hong Kong, whose second word is a surname too)
            capitalised_surnames = "|".join(re.escape(w) for w in sorted(set(latin_surnames), key=len, reverse=True))
            latin_place_ahead = "".join(rf"(?!{re.escape(w)}(?![A-Za-z]))" for w in latin_places + _words(names.get("latin_not_given", [])))
            value_rules.append(re.compile(rf"(?<![A-Za-z]){latin_place_ahead}(?P<value>[A-Z][a-z]{{2,9}}[ ](?:{capitalised_surnames}))(?![A-Za-z])"))
        if called_after:
            # a name the words after it call one: 周庄是我外婆的名字
            try:
                said = re.compile(called_after)
            except re.error as exc:
                raise DataFileError(path, section_line, f"[names] called_after: bad regular expression: {exc}") from exc
            value_rules.append(re.compile(rf"(?:^|(?<=[^{_CJK}]))(?P<value>(?![{re.escape(never)}])[{_CJK}]{{2,4}}?)(?={said.pattern})"))
        if gender:
            # a Latin name at the start of a clause before 男/女: Anna Petrova 女
            value_rules.append(re.compile(rf"(?:^|(?<=[\n：:，,。；;！!？?]))\s*(?P<value>{capitalised})\s*[，,、]?\s*[男女](?![{_CJK}])"))
        minority_file = names.get("minority_file")
        elements = read_name_elements(path.parent / minority_file) if minority_file is not None else []
        vocabulary = set()
        for name in vocabulary_files:
            for _, line in read_lines(path.parent / name):
                vocabulary.update(_VOCABULARY_WORD.findall(line))
        regions = frozenset()
        if regions_file is not None:
            from .regions import Regions

            regions = Regions.load(path.parent / regions_file).spellings
        data = {
            "regions": regions,
            "vocabulary": frozenset(vocabulary),
            "before_person": _chars(names.get("before_person", "")),
            "relations": frozenset(kinship + roles + honorifics + titles),
            "bracketed": kinship + roles,
            "number_after": number_after,
            "alone_after": _words(names.get("alone_after", [])),
            "clause_openers": _words(names.get("clause_openers", [])),
            "replacement": replacement,
            "surnames": surnames,
            "needing_given": needing_given,
            "never": never,
            "never_given": never_given,
            "ends": ends,
            "places": places,
            "titles": titles,
            "honorifics": honorifics,
            "fields": fields,
            "bad_endings": bad_endings,
            "not_names": not_names,
            "not_names_exact": not_names_exact,
            "pos_not_before": pos_not_before,
            "pos_not_after": pos_not_after,
            "gender": gender,
            "cues": [("call", called), ("label", labels), ("weak", weak)],
            "call_patterns": call_patterns,
            "value_rules": value_rules,
            "name_elements": frozenset(elements),
            "element_joiners": names.get("element_joiners", "·"),
            "unit_tags": tuple(_words(names.get("unit_tags", []))),
            "doubled_around": _chars(names.get("doubled_around", "")),
            "unit_digits": int(names.get("unit_digits", 4)),
        }
        tagger = NameTagger(path.parent / userdict if userdict else None, pos_tags) if pos_tags else None
        return cls(data, tagger, known)

    def warm(self):
        if self.tagger is not None:
            self.tagger.warm()

    # -- finding --------------------------------------------------------------------------------
    def find(self, text):
        """(start, end) of every name in `text`; a text typed with a space between characters
        (王 秀 英 电 话…) is also read with those spaces taken out, and its names mapped back."""
        found = self._find(text)
        squeezed, at = _squeezed(text)
        if at is not None:
            found += [(at[start], at[end - 1] + 1) for start, end in self._find(squeezed)]
        return found

    def _find(self, text):
        words = self.tagger.words(text) if self.tagger is not None else []
        inside = _inside_words(len(text), [w for w in words if self.tagger.frequency(w[2]) > 0])
        found, cue_ends = [], set()
        for regex in self.value_rules:
            found += [m.span("value") for m in regex.finditer(text) if m.group("value")]
        for regex, kind in self.cues:
            for match in regex.finditer(text):
                cue_ends.add(match.end())
                span = self._after_cue(text, match.end(), kind, inside)
                if span is not None:
                    found.append(span)
        found += self._minority_names(text)
        found += self._alone_after(text, inside)
        found += self._titled(text, inside)
        found += self._gendered(text, inside)
        found += self._nicknames(text, cue_ends, inside)
        if self.tagger is not None:
            found += self._tagged(text, words, inside)
            found += self._unexplained_runs(text, inside, cue_ends, words)
            found += self._clause_starts(text, words, inside)
        found += self._listed(text, found, inside)
        return [span for span in found if not self._unit_after_number(text, span[0])]

    def _unit_after_number(self, text, at):
        """True when a "surname" right after a quantity is its unit or measure word (50元太少, 3万多,
        2米高): a number of at most `unit_digits` digits (a phone or ID number has no unit:
        13812345678张伟 is a name) and a character jieba tags alone as one of `unit_tags`."""
        if at == 0 or not text[at - 1].isdigit() or self.tagger is None or not self.unit_tags:
            return False
        start = at
        while start > 0 and (text[start - 1].isdigit() or text[start - 1] == "."):
            start -= 1
        if sum(c.isdigit() for c in text[start:at]) > self.unit_digits:
            return False
        return (self.tagger.single_tag(text[at]) or "").startswith(self.unit_tags)

    def _element_at(self, text, at):
        """Length of the longest minority-name element starting at `at`, 0 when none does."""
        for length in (4, 3, 2):
            if text[at:at + length] in self.name_elements and len(text[at:at + length]) == length:
                return length
        return 0

    def _minority_names(self, text):
        """Two to four elements of minority names written together or joined by a middle dot
        (扎西顿珠, 阿牛木呷, 买买提·艾力): a name wherever it stands."""
        if not self.name_elements:
            return []
        found, at = [], 0
        while at < len(text):
            end, count = at, 0
            while count < 4:
                length = self._element_at(text, end)
                if not length:
                    break
                end, count = end + length, count + 1
                if count < 4 and end < len(text) and text[end] in self.element_joiners and self._element_at(text, end + 1):
                    end += 1
            if count >= 2:
                found.append((at, end))
                at = end
            else:
                at += 1
        return found

    def _surname_at(self, text, at, cued=False):
        """Length of the longest surname starting at `at`, 0 when none does; a surname that is
        also an everyday character (向, 于) only right after a cue word."""
        for length in range(self.max_surname, 0, -1):
            found = text[at:at + length]
            if len(found) == length and found in self.surnames and (cued or found not in self.needing_given):
                return length
        return 0

    def candidate(self, text, at, inside, any_first=False, cued=False):
        """(start, end) of the name that would start at `at`: a surname (or, with `any_first`, any
        character) and one or two given characters; two unless the second would start a word
        (张伟在外地, 林立今年, 侯丽已经) or the name would end inside a word."""
        surname = self._surname_at(text, at, cued)
        if surname:
            given = at + surname
        elif any_first and self.name_char.match(text, at):
            given = at + 1
        else:
            return None
        if not self.name_char.match(text, given) or (surname == 1 and text[given] == text[at]):
            return None  # 查查, 萧萧: a surname doubled is no name
        if surname == 1 and text[given] in self.doubled_around and text[given + 1 : given + 2] == text[at]:
            return None  # 管一管, 看一看: a verb said twice around 一 is no name
        end = given + 1
        if end < len(text) and self.name_char.match(text, end) and text[end] not in self.never_given_chars and not self.ends.match(text, end) and not inside[end] == "start":
            end += 1
        if inside[end] == "in" and end - 1 > given:
            end -= 1  # the last character belongs to the next word: 钱还有 -> not 钱还
        if inside[end] == "in":
            return None
        return (at, end)

    def _after_cue(self, text, at, kind, inside):
        """The name right after a cue word, or None."""
        n = len(text)
        q, separated = at, False
        while q < n and text[q] in _SEPARATORS:
            q, separated = q + 1, True
        if kind == "label" and q < n:
            if text[q] == "叫":
                kind, q = "call", q + 1
            elif text[q] in "是为系":
                q += 1
            while q < n and text[q] in _SEPARATORS:
                q, separated = q + 1, True
            if text.startswith("我", q) and q + 1 < n and text[q + 1] in " \t\u3000":  # 寄存人是我 柯少华
                q += 1
                while q < n and text[q] in _SEPARATORS:
                    q, separated = q + 1, True
        if kind == "weak" and not separated and inside[q] == "in" and inside[q + 1] == "in":
            return None  # 与时俱进: a weak cue that starts a longer word is no cue (和解梓萱 is 和 + a name)
        cued = True  # 帮向兰问一下: after a cue 向 and 于 may be surnames; _judge tells 向社区 from 向兰
        span = self.candidate(text, q, inside, any_first=kind == "call" or (kind == "label" and separated), cued=cued)
        if span is None:
            return None
        return span if self._judge(text, span, kind, surname_led=self._surname_at(text, q, cued) > 0) else None

    def _judge(self, text, span, level, surname_led=True):
        """True when text[span] can be a name after evidence of `level`, from strongest to weakest:
        call (any name), label, weak, start (a clause opening), title, tagger."""
        start, end = span
        name = text[start:end]
        if any(c in self.never for c in name) or self.places.match(text, end):
            return False
        if level == "call":
            return True
        if name[-1] in self.bad_endings or name in self.regions or name in self.relations:
            return False  # 萧山, 孙女 (孙子孙女的户口)
        if level != "label" and (name in self.not_names_exact or name.startswith(self.not_names)):
            return False
        if self.tagger is None:
            return True
        surname = self._surname_at(name, 0, cued=True)
        if any(c in self.never_given_chars for c in name[max(surname, 1):]):
            return False  # 金名片, 江葬: 片 and 葬 are in no given name
        given = name[surname:]
        if len(given) == 2 and self.tagger.never_given(given, times=level != "label"):
            return False  # 给向附近, 和全周期: no given name is 附近; after a label 国庆 may be one
        if name[:surname] in self.needing_given and not self._given_after_common(name, surname):
            return False  # 老人向社区反映, 于是: 向 and 于 are a surname only before a given name
        if level == "tagger":
            # two characters tagged nr with nothing else saying so are often a word jieba does not
            # know (康养, 卫健): only standing alone (姚凯，/ 莫娟110105...) or before a word that ends a name
            if len(name) == 2 and not (_alone(text, end) or self.ends.match(text, end)):
                return False
            return self._unknown_word(name, surname)
        tag = self.tagger.frequent(name)
        if level == "title":  # 高龄老人, 康复医师, 钱包手机: a dictionary word is no name before a title
            return tag is None and (len(name) < 2 or self.tagger.frequency(name) == 0 or self.tagger.is_name_word(name))
        if tag is None and self.tagger.frequency(name) > 0 and not self.tagger.is_name_word(name):
            # a rarer word: 和高质量发展; but 我是高建国 when no word we know explains it
            return (level == "label" and _alone(text, end)) or (surname_led and self._unexplained(name, surname))
        if tag is None:
            if len(name) == 3 and surname == 1:
                prefix = self.tagger.frequent(name[:2])  # 申请书, 成家后; not 朱红军 (朱红 is tagged nr)
                if level == "label" and prefix is not None and prefix.startswith("ns") and (_alone(text, end) or self.ends.match(text, end)):
                    return True  # 我外公钱塘生住在…: after a label, a place word may start a given name, as 建国 does
                return prefix is None or self.tagger.is_name_tag(prefix) or self._unexplained(name, surname)
            return True
        # A name that is also a word stands alone as a noun: after a label, one jieba tags as a
        # name (我儿子汪洋今年, 我老公是田野，) or any noun with nothing after it (本人金星，); after
        # a weak cue only the first kind (我是高明，).
        if not (surname_led and tag.startswith("n") and (len(name) == 2 or (level in ("label", "start") and self.tagger.is_name_tag(tag)))):
            return False
        if self.tagger.is_name_tag(tag):
            if level == "start":  # a dictionary name opening a clause before a word that ends one
                return True
            if level == "label":  # a kinship or role word after it ends it too: 爷爷胡国华奶奶…
                return (end == len(text) or text[end] not in self.pos_not_before) and (_alone(text, end) or bool(self.ends.match(text, end)) or bool(self.relation.match(text, end)))
            return _alone(text, end)
        return level == "label" and _alone(text, end)

    def _given_after_common(self, name, surname):
        """True when a surname that is also an everyday character (于, 向, 时) stands before a given
        name here: it makes no word with the next character (于是, 向往, 时间, 向日葵), the given
        name is no word the vocabulary or a function word or verb explains (向社区, 于去年), and a
        single given character is no word with it (于此, 向他). 于建国, 向长顺, 时小红 are names."""
        given = name[surname:]
        if self.tagger.frequency(name[: surname + 1]) > 0 and not self.tagger.is_name_word(name[: surname + 1]):
            return False
        if len(given) == 1:
            return not (self.tagger.single_tag(given) or "").startswith(_ENDS_NO_NAME + ("v", "d", "m", "q"))
        return not self.explained(given) and not self.tagger.never_given(given)

    def explained(self, word):
        """True when `word` reads as what it says in a civil-affairs question: a word of the
        knowledge base or of faq/'s lexicon files, or a frequent function word or verb of jieba's
        dictionary (已经, 申请, 成家). A noun no policy text uses (石子, 周长) explains nothing."""
        if word in self.vocabulary or (self.known is not None and self.known(word)):
            return True
        tag = self.tagger.frequent(word) if self.tagger is not None else None
        return tag is not None and tag.startswith(_EXPLAINING)

    def _unexplained(self, name, surname):
        """True when a surname and a two-character given name after a cue are no word we know
        and do not start with one (我妈程志明, 我侄女江水根: 程志 and 江水 are dictionary nouns that
        no civil-affairs text uses, so here they are the start of a name)."""
        if not (self.vocabulary or self.known is not None) or len(name) - surname != 2:
            return False
        if (self.tagger.single_tag(name[-1]) or "").startswith(_ENDS_NO_NAME) and self.tagger.frequency(name[-1]) >= _FUNCTION_FREQ:
            return False  # 成家后, 石子里: a direction, particle or preposition ends the word before it
        return not any(self.explained(w) for w in (name, name[: surname + 1], name[surname:]))

    def _unknown_word(self, name, surname):
        """True when `name` is no word of jieba's dictionary, or a rare one tagged as a name (刘文波),
        and does not start with a frequent word (申请书). A frequent word jieba tags nr (康复, 养老)
        is no name here."""
        freq = self.tagger.frequency(name)
        if freq >= _DICTIONARY_FREQ or (freq > 0 and not self.tagger.is_name_word(name)):
            return False
        if freq > 0 and len(name) - surname == 2 and self.tagger.frequent(name[surname:]) == "n":
            return False  # jieba's nr 高水平, 高素质: a surname before a frequent common noun (张建国 is nr too)
        return len(name) < 3 or surname > 1 or self.tagger.frequent(name[:2]) is None

    def _titled(self, text, inside):
        """Names before a title or a person word (孙主任, 王秀英老太太, 金凤阿姨, 董宇航(男)), or
        before their contact details (卢梓萱 电话..., 庄睿 身份证...). Only the name is returned."""
        found = []
        for at in range(len(text)):
            surname = self._surname_at(text, at)
            if not surname or inside[at] == "in":
                continue
            for given in (0, 1, 2):
                end = at + surname + given
                if given and not self.name_char.match(text, end - 1):
                    break
                if given == 0:
                    title = self.honorifics.match(text, end)
                    if title is None:
                        continue
                else:
                    spaced = re.match(r"[ \t\u3000]*", text[end:]).end()  # 冉光荣 的家属
                    title = self.titles.match(text, end + spaced) or self.honorifics.match(text, end + spaced) or self.bracketed.match(text, end)
                    if title is None or title.group(0) in self.short_honorifics:
                        title = self.fields.match(text, end) if end == self._name_end(text, at, surname, inside) else None
                    if title is None:
                        continue
                if self.places.match(text, title.end()) or (self.tagger is not None and self.tagger.frequent(text[at:title.end()])):
                    break  # 金星老人活动中心, 班主任
                if self._judge(text, (at, end), "title"):
                    found.append((at, end))
                break
        return found

    def _alone_after(self, text, inside):
        """A surname-led name right after 我 that stands alone, before punctuation, a space or the
        end (我卫娟，想问低保): 我 and a name with nothing after it say who is writing."""
        found = []
        for match in self.alone_after.finditer(text):
            span = self.candidate(text, match.end(), inside, cued=True)
            if span is None or not _alone(text, span[1]) or self.tagger.frequent(text[span[0]:span[1]]) is not None:
                continue  # 我明白。: a frequent word (jieba tags 明白 nr) is what is said, not who says it
            if self._judge(text, span, "weak"):
                found.append(span)
        return found

    def _name_end(self, text, at, surname, inside):
        """Where the name with this surname would end by the length rule of `candidate`."""
        span = self.candidate(text, at, inside)
        return span[1] if span is not None and span[1] - span[0] > surname else None

    def _gendered(self, text, inside):
        """A surname-led name at the start of a clause before 男/女: 王建国，男，75岁 / 潘海燕 女 52岁."""
        if not self.gender:
            return []
        found = []
        for match in re.finditer(rf"(?:^|(?<=[\n：:，,。；;！!？?]))[ \t\u3000]*(?=[{_CJK}])", text):
            span = self.candidate(text, match.end(), inside)
            if span is None:
                continue
            rest = re.match(r"[ \t\u3000]*[，,、;；]?[ \t\u3000]*(?:性别[ \t]*[:：]?[ \t]*)?[男女](?:[ \t\u3000，,、;；:：)）]|[0-9一二三四五六七八九十]|岁|$)", text[span[1]:])
            if rest is not None and self._judge(text, span, "label"):
                found.append(span)
        return found

    def _nicknames(self, text, cue_ends, inside):
        """小贾, 老王: 小/老 and a surname standing alone, after a cue word (社工小周), a verb or
        particle (找老王) or punctuation; or before the full name with that surname (老赵赵长顺)."""
        found = []
        for match in re.finditer("[小老]", text):
            at = match.start()
            if at > 0 and at not in cue_ends and re.match(f"[{_CJK}]", text[at - 1]) and text[at - 1] not in "是的叫找问和跟给让帮请与及、":
                continue
            end = at + 2
            if end > len(text) or self._surname_at(text, at + 1) != 1:
                continue
            if end < len(text) and text[end] == text[at + 1]:
                span = self.candidate(text, end, inside)
                if span is not None and span[1] - end > 1 and self._judge(text, span, "label"):
                    found += [(at, end), span]
                    continue
            if end < len(text) and re.match(f"[{_CJK}]", text[end]) and not re.match("你好|您好|说|让|帮|叫|来|在|家", text[end:]):
                continue
            if self.tagger is not None and self.tagger.frequent(text[at:end]):
                continue  # 小时, 老师, 小米
            found.append((at, end))
        return found

    def _tagged(self, text, words, inside):
        """Names by part of speech: a word jieba does not know and tags as a name (黄志强), or a
        surname tagged as a name and the word after it when that reads as a given name (柯/nr
        少华/nz, 郜/nr 春花/n); dictionary words are left to the cue rules (jieba's dictionary
        tags 康复, 养老 and 冷藏柜 nr)."""
        found = []
        for n, (start, end, word, tag) in enumerate(words):
            span, measured = None, True  # measured: a surname right after 那/多少 may be a measure word (那张卡)
            after = words[n + 1] if n + 1 < len(words) else None
            if self.tagger.is_name_tag(tag) and 2 <= end - start <= 4 and _all_cjk(word):
                measured = end - start == 2  # jieba tags 张建国 nr whole, 张卡 never
                surname = self._surname_at(word, 0)
                if surname and 1 <= len(word) - surname <= 2:
                    span = (start, end)
                    trimmed = self.candidate(text, start, inside)
                    if trimmed is not None and trimmed[1] < end:
                        span = trimmed  # 何文来/nr 社区: the name is 何文
                    elif surname == 1 and len(word) == 2 and after is not None and self._given_char(after):
                        span = (start, after[1])  # 唐梓/nr 敏/ag, 周梅/nr 国/n
            if span is None and word in self.surnames and tag.startswith(("nr", "ns", "nz")) and after is not None:
                _, after_end, given, given_tag = after
                if 1 <= len(given) <= 2 and _all_cjk(given) and all(self.name_char.match(c) for c in given) and not self.ends.match(given):
                    if self._given_like(given, given_tag) and given not in self.regions and word + given not in self.regions:
                        span = (start, after_end)
            if span is None:
                continue
            s, e = span
            if (e < len(text) and text[e] in self.pos_not_before) or (measured and s > 0 and text[s - 1] in self.pos_not_after):
                continue
            if self._judge(text, span, "tagger"):
                found.append(span)
        return found

    def _unexplained_runs(self, text, inside, cue_ends, words=()):
        """Surname-led runs of three characters that stand where a person does (after punctuation,
        a cue or 的/是/让..., before punctuation or a word that ends a name) and that no word of the
        civil-affairs vocabulary, jieba's dictionary or its function words explains (小区里的方金根，
        麻烦让任永康回个电话): the vocabulary, not a list of names, says they are no content."""
        if not (self.vocabulary or self.known is not None):
            return []
        found = []
        starts = {start for start, _, _, _ in words}  # where jieba's cut starts a word: a name may stand there
        for at in range(len(text)):
            if at > 0 and at not in cue_ends and re.match(f"[{_CJK}]", text[at - 1]) and text[at - 1] not in self.before_person and at not in starts:
                continue
            surname = self._surname_at(text, at, cued=True)  # 服务站的于桂芝: where a person stands, 于 may be a surname
            if not surname or inside[at] == "in":
                continue
            span = self.candidate(text, at, inside, cued=True)
            if span is None or span[1] - at - surname != 2:
                continue
            start, end = span
            name = text[start:end]
            if end < len(text) and re.match(f"[{_CJK}]", text[end]) and not self.ends.match(text, end):
                continue
            if name[:surname] in self.needing_given and not self._given_after_common(name, surname):
                continue
            if self.tagger.frequency(name) > 0 or any(c in self.never for c in name) or self.places.match(text, end):
                continue
            if name in self.regions or name in self.relations or name[surname:] in self.relations or name[-1] in self.bad_endings or name.startswith(self.not_names):
                continue  # (牛大爷: a surname and a title, which the title rule masks as [姓名]大爷)
            if any(c in self.never_given_chars for c in name[surname:]) or not self._unexplained(name, surname):
                continue
            found.append(span)
        return found

    def _clause_starts(self, text, words, inside):
        """A surname-led name opening the message or a clause with no cue before it (王建军想申请低保,
        李娜和我要结婚): taken when a word that ends a name follows it, no word of the knowledge base
        or of faq/'s lexicon files is it (高水平, 文明), and jieba reads it as a name (a dictionary
        name, or its tagger's nr) or it is three characters nothing explains."""
        tagged = {(s, e) for s, e, _, tag in words if self.tagger.is_name_tag(tag)}
        found = []
        starts = [m.end() for m in _CLAUSE_START.finditer(text)]
        # a time word or a connective opening the clause (昨天许永康来办低保, 为什么严洋没有…): the name after it opens it
        starts += [m.end() for m in self.openers.finditer(text) if m.start() in starts and m.end() < len(text)]
        for at in starts:
            surname = self._surname_at(text, at, cued=True)  # 向志强想问: the clause's first word
            if not surname or inside[at] == "in":
                continue
            span = self.candidate(text, at, inside, cued=True)
            if span is None or span[1] - at == surname:
                continue
            start, end = span
            name = text[start:end]
            if not (_alone(text, end) or self.ends.match(text, end) or self.relation.match(text, end)) or self.explained(name):
                continue  # a kinship or role word after it ends a name too: 江水根父母, 叶子涵同学
            if self.honorifics.match(text, start + surname) or self.titles.match(text, start + surname):
                continue  # 陈经理你好: a title after the surname, read by _titled
            if len(name) > 2 and self.tagger.frequency(name) >= _DICTIONARY_FREQ:
                continue  # jieba's dictionary tags places nr too (张家口); a frequent one is no name here
            if self.tagger.is_name_word(name) or span in tagged or (self.tagger.frequency(name) == 0 and (self._unexplained(name, surname) or self._compound(name, surname) or self._short(name, surname))):
                if self._judge(text, span, "start"):
                    found.append(span)
        return found

    def _short(self, name, surname):
        """True for a surname and one given character that make no word (蔺金想问, 管金今年): the
        character is no function word, verb or measure of its own (王想, 钱都) and nothing of the
        vocabulary explains the pair."""
        if len(name) - surname != 1 or self.explained(name):
            return False
        return not (self.tagger.single_tag(name[-1]) or "x").startswith(_ENDS_NO_NAME + ("v", "d", "m", "q", "x"))

    def _compound(self, name, surname):
        """True for a compound surname and a given name (诸葛明, 钟离秀): a two-character surname
        that is no everyday word (东方, 司空 are; a name or a place word such as 欧阳 is not) and a
        given name that explains nothing."""
        if surname != 2 or self.explained(name[2:]):
            return False
        tag = self.tagger.frequent(name[:2])
        return tag is None or self.tagger.is_name_tag(tag) or tag.startswith("ns")

    def _given_char(self, word):
        """True when a word of one character, cut off a two-character name by jieba's HMM, is the
        name's last character: a name character that neither ends a name nor is a dictionary
        name tag's verb particle (唐梓/nr 敏/ag; not 王芳/nr 说/v)."""
        start, end, char, tag = word
        return (
            end - start == 1
            and tag != "x"
            and self.name_char.match(char) is not None
            and char not in self.never_given_chars
            and not self.ends.match(char)
            and char not in self.pos_not_before
        )

    def _given_like(self, word, tag):
        """True when a word after a surname can be its given name: one jieba's HMM reads as a name
        or noun (少华/nz, 春花/n), a dictionary name (红梅), a rare dictionary word (铁柱) or a
        frequent noun or adjective (建国, 金花, 繁荣); not a verb or function word (吃饭, 已经)."""
        if tag != "x":
            return tag.startswith(("nr", "nz", "ns", "n"))
        frequent = self.tagger.frequent(word)
        if frequent is None:
            return True
        return frequent.startswith(("n", "a")) and not self.tagger.never_given(word)

    def _listed(self, text, found, inside):
        """Names listed beside a found one: 王秀英、王秀兰 / 许伟和钟鹏."""
        more = []
        for start, end in found:
            if end < len(text) and text[end] in self.listing:
                span = self.candidate(text, end + 1, inside)
                if span is not None and self._judge(text, span, "weak"):
                    more.append(span)
            if start >= 2 and text[start - 1] in self.listing:
                for length in (3, 2):
                    s = start - 1 - length
                    if s >= 0 and self.candidate(text, s, inside) == (s, start - 1) and self._judge(text, (s, start - 1), "weak"):
                        more.append((s, start - 1))
                        break
        return more


def read_surnames(path):
    """The surnames of a surname file: whitespace-separated entries of one or two characters."""
    return _read_entries(path, 1, 2, "a surname is one or two Chinese characters")


def read_name_elements(path):
    """The elements of a minority-names file: whitespace-separated words of two to four characters."""
    return _read_entries(path, 2, 4, "a name element is two to four Chinese characters")


def _read_entries(path, shortest, longest, rule):
    """The whitespace-separated entries of a word-list file, each `shortest` to `longest` Chinese
    characters; DataFileError (`rule`, file and line) for any other."""
    out = []
    for lineno, line in read_lines(path):
        for entry in line.split():
            if not shortest <= len(entry) <= longest or not _all_cjk(entry):
                raise DataFileError(path, lineno, f"{rule}, not {entry!r}")
            out.append(entry)
    return out


def _squeezed(text):
    """(text without the spaces inside runs of single characters spaced apart, index in `text` of
    each of its characters), or (text, None) when there is no such run."""
    if _SPACED_RUN.search(text) is None:
        return text, None
    keep = [True] * len(text)
    for match in _SPACED_RUN.finditer(text):
        for i in range(match.start(), match.end()):
            if text[i] in _SPACES:
                keep[i] = False
    at = [i for i, kept in enumerate(keep) if kept]
    return "".join(text[i] for i in at), at


def _inside_words(length, words):
    """Per position 0..length: "start" where one of `words` (dictionary words, so 儿童 and 习近平
    but not a run jieba's HMM cut, 里王) of two or more characters starts, "in" inside one, ""
    elsewhere."""
    marks = [""] * (length + 1)
    for start, end, _, _ in words:
        if end - start >= 2:
            marks[start] = "start"
            for i in range(start + 1, end):
                marks[i] = "in"
    return marks


def _alone(text, end):
    """True when nothing but punctuation, a space, a digit or the end follows."""
    return end == len(text) or not re.match(f"[{_CJK}A-Za-z]", text[end])


def _all_cjk(word):
    return bool(word) and all("\u3400" <= c <= "\u9fff" for c in word)


def _words(value):
    if isinstance(value, str) or not all(isinstance(w, str) and w for w in value):
        raise TypeError("expected a list of non-empty strings")
    return list(value)


def _chars(value):
    if not isinstance(value, str):
        raise TypeError("expected a string of characters")
    return "".join(value.split())


def _alternatives(words):
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


def _compiled(words):
    return re.compile(_alternatives(words)) if words else re.compile("(?!)")
