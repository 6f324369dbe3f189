"""uvicorn's HTTP protocol with a deadline for each request's head.

uvicorn (h11) times out idle keep-alive connections after a response, but not a client that
connects and sends nothing, or sends its request line and headers a byte at a time: such a
slow-loris client holds a connection (and a file descriptor) for as long as it likes, and a few
thousand of them fill the process. Here a connection whose request head is not complete within
MINZHENG_HEADER_TIMEOUT seconds of its first byte (or of the connection, for the first request)
is closed. The body is read by the application under its own caps (channels/web/limits.py).
"""

import functools

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class HeaderDeadline(H11Protocol):
    """H11Protocol that closes a connection whose request head takes longer than `header_timeout`."""

    header_timeout = 10.0

    def __init__(self, *args, header_timeout=None, **kwargs):
        super().__init__(*args, **kwargs)
        if header_timeout is not None:
            self.header_timeout = float(header_timeout)

    def connection_made(self, transport):
        self._head_timer = None
        super().connection_made(transport)
        self._arm()

    def data_received(self, data):
        if self._head_timer is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the first byte of the next request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()  # the head is complete: the request is the application's now

    def connection_lost(self, exc):
        self._disarm()
        super().connection_lost(exc)

    def _arm(self):
        self._disarm()
        self._head_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self):
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _too_slow(self):
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.info("closed a connection whose request head took longer than %.0f s", self.header_timeout)
            self.transport.close()


def protocol(header_timeout):
    """The protocol factory for uvicorn.Config(http=...) with this deadline (a partial, not a
    class made on the fly, so `serve --workers N` can hand it to its worker processes)."""
    return functools.partial(HeaderDeadline, header_timeout=float(header_timeout))
