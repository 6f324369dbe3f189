"""A throwaway redis-server for the tests: Debian's binary on a unix socket in a temp folder.

One per test session (the `redis_server` fixture in tests/conftest.py); `stop()` and `start()`
are for the fault tests (Redis gone, Redis back on the same socket). No TCP port, no disk
persistence, nothing outside the folder.
"""

import shutil
import subprocess
import time

BINARY = "redis-server"


def available():
    return shutil.which(BINARY) is not None


class RedisServer:
    def __init__(self, folder):
        self.folder = folder
        self.socket = folder / "redis.sock"
        self.process = None

    @property
    def url(self):
        return f"unix://{self.socket}"

    def start(self):
        args = [
            shutil.which(BINARY), "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
            "--dir", str(self.folder), "--save", "", "--appendonly", "no", "--maxmemory", "64mb",
            "--maxmemory-policy", "volatile-ttl", "--loglevel", "warning",
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not self._answers():
            if self.process.poll() is not None:
                raise RuntimeError("redis-server did not start: " + self.process.stderr.read().decode(errors="replace"))
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not answer within 10 s")
            time.sleep(0.02)
        return self

    def _answers(self):
        import redis

        if not self.socket.exists():
            return False
        try:
            return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def client(self):
        import redis

        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=2)

    def flush(self):
        self.client().flushall()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
