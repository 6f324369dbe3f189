"""Telegram channel throughput: the golden questions through Application.process_update.

Uses the real Application (AIORateLimiter, concurrent updates, templates) over the recording
transport of tests/telegram_fakes.py, so it measures our side only, not the network.
Run: .venv/bin/python benchmarks/bench_telegram.py
"""

import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402

from channels.telegram import build_application  # noqa: E402
from retrieval.assistant import Assistant  # noqa: E402
from retrieval.settings import Settings  # noqa: E402
from tests import telegram_fakes as fake  # noqa: E402


def main():
    questions = [json.loads(line)["q"] for line in (ROOT / "tests" / "data" / "golden_questions.jsonl").open(encoding="utf-8")]
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(Settings(), log_path=Path(tmp) / "log.db", telegram_bot_token="1:BENCH", rate_limit_per_minute=0)
        assistant = Assistant(settings)
        assistant.warm_up()
        assistant.ask("预热")  # the tokenizer loads on first use
        state = fake.BotAPIState()
        request = fake.RecordingRequest(state)
        app = build_application(assistant, settings, request=request, get_updates_request=request)
        asyncio.run(_run(app, state, questions))


async def _run(app, state, questions):
    async with app:
        times = []
        for n, question in enumerate(questions):
            started = time.perf_counter()
            await app.process_update(Update.de_json(fake.message(question, user_id=10 + n), app.bot))
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        print(f"{len(times)} questions one by one: median {statistics.median(times):.1f} ms, p95 {times[int(len(times) * 0.95)]:.1f} ms")
        refused = [m for m, _, status in state.calls if status != 200]
        print(f"messages the fake Bot API refused (bad HTML, too long, bad buttons): {len(refused)}")
        await app.start()
        before = len(state.sent())
        started = time.perf_counter()
        for n, question in enumerate(questions[:50]):
            await app.update_queue.put(Update.de_json(fake.message(question, user_id=500 + n), app.bot))
        while len(state.sent()) < before + 50:
            await asyncio.sleep(0.005)
        print(f"50 questions at once: all answered in {(time.perf_counter() - started) * 1000:.0f} ms")
        await app.stop()


if __name__ == "__main__":
    main()
