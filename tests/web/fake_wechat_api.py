"""A fake WeChat server API on 127.0.0.1 (access_token + custom/send), run by uvicorn in a thread."""

import json
import socket
import threading
import time

import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


class FakeWeChatAPI:
    def __init__(self, appid="wx0123456789abcdef", secret="app-secret"):
        self.appid = appid
        self.secret = secret
        self.token_requests = []
        self.sent = []  # (access_token, raw body bytes, parsed json)
        self.expire_next = False  # answer the next send with 42001 (token expired)
        self._tokens = 0
        app = Starlette(routes=[Route("/cgi-bin/token", self.token), Route("/cgi-bin/message/custom/send", self.send, methods=["POST"])])
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def token(self, request):
        q = dict(request.query_params)
        self.token_requests.append(q)
        if q.get("appid") != self.appid or q.get("secret") != self.secret or q.get("grant_type") != "client_credential":
            return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
        self._tokens += 1
        return JSONResponse({"access_token": f"TOKEN{self._tokens}", "expires_in": 7200})

    async def send(self, request):
        body = await request.body()
        token = request.query_params.get("access_token")
        if self.expire_next:
            self.expire_next = False
            return JSONResponse({"errcode": 42001, "errmsg": "access_token expired"})
        self.sent.append((token, body, json.loads(body)))
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    def start(self):
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("fake WeChat API did not start")
            time.sleep(0.02)
        return self

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def wait_sent(self, count, timeout=10.0):
        deadline = time.time() + timeout
        while len(self.sent) < count and time.time() < deadline:
            time.sleep(0.02)
        return list(self.sent)
