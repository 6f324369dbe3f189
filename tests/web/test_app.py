"""The app factory's lifespan hooks (for the Telegram bot in the same process) and `serve`'s banner."""

from dataclasses import replace

import pytest

from channels.web.server import urls
from retrieval.settings import Settings

from .conftest import make_client


def test_hooks_start_in_order_after_warm_up_and_stop_in_reverse(assistant, web_settings, log):
    events = []

    def hook(name):
        async def start():
            events.append(f"start {name}")

        async def stop():
            events.append(f"stop {name}")

        return start, stop

    async def failing_stop():
        events.append("stop broken")
        raise RuntimeError("boom")

    hooks = [hook("telegram"), (None, failing_stop), hook("metrics")]
    with make_client(assistant, web_settings, hooks=hooks) as c:
        assert events == ["start telegram", "start metrics"]
        assert c.get("/healthz").status_code == 200
    assert events == ["start telegram", "start metrics", "stop metrics", "stop broken", "stop telegram"]


def test_a_failing_start_hook_stops_the_ones_already_started(assistant, web_settings, log):
    events = []

    async def start_ok():
        events.append("start ok")

    async def stop_ok():
        events.append("stop ok")

    async def start_bad():
        raise RuntimeError("cannot reach Telegram")

    with pytest.raises(RuntimeError):
        with make_client(assistant, web_settings, hooks=[(start_ok, stop_ok), (start_bad, None)]):
            pass
    assert events == ["start ok", "stop ok"]


def test_serve_prints_every_url_and_what_is_switched_off():
    settings = replace(Settings(), staff_token="s", wechat_token="")
    assert urls(settings, "127.0.0.1", 8000) == [
        "民政小助手 web service on http://127.0.0.1:8000",
        "  citizen chat   http://127.0.0.1:8000/chat",
        "  staff lookup   http://127.0.0.1:8000/lookup (password: MINZHENG_STAFF_TOKEN)",
        "  admin          http://127.0.0.1:8000/admin (off: set MINZHENG_ADMIN_TOKEN)",
        "  WeChat push    http://127.0.0.1:8000/wechat (off: set WECHAT_TOKEN, then it is ready for the WeChat console)",
        "  Telegram bot   (off: set TELEGRAM_BOT_TOKEN)",
    ]
    with_bot = replace(settings, telegram_bot_token="1:x", telegram_webhook_url="https://example.org/tg/hook")
    assert urls(with_bot, "127.0.0.1", 8000)[-1] == "  Telegram bot   webhook https://example.org/tg/hook"
