"""The one edge every channel goes through: (channel, user, text, conversation) -> Outcome.

Rate limit per (channel, user) -> a numbered pick of the previous answer's suggestions ("1",
"第一个", "2号") -> the previous question's context (a follow-up is read in its light) -> the
core answers and logs -> the context this question leaves, masked as the query log masks. An
eligibility question ("我能不能申请低保") starts a guided check instead (retrieval/checks.py):
its Walk waits in the conversation in place of the context, each reply that picks an option
(a number or the option's words) is the next step, and anything else ends the check and is
answered as a question. Check steps are not logged (they are answers about a household). The
terminal, Telegram, WeChat and the web chat only translate their protocol to and from it, so a
conversation reads the same wherever it happens. Wording stays with the channels: an Outcome
carries the core's plain text and the Answer (its Decision) for channel templates.
"""

from dataclasses import dataclass, replace

from .answer import valid_unicode
from .checks import Walk
from .conversation import Conversations
from .decision import ANSWER, FACT_MISSING, SUGGEST
from .errors import EmptyQuestionError, QuestionTooLongError
from .followup import Context
from .ratelimit import RateLimiter

EMPTY = "empty"
TOO_LONG = "too_long"
RATE_LIMITED = "rate_limited"
CHECK = "check"
# What the sources answered or offered passages for: the conversation is about civil affairs.
ANSWERED = (ANSWER, SUGGEST, FACT_MISSING)
FORGOTTEN = "forgotten"  # the sender asked to delete what the log holds about them (faq/commands.toml)


@dataclass(frozen=True)
class Outcome:
    kind: str  # an Answer kind ('answer', 'suggest', 'not_found'...) or EMPTY / TOO_LONG / RATE_LIMITED / CHECK
    text: str  # the core's plain-text reply ("" for RATE_LIMITED: the channel words the wait)
    answer: object = None  # answer.Answer when the core answered
    query_id: int = None  # id in the query log, for feedback (None: not logged)
    asked: str = ""  # what was asked: the message, or the suggestion a number picked
    picked: int = None  # the suggestion number the message picked
    retry_after: float = 0.0  # RATE_LIMITED: seconds to wait
    length: int = 0  # TOO_LONG: characters sent
    limit: int = 0  # TOO_LONG: characters allowed
    check: object = None  # CHECK: the checks.Step to show (text: it worded with numbered options)

    @property
    def followup(self):
        """The previous question (masked) this one was read with, or None."""
        query = self.answer.decision.query if self.answer is not None and self.answer.decision is not None else None
        return query.followup.previous if query is not None and query.followup is not None else None


