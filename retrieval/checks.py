"""Guided eligibility checks (faq/checks/*.toml): one condition per message, every condition cited.

A check is data: an ordered list of conditions, each a short question with answer options, each
citing the article it comes from, and outcomes that say what follows. An option either meets the
condition (`then = "next"`), leaves it open (`then = "unsure"`: 不确定, which never ends in "not
eligible"), or ends the check with a named outcome (`outcome = "..."`, not eligible on this
condition: which other aid may fit, and the hand-off). Answering every condition reaches the
check's `likely` outcome, or its `unsure` one when any answer was 不确定.

`Walk` is a check in progress: a value kept in the conversation in place of the follow-up
context (which it carries, so the conversation goes on after the check). `CheckSet.started_by`
recognises an eligibility question (a cue of faq/eligibility.toml and a check's subject);
`Walk.reply` reads a citizen's answer (a number or an option's label), `Walk.step` is what to
say next as a `Step` value the templates word.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from .datafiles import read_toml, table_lines
from .decision import Citation
from .errors import DataFileError

NEXT, UNSURE = "next", "unsure"
LIKELY, NOT_ELIGIBLE = "likely", "not_eligible"
OUTCOME_KINDS = (LIKELY, UNSURE, NOT_ELIGIBLE)
UNSURE_LABEL = "不确定"
_PUNCTUATION = re.compile(r"[\s\W_]+")
_SIGNED = re.compile(r"\s*[-+－＋]\s*\d{1,3}\s*")
_SHORT_NUMBER = 3  # digits: a longer number (an ID, a phone) is no mistyped option and is never echoed


@dataclass(frozen=True)
class Option:
    label: str
    then: str  # NEXT, UNSURE, or "" when `outcome` ends the check
    outcome: str = ""  # the outcome id this option ends the check with


@dataclass(frozen=True)
class Condition:
    id: str
    question: str
    cites: tuple  # passage ids
    options: tuple  # Option
    note: str = ""  # said with the question (where the local standard is published, etc.)
    short: str = ""  # the condition named in the final list of answers


@dataclass(frozen=True)
class Ending:
    id: str
    kind: str  # OUTCOME_KINDS
    text: str
    cites: tuple = ()
    others: tuple = ()  # other aid that may fit (names of other checks' titles or plain words)


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    subjects: tuple  # normalised words of an eligibility question that name this check
    conditions: tuple
    outcomes: dict  # id -> Ending
    intro: str = ""
    path: str = ""


@dataclass(frozen=True)
class Row:
    """One answered condition in the final message."""

    condition: str  # its short name
    answer: str
    numbers: tuple  # citation numbers of its articles


@dataclass(frozen=True)
class Step:
    """What the check says next: a condition to answer, or the end with the answers listed."""

    check: Check
    number: int  # 1-based number of the condition asked (0 at the end)
    total: int
    condition: Condition = None
    options: tuple = ()  # option labels, numbered from 1
    ending: Ending = None
    rows: tuple = ()  # Row, at the end
    citations: tuple = ()  # decision.Citation, numbered as `numbers` refer to them
    ending_numbers: tuple = ()  # citation numbers of the ending's own articles
    refused: str = ""  # the number just typed that is no option ("99"): the same condition again

    @property
    def done(self):
        return self.ending is not None


@dataclass(frozen=True)
class Walk:
    """A check in progress in one conversation: the answers so far (option indexes)."""

    check: Check
    answers: tuple = ()
    previous: object = None  # the followup.Context from before the check, kept for after it

    def reply(self, text, pick):
        """The index of the option a message chooses (its number, through `pick`, or its label
        as written), or None: the citizen asked something else."""
        options = self.check.conditions[len(self.answers)].options
        if _SIGNED.fullmatch(text or ""):
            return None  # "-1" is no option 1 (punctuation is dropped before reading a number)
        number = pick(text)
        if number is not None:
            return number - 1 if 1 <= number <= len(options) else None
        plain = _plain(text)
        return next((n for n, o in enumerate(options) if _plain(o.label) == plain), None)

    def no_option(self, text, pick):
        """The number a message gives that no option has ("99", "0", "-1"), or "": a number in
        a check is an answer mistyped, not a new question, so the condition is asked again."""
        if _SIGNED.fullmatch(text or ""):
            return text.strip()
        number = pick(text)
        if number is not None:
            return "" if 1 <= number <= len(self.check.conditions[len(self.answers)].options) else str(number)
        plain = _plain(text)
        return plain if plain.isdigit() and len(plain) <= _SHORT_NUMBER else ""

    def answered(self, index):
        """The walk after one more answer."""
        return Walk(self.check, self.answers + (index,), self.previous)

    @property
    def ending(self):
        """The Ending reached, or None while a condition remains."""
        check = self.check
        unsure = False
        for condition, index in zip(check.conditions, self.answers):
            option = condition.options[index]
            if option.outcome:
                return check.outcomes[option.outcome]
            unsure = unsure or option.then == UNSURE
        if len(self.answers) < len(check.conditions):
            return None
        return check.outcomes[UNSURE if unsure else LIKELY]

    def step(self, cite):
        """The Step to show; `cite(number, passage id)` makes a decision.Citation."""
        check = self.check
        ending = self.ending
        total = len(check.conditions)
        if ending is None:
            condition = check.conditions[len(self.answers)]
            citations = tuple(cite(n, pid) for n, pid in enumerate(condition.cites, 1))
            return Step(check, len(self.answers) + 1, total, condition, tuple(o.label for o in condition.options), citations=citations)
        numbers, rows = {}, []
        for condition, index in zip(check.conditions, self.answers):
            for pid in condition.cites:
                numbers.setdefault(pid, len(numbers) + 1)
            rows.append(Row(condition.short, condition.options[index].label, tuple(numbers[p] for p in condition.cites)))
        for pid in ending.cites:
            numbers.setdefault(pid, len(numbers) + 1)
        citations = tuple(cite(n, pid) for pid, n in numbers.items())
        return Step(check, 0, total, ending=ending, rows=tuple(rows), citations=citations, ending_numbers=tuple(numbers[p] for p in ending.cites))


@dataclass(frozen=True)
class CheckSet:
    checks: tuple = ()
    cues: tuple = ()  # normalised phrases that make a question ask about eligibility
    by_id: dict = field(default_factory=dict)

    def started_by(self, normalized):
        """The check an eligibility question asks for ("我能不能申请低保"), or None: a cue and
        a subject; the longest subject named wins (低保边缘 over 低保), then file order."""
        if not any(c in normalized for c in self.cues):
            return None
        best, length = None, 0
        for check in self.checks:
            named = max((len(s) for s in check.subjects if s in normalized), default=0)
            if named > length:
                best, length = check, named
        return best


def _plain(text):
    return _PUNCTUATION.sub("", text or "").lower()


# -- loading and validation ---------------------------------------------------------------------
def load(faq_dir, passage_ids, normalize=lambda text: text):
    """The checks of faq/checks/*.toml and the cues of faq/eligibility.toml; the first problem
    found raises DataFileError (`problems` lists them all)."""
    found = problems(faq_dir, passage_ids)
    if found:
        raise found[0]
    faq = Path(faq_dir)
    checks = tuple(_check(path, read_toml(path), normalize) for path in sorted((faq / "checks").glob("*.toml")))
    cues = tuple(normalize(c) for c in read_toml(faq / "eligibility.toml").get("cues", ()))
    return CheckSet(checks, cues, {c.id: c for c in checks})


def problems(faq_dir, passage_ids):
    """Every problem of the check files as DataFileErrors, each with file and line: shape, a
    cited passage the build does not have, an outcome no answer reaches, an answer that leads
    nowhere, a condition without 不确定, an id used twice."""
    faq = Path(faq_dir)
    out = []
    cues_path = faq / "eligibility.toml"
    try:
        cues = read_toml(cues_path).get("cues")
        if not isinstance(cues, list) or not cues or not all(isinstance(c, str) and c.strip() for c in cues):
            out.append(DataFileError(cues_path, _line_of(cues_path, "cues"), "`cues` must be a non-empty list of phrases"))
    except (DataFileError, OSError) as exc:
        out.append(exc if isinstance(exc, DataFileError) else DataFileError(cues_path, None, f"cannot read: {exc}"))
    ids = {}
    known = set(passage_ids)
    for path in sorted((faq / "checks").glob("*.toml")):
        try:
            data = read_toml(path)
        except DataFileError as exc:
            out.append(exc)
            continue
        out.extend(_problems(path, data, known))
        check_id = data.get("id")
        if isinstance(check_id, str):
            if check_id in ids:
                out.append(DataFileError(path, _line_of(path, "id"), f"check id {check_id!r} is also used by {ids[check_id]}"))
            ids[check_id] = path.name
    if not ids and not out:
        out.append(DataFileError(faq / "checks", None, "no check files (faq/checks/*.toml)"))
    return out


def _problems(path, data, known):
    out = []

    def problem(line, message):
        out.append(DataFileError(path, line, message))

    for key in ("id", "title"):
        if not isinstance(data.get(key), str) or not data.get(key).strip():
            problem(_line_of(path, key), f"needs a {key!r} string")
    subjects = data.get("subjects")
    if not isinstance(subjects, list) or not subjects or not all(isinstance(s, str) and s.strip() for s in subjects):
        problem(_line_of(path, "subjects"), "`subjects` must be a non-empty list of words")
    conditions = data.get("condition")
    outcomes = data.get("outcome")
    condition_lines = table_lines(path, "condition")
    option_lines = table_lines(path, "condition.option")
    if not isinstance(conditions, list) or not conditions:
        problem(None, "needs at least one [[condition]]")
        conditions = []
    if not isinstance(outcomes, dict):
        problem(None, "needs [outcome.likely], [outcome.unsure] and the outcomes its options name")
        outcomes = {}
    reached = {LIKELY, UNSURE}
    option_no = 0
    seen_conditions = set()
    for n, condition in enumerate(conditions):
        line = condition_lines[n] if n < len(condition_lines) else None
        if not isinstance(condition, dict):
            problem(line, "a [[condition]] must be a table")
            continue
        cid = condition.get("id")
        if not isinstance(cid, str) or not cid:
            problem(line, f"condition {n + 1} needs an id")
        elif cid in seen_conditions:
            problem(line, f"condition id {cid!r} used twice")
        seen_conditions.add(cid)
        for key in ("question", "short"):
            if not isinstance(condition.get(key), str) or not condition[key].strip():
                problem(line, f"condition {cid!r} needs a {key!r} string")
        out.extend(_cite_problems(path, line, condition.get("cites"), known, f"condition {cid!r}"))
        options = condition.get("option")
        if not isinstance(options, list) or len(options) < 2:
            problem(line, f"condition {cid!r} needs at least two [[condition.option]]")
            options = options if isinstance(options, list) else []
        labels = set()
        has_unsure = has_next = False
        for option in options:
            oline = option_lines[option_no] if option_no < len(option_lines) else line
            option_no += 1
            if not isinstance(option, dict):
                problem(oline, "an option must be a table")
                continue
            label, then, ends = option.get("label"), option.get("then", ""), option.get("outcome", "")
            if not isinstance(label, str) or not label.strip():
                problem(oline, f"an option of condition {cid!r} needs a label")
                continue
            if _plain(label) in labels:
                problem(oline, f"condition {cid!r} offers {label!r} twice")
            labels.add(_plain(label))
            if _plain(label).isdigit():
                problem(oline, f"label {label!r} would be read as an option number")
            if bool(then) == bool(ends):
                problem(oline, f"option {label!r} needs either then = \"next\" / \"unsure\" or outcome = \"...\" (not both): it leads nowhere")
                continue
            if then and then not in (NEXT, UNSURE):
                problem(oline, f"option {label!r}: then = {then!r}; valid: {NEXT!r}, {UNSURE!r}")
                continue
            if label == UNSURE_LABEL and then != UNSURE:
                problem(oline, f"{UNSURE_LABEL!r} must have then = \"unsure\": it never leads to \"not eligible\"")
            has_unsure = has_unsure or (label == UNSURE_LABEL and then == UNSURE)
            has_next = has_next or then == NEXT
            if ends:
                reached.add(ends)
                ending = outcomes.get(ends)
                if not isinstance(ending, dict):
                    problem(oline, f"option {label!r} names outcome {ends!r}, which [outcome] does not have")
                elif ending.get("kind") != NOT_ELIGIBLE:
                    problem(oline, f"option {label!r} ends the check with {ends!r}, whose kind is not {NOT_ELIGIBLE!r}")
        if options and not has_unsure:
            problem(line, f"condition {cid!r} has no {UNSURE_LABEL!r} option (then = \"unsure\")")
        if options and not has_next:
            problem(line, f"condition {cid!r} has no option that meets it (then = \"next\"): [outcome.likely] is unreachable")
    for oid, ending in outcomes.items():
        oline = _line_of(path, f"[outcome.{oid}]", header=True)
        if not isinstance(ending, dict):
            problem(oline, f"outcome {oid!r} must be a table")
            continue
        kind = ending.get("kind")
        if kind not in OUTCOME_KINDS:
            problem(oline, f"outcome {oid!r}: kind = {kind!r}; valid: {list(OUTCOME_KINDS)}")
        elif oid in (LIKELY, UNSURE) and kind != oid:
            problem(oline, f"outcome {oid!r} must have kind = {oid!r}")
        if not isinstance(ending.get("text"), str) or not ending["text"].strip():
            problem(oline, f"outcome {oid!r} needs a text")
        out.extend(_cite_problems(path, oline, ending.get("cites"), known, f"outcome {oid!r}"))
        if oid not in reached:
            problem(oline, f"outcome {oid!r} is not reached by any answer")
    for oid in (LIKELY, UNSURE):
        if oid not in outcomes:
            problem(None, f"needs [outcome.{oid}]")
    return out


def _cite_problems(path, line, cites, known, what):
    if not isinstance(cites, list) or not cites:
        return [DataFileError(path, line, f"{what} cites no article (cites = [passage ids])")]
    return [DataFileError(path, _line_of(path, pid, quoted=True) or line, f"{what} cites {pid!r}, which no passage of the build has") for pid in cites if pid not in known]


def _line_of(path, needle, header=False, quoted=False):
    """The first line holding `needle`: a key (`needle =`), a [header], or a quoted value."""
    text = Path(path).read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(text, 1):
        stripped = line.strip()
        if header and stripped == needle:
            return n
        if quoted and f'"{needle}"' in line:
            return n
        if not header and not quoted and re.match(rf"{re.escape(needle)}\s*=", stripped):
            return n
    return None


def _check(path, data, normalize):
    conditions = tuple(
        Condition(
            c["id"],
            c["question"].strip(),
            tuple(c["cites"]),
            tuple(Option(o["label"], o.get("then", ""), o.get("outcome", "")) for o in c["option"]),
            c.get("note", "").strip(),
            c["short"].strip(),
        )
        for c in data["condition"]
    )
    outcomes = {oid: Ending(oid, e["kind"], e["text"].strip(), tuple(e.get("cites", ())), tuple(e.get("others", ()))) for oid, e in data["outcome"].items()}
    return Check(data["id"], data["title"], tuple(normalize(s) for s in data["subjects"]), conditions, outcomes, data.get("intro", "").strip(), str(path))


def citation(snapshot, number, passage_id):
    """The decision.Citation of one cited passage, as answers cite theirs."""
    from .library import Hit  # the snapshot's own row type

    passage = snapshot.passage(passage_id)
    return Citation.of(number, Hit(passage, snapshot.documents[passage["doc_id"]], 0.0, ()))


def walks(check):
    """Every sequence of answers of a check, each ending at an outcome (the all-paths test)."""
    out = []

    def walk(w):
        if w.ending is not None:
            out.append(w)
            return
        for index in range(len(check.conditions[len(w.answers)].options)):
            walk(w.answered(index))

    walk(Walk(check))
    return out
