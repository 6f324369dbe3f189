"""民政小助手 entry point: read settings, build the core, run a command or channel."""

import argparse
import os
import sys

from retrieval.settings import Settings


def parser():
    p = argparse.ArgumentParser(prog="bot.py", description="民政小助手: cited answers to civil-affairs questions")
    sub = p.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="answer a question (no question: one per line from stdin)")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")
    ask.add_argument("question", nargs="*")

    search = sub.add_parser("search", help="ranked passages for keywords, no answer composition")
    search.add_argument("--json", action="store_true")
    search.add_argument("-k", type=int, default=10, help="number of passages (default 10)")
    search.add_argument("query", nargs="+")

    explain = sub.add_parser("explain", help="why a question gets its passages and its answer/suggest/decline decision")
    explain.add_argument("--json", action="store_true", help="print the explanation as one JSON object")
    explain.add_argument("--passage", metavar="ID", help="also explain this passage: why it did not rank first")
    explain.add_argument("question", nargs="+")

    sub.add_parser("build", help="build or refresh the store from knowledge/ and faq/")
    sub.add_parser("chat", help="chat in the terminal")
    sub.add_parser("telegram", help="run the Telegram bot alone (TELEGRAM_BOT_TOKEN, polling or webhook)")

    serve = sub.add_parser("serve", help="web service: WeChat, /lookup, /chat, /admin")
    serve.add_argument("--host", help="default: MINZHENG_HOST (127.0.0.1)")
    serve.add_argument("--port", type=int, help="default: MINZHENG_PORT (8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes on the one port (default 1; more need MINZHENG_REDIS_URL)")

    ev = sub.add_parser("eval", help="score question sets (dev.jsonl format); several: side by side")
    ev.add_argument("file", nargs="+")
    ev.add_argument("--misses", action="append", metavar="FILE", help="with several sets: list this set's misses (never a held-out set's)")
    ev.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")

    cal = sub.add_parser("calibrate", help="fit faq/calibration.toml [ranking] and [decision] on labelled sets (never a held-out one)")
    cal.add_argument("file", nargs="+")
    cal.add_argument("--dry-run", action="store_true", help="print the fit, do not write it")

    reload = sub.add_parser("reload", help="validate, rebuild beside the live store, compare and swap (a running service follows)")
    reload.add_argument("--force", action="store_true", help="swap even when hit@3 drops by more than the margin")
    sub.add_parser("rollback", help="put the previous build back (a running service follows)")
    sub.add_parser("migrate", help="create or migrate the PostgreSQL schema (MINZHENG_DATABASE_URL); safe to run again")
    sub.add_parser("check", help="validate knowledge/ and faq/; exit 2 with file:line messages")
    add = sub.add_parser("add", help="add a .docx, .pdf, .html, .md or .txt file to knowledge/ (metadata proposed from its text)")
    add.add_argument("file")
    for flag in ("title", "issuer", "region", "kind", "published", "effective", "id"):
        add.add_argument(f"--{flag}", help="instead of the value proposed from the text")
    add.add_argument("--dry-run", action="store_true", help="show the metadata and passages, write nothing")
    add.add_argument("--yes", action="store_true", help="on a terminal too: accept the proposal without asking")
    report = sub.add_parser("report", help="most frequent declined or 👎 questions, grouped (FAQ worklist)")
    report.add_argument("--csv", metavar="FILE", help="also write the groups as CSV")
    report.add_argument("--days", type=int, help="only the last N days (default: the whole log)")
    report.add_argument("--limit", type=int, default=30, help="number of groups (default 30)")
    sub.add_parser("mask", help="print each stdin line with personal data masked, exactly as the query log stores it")
    purge = sub.add_parser("purge", help="delete logged questions older than the retention")
    purge.add_argument("--days", type=int, help="retention in days (default MINZHENG_LOG_RETENTION_DAYS)")
    return p


def main(argv=None, environ=None):
    args = parser().parse_args(argv)
    settings = Settings.from_env(os.environ if environ is None else environ)
    if args.command == "telegram":
        from channels.telegram import main as telegram_main

        return telegram_main(settings)
    from channels.cli import Cli

    return Cli(settings).run(args.command, args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        # The reader went away (`bot.py ask ... | head`): nothing left to say to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