class Edge:
    """Asks the core for every channel; holds the conversations and the per-user limiter."""

    def __init__(self, core, conversations, limiter, mask, rules, render, normalize, checks=None, address_limiter=None, commands=None):
        self.core = core  # .ask(question, channel=, user=, context=) -> assistant.Reply
        self.conversations = conversations  # conversation.Conversations (or the shared one)
        self.limiter = limiter  # ratelimit.RateLimiter
        # Per client address, for channels whose user ids the client chooses (a /chat cookie):
        # making up a new id per question must not lift the limit. None: not limited by address.
        self.address_limiter = address_limiter
        self.mask = mask  # text -> masked text, None when the masking rules cannot be read
        self.rules = rules  # () -> followup.FollowupRules of the served build
        self.render = render  # template name, **context -> core wording
        self.normalize = normalize  # text -> normalised as a Query is (simplified, lower case)
        self.checks = checks  # () -> (checks.CheckSet, cite) of the served build; None: no guided checks
        self.commands = commands  # () -> commands.Commands of the served build; None: none

    @classmethod
    def unlogged(cls, answerer, window):
        """The edge for `ask` and `eval`: nothing logged or rate-limited, nothing masked (nothing
        outlives the process), conversations kept for `window` seconds."""
        return cls(
            _Unlogged(answerer),
            Conversations(window),
            RateLimiter(0),
            lambda text: text,
            lambda: answerer.followup_rules,
            answerer.render,
            lambda text: answerer.library.analyzer.normalize(text),
            commands=lambda: answerer.commands,
        )

    @classmethod
    def over(cls, assistant, limiter, address_limiter=None):
        """The edge a channel asks through: `assistant` (an Assistant, or anything that answers
        like one), its conversations, the channel's per-user `limiter` and, where user ids are
        the client's choice, a per-address one."""
        return cls(
            assistant,
            assistant.conversations,
            limiter,
            assistant.mask,
            lambda: assistant.answerer.followup_rules,
            assistant.render,
            lambda text: assistant.library.analyzer.normalize(text),
            lambda: assistant.answerer.checks,
            address_limiter,
            lambda: assistant.answerer.commands,
        )

    def ask(self, channel, user, text, conversation=None, follow=True, address=None, remember=True):
        """One message to an Outcome. `follow=False`: a button or menu pick, never a follow-up.
        `address`: the client's address, limited too when the user id is the client's choice.
        `remember=False`: no message follows (a one-shot `ask`), so no context is kept for one."""
        if address is not None and self.address_limiter is not None and not self.address_limiter.allow((channel, address)):
            return Outcome(RATE_LIMITED, "", retry_after=self.address_limiter.retry_after((channel, address)))
        if not self.limiter.allow((channel, user)):
            return Outcome(RATE_LIMITED, "", retry_after=self.limiter.retry_after((channel, user)))
        key = (channel, user if conversation is None else conversation)
        question, picked = valid_unicode(text or "").strip(), None  # lone surrogates never reach a context
        if self.commands is not None and self.commands().asks_to_forget(question):
            count = self.core.forget(channel, user, conversation)
            self.conversations.forget(key)
            return Outcome(FORGOTTEN, self.render("forgotten.txt.j2", count=count), asked=question)
        context = self.conversations.get(key)
        walk = context if isinstance(context, Walk) else None
        if walk is not None:
            context = walk.previous
            index = walk.reply(question, self.rules().pick)
            if index is not None:
                return self._check(key, walk.answered(index), question)
            refused = walk.no_option(question, self.rules().pick)
            if refused:  # "99": an answer mistyped, not a new question: the same condition again
                return self._check(key, walk, question, refused=refused)
            # Anything else ends the check: the message is a question of its own.
            self.conversations.put(key, context)
        if self.checks is not None:
            check = self.checks()[0].started_by(self.normalize(question))
            if check is not None:
                return self._check(key, Walk(check, (), context), question)
        number = self.rules().pick(question) if context is not None and context.suggestions else None
        if number is not None and 1 <= number <= len(context.suggestions):
            question, picked, context = context.suggestions[number - 1], number, None
        elif not follow:
            context = None
        try:
            reply = self.core.ask(question, channel=channel, user=user, context=context)
        except EmptyQuestionError:
            return Outcome(EMPTY, self.render("empty_question.txt.j2"), asked=question)
        except QuestionTooLongError as exc:
            text = self.render("question_too_long.txt.j2", length=exc.length, limit=exc.limit)
            return Outcome(TOO_LONG, text, asked=question[: exc.limit], length=exc.length, limit=exc.limit)
        answer = reply.answer
        if remember:
            query = answer.decision.query if answer.decision is not None else None
            masked = self.mask(question)
            # Only what survives masking waits for the next question; no rules: keep nothing.
            evidence = " ".join(h.passage["text"] for h in answer.sources[:3])
            context = Context.of(query, masked, answer.suggestions, evidence, self.normalize, answered=answer.kind in ANSWERED)
            self.conversations.put(key, context)
        return Outcome(answer.kind, answer.text, answer, reply.query_id, asked=question, picked=picked)

    def _check(self, key, walk, question, refused=""):
        """The next step of a guided check; the walk waits in the conversation until it ends,
        then the context from before it is back. `refused`: the number typed that is no option."""
        step = walk.step(self.checks()[1])
        if refused:
            step = replace(step, refused=refused)
        self.conversations.put(key, walk.previous if step.done else walk)
        return Outcome(CHECK, self.render("check.txt.j2", step=step, numbered=True), asked=question, check=step)


class _Unlogged:
    """An Answerer in the shape of Assistant.ask, writing no query log."""

    def __init__(self, answerer):
        self.answerer = answerer

    def ask(self, question, channel=None, user=None, context=None):
        return _Reply(self.answerer.ask(question, context), None)

    def forget(self, channel, user, conversation=None):
        return 0  # nothing was logged


@dataclass(frozen=True)
class _Reply:
    answer: object
    query_id: int = None
