"""The one object every channel talks to: answers, search, feedback, reload, stats.

Channels (terminal, Telegram, WeChat, web) hold an `Assistant` and never reach into the
library, the answerer or the log themselves. Errors stay the core's named errors; each channel
words them for its users.
"""

import time
from dataclasses import dataclass

from .answer import Answerer
from .library import Library
from .querylog import QueryLog


@dataclass(frozen=True)
class Reply:
    answer: object  # retrieval.answer.Answer
    query_id: int  # id in the query log, for feedback


class Assistant:
    def __init__(self, settings):
        self.settings = settings
        self.library = Library(settings)
        self.answerer = Answerer(self.library, settings)
        self.log = QueryLog(settings.log_path, settings.log_key)

    def warm_up(self):
        """Load (or build) the knowledge base now rather than on the first question.

        Also runs one search and reads the intent tables, so jieba's dictionary and faq/ tables
        are loaded before the first citizen waits for them (about 0.5 s otherwise).
        """
        snapshot = self.library.snapshot
        snapshot.search("民政", k=1)
        self.answerer.intents
        self.answerer.thresholds
        return snapshot

    def ask(self, question, channel="cli", user=None):
        """Answer and log one question. Raises EmptyQuestionError / QuestionTooLongError."""
        started = time.perf_counter()
        answer = self.answerer.ask(question)
        query_id = self.log.record(channel, user, question, answer, (time.perf_counter() - started) * 1000)
        return Reply(answer, query_id)

    def search(self, query, k=None, region=None):
        return self.library.search(query, k=k, region=region)

    def passage(self, passage_id):
        """One passage with its document, or None."""
        snapshot = self.library.snapshot
        passage = snapshot.passage(passage_id)
        if passage is None:
            return None
        return passage, snapshot.documents[passage["doc_id"]]

    def documents(self):
        """Every document's metadata row, ordered by id (lookup filters, admin page)."""
        documents = self.library.snapshot.documents
        return [documents[k] for k in sorted(documents)]

    def document(self, doc_id):
        """(document, its passages in reading order), or None."""
        snapshot = self.library.snapshot
        document = snapshot.documents.get(doc_id)
        if document is None:
            return None
        return document, sorted((p for p in snapshot.passages if p["doc_id"] == doc_id), key=lambda p: p["seq"])

    def topics(self):
        """Topic names (faq/topics.toml), in file order."""
        return self.answerer.intents.topic_names

    def topics_of(self, text):
        """The topics a text mentions (used to filter passages by topic)."""
        return self.answerer.intents.topics_in(self.library.snapshot.analyzer.normalize(text))

    def feedback(self, query_id, value, comment=None):
        return self.log.feedback(query_id, value, comment)

    def forget(self, channel, user):
        """Delete what the log holds about one user; returns the number of questions deleted."""
        return self.log.forget(channel, user)

    def reload(self):
        """Rebuild from knowledge/ and faq/ and swap the new build in (DataFileError: nothing changes)."""
        return self.library.build()

    def render(self, template, **context):
        return self.answerer.render(template, **context)

    def stats(self):
        meta = self.library.snapshot.metadata
        return {
            "documents": int(meta.get("documents", 0)),
            "passages": int(meta.get("passages", 0)),
            "built_at": meta.get("built_at"),
            "input_hash": meta.get("input_hash"),
            **self.log.counts(),
        }
