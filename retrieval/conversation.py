"""Where a conversation's context waits for its next question: one small interface.

`get(key)` returns the followup.Context left by the previous question of a conversation, or
None once `window` seconds have passed; `put` and `forget` are the rest of the interface. The
in-process table is the default (one process); the scale-out issue puts the same interface in
shared storage. A key is (channel, conversation id): a Telegram chat, a WeChat openid, a web
visitor's cookie, a batch's conversation id.
"""

import threading
import time
from collections import OrderedDict


class Conversations:
    """In-process conversation contexts, expiring after `window` seconds, at most `max_entries`."""

    def __init__(self, window, max_entries=100_000, clock=time.monotonic):
        self.window = window
        self.max_entries = max_entries
        self.clock = clock
        self._entries = OrderedDict()  # key -> (context, stored at), oldest first
        self._lock = threading.Lock()

    def get(self, key):
        """The context of `key`'s previous question, or None (none, or older than the window)."""
        now = self.clock()
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            context, stored = found
            if now - stored > self.window:
                del self._entries[key]
                return None
            return context

    def put(self, key, context):
        """Keep `context` for `key` (None forgets it)."""
        with self._lock:
            self._entries.pop(key, None)
            if context is None:
                return
            self._entries[key] = (context, self.clock())
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, key):
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self):
        return len(self._entries)


class RedisConversations:
    """The same interface over Redis: one key per conversation holding its context as JSON
    (context_codec), expiring `window` seconds after it was stored; the in-process table while
    Redis does not answer."""

    def __init__(self, link, window, codec):
        self.link = link
        self.window = window
        self.codec = codec
        self.local = Conversations(window)

    def _key(self, key):
        from .sharedstate import key as redis_key

        return redis_key("conversation", *(key if isinstance(key, tuple) else (key,)))

    def get(self, key):
        """The context of `key`'s previous question, or None (none, older than the window, or
        naming what the served build no longer has)."""
        from .context_codec import ContextUnreadable

        data = self.link.run(lambda client: client.get(self._key(key)), lambda: _LOCAL)
        if data is _LOCAL:
            return self.local.get(key)
        if data is None:
            return None
        try:
            return self.codec.decode(data)
        except ContextUnreadable:
            return None

    def put(self, key, context):
        """Keep `context` for `key` (None, or one too large to keep, forgets it)."""
        data = None if context is None else self.codec.encode(context)
        self.local.put(key, context)  # the twin stays current: a Redis outage keeps the thread

        def store(client):
            if data is None:
                client.delete(self._key(key))
            else:
                client.set(self._key(key), data, ex=max(int(self.window), 1))

        self.link.run(store, lambda: None)

    def forget(self, key):
        self.local.forget(key)
        self.link.run(lambda client: client.delete(self._key(key)), lambda: None)


_LOCAL = object()  # Redis did not answer: read the in-process twin
