"""One question from a web channel to the shared edge, off the event loop, with its wording.

The core is synchronous; `ask` runs the edge (rate limit, follow-up, numbered pick, log) in
Starlette's threadpool so a slow answer never blocks other requests and WeChat's deadline can be
enforced around it. This is the web channels' one error path: an unexpected failure becomes the
channel's error template here and nowhere else.
"""

import logging
from dataclasses import replace

from starlette.concurrency import run_in_threadpool

from retrieval.edge import CHECK, EMPTY, FORGOTTEN, RATE_LIMITED, TOO_LONG, Outcome  # noqa: F401  (the kinds channels compare with)

log = logging.getLogger(__name__)

ERROR = "error"


class Asker:
    """Asks the shared edge on behalf of one web channel ('wechat', 'web'), with its wording."""

    def __init__(self, assistant, edge, channel, templates):
        self.assistant = assistant
        self.edge = edge  # the app's edge.Edge (its limiter; the assistant's conversations)
        self.channel = channel
        self.templates = templates  # {'rate_limited': name, 'error': name}

    async def ask(self, question, user, conversation=None, follow=True, address=None):
        """An edge.Outcome; RATE_LIMITED and ERROR carry this channel's wording."""
        try:
            outcome = await run_in_threadpool(self.edge.ask, self.channel, user, question, conversation, follow, address)
        except Exception:
            # The outermost edge: the citizen gets an honest "try later / call 12345", the log the cause.
            log.exception("answering failed on %s", self.channel)
            return Outcome(ERROR, self.render(self.templates["error"]))
        if outcome.kind == RATE_LIMITED:
            wait = max(1, round(outcome.retry_after))
            return replace(outcome, text=self.render(self.templates["rate_limited"], seconds=wait))
        return outcome

    def render(self, name, **context):
        return self.assistant.render(name, **context)
