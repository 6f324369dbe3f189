"""The WeChat server API calls we make: access_token and 客服消息 (custom/send) for slow answers.

The base URL is a setting (WECHAT_API_BASE_URL) so tests point it at a fake on 127.0.0.1.
Bodies are UTF-8 JSON with ensure_ascii=False, as WeChat expects (protocols.md 2.8).
"""

import asyncio
import json
import logging
import re
import time

import httpx

log = logging.getLogger(__name__)

_TOKEN_EXPIRED = {40001, 40014, 42001}
_TOKEN_MARGIN = 300  # refresh five minutes before WeChat says the token expires
_CREDENTIALS = re.compile(r"\b(secret|access_token)=[^&\s\"']*")


class WeChatAPIError(Exception):
    """WeChat answered with a non-zero errcode (45015: outside the 48 h window, 40164: IP not whitelisted...)."""

    def __init__(self, errcode, errmsg):
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"WeChat API error {errcode}: {errmsg}")


class WeChatAPI:
    def __init__(self, appid, appsecret, base_url, client=None, clock=time.monotonic):
        self.appid = appid
        self.appsecret = appsecret
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=10.0)
        _redact_credentials_in(logging.getLogger("httpx"))  # it logs request URLs at INFO
        self._clock = clock
        self._token = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def access_token(self, refresh=False):
        async with self._lock:
            if refresh or self._token is None or self._clock() >= self._expires:
                params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.appsecret}
                data = _checked(await self._client.get(self.base_url + "/cgi-bin/token", params=params))
                self._token = data["access_token"]
                self._expires = self._clock() + int(data.get("expires_in", 7200)) - _TOKEN_MARGIN
            return self._token

    async def send_text(self, openid, content):
        """Send one 客服 text message; retries once with a fresh token when WeChat says it expired."""
        payload = json.dumps({"touser": openid, "msgtype": "text", "text": {"content": content}}, ensure_ascii=False).encode("utf-8")
        for attempt in (0, 1):
            token = await self.access_token(refresh=attempt == 1)
            response = await self._client.post(
                self.base_url + "/cgi-bin/message/custom/send",
                params={"access_token": token},
                content=payload,
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
            try:
                return _checked(response)
            except WeChatAPIError as exc:
                if attempt == 0 and exc.errcode in _TOKEN_EXPIRED:
                    continue
                raise

    async def close(self):
        await self._client.aclose()


def _checked(response):
    if response.is_error:
        # Not raise_for_status(): its message quotes the URL, whose query holds the AppSecret
        # (token request) or the access_token (send), and it would be logged with the failure.
        raise WeChatAPIError(response.status_code, f"HTTP {response.status_code} from {response.url.path}")
    try:
        data = response.json()
    except ValueError as exc:
        raise WeChatAPIError(-1, f"not JSON from {response.url.path}") from exc
    if data.get("errcode", 0) != 0:
        raise WeChatAPIError(data.get("errcode"), data.get("errmsg", ""))
    return data


class RedactCredentials(logging.Filter):
    """Masks `secret=` and `access_token=` query values in log records (httpx logs every URL)."""

    def filter(self, record):
        message = record.getMessage()
        if "secret=" in message or "access_token=" in message:
            record.msg = _CREDENTIALS.sub(r"\1=<redacted>", message)
            record.args = ()
        return True


def _redact_credentials_in(logger):
    if not any(isinstance(f, RedactCredentials) for f in logger.filters):
        logger.addFilter(RedactCredentials())
