"""One question from a web channel to the core: rate limit, run off the event loop, word the errors.

The core is synchronous; `ask` runs it in Starlette's threadpool so a slow answer never blocks
other requests and WeChat's deadline can be enforced around it. This is the web channels' one
error path: the core's named errors become the reply templates here and nowhere else.
"""

import logging
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from retrieval.errors import EmptyQuestionError, QuestionTooLongError
from retrieval.ratelimit import RateLimiter

log = logging.getLogger(__name__)

EMPTY = "empty"
TOO_LONG = "too_long"
RATE_LIMITED = "rate_limited"
ERROR = "error"


@dataclass(frozen=True)
class Outcome:
    kind: str  # an Answer kind ('answer', 'not_found', ...) or EMPTY / TOO_LONG / RATE_LIMITED / ERROR
    text: str
    answer: object = None  # retrieval.answer.Answer when the core answered
    query_id: int = None


class Asker:
    """Asks the core on behalf of one channel ('wechat', 'web'), with that channel's wording."""

    def __init__(self, assistant, channel, templates, per_minute):
        self.assistant = assistant
        self.channel = channel
        self.templates = templates  # {'rate_limited': name, 'error': name}
        self.limiter = RateLimiter(per_minute)

    async def ask(self, question, user):
        if not self.limiter.allow((self.channel, user)):
            wait = max(1, round(self.limiter.retry_after((self.channel, user))))
            return Outcome(RATE_LIMITED, self.render(self.templates["rate_limited"], seconds=wait))
        try:
            reply = await run_in_threadpool(self.assistant.ask, question, channel=self.channel, user=user)
        except EmptyQuestionError:
            return Outcome(EMPTY, self.render("empty_question.txt.j2"))
        except QuestionTooLongError as exc:
            return Outcome(TOO_LONG, self.render("question_too_long.txt.j2", length=exc.length, limit=exc.limit))
        except Exception:
            # The outermost edge: the citizen gets an honest "try later / call 12345", the log the cause.
            log.exception("answering failed on %s", self.channel)
            return Outcome(ERROR, self.render(self.templates["error"]))
        return Outcome(reply.answer.kind, reply.answer.text, reply.answer, reply.query_id)

    def render(self, name, **context):
        return self.assistant.render(name, **context)
