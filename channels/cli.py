"""The terminal channel: `ask`, `search`, `chat`, `build`, `eval`, and the admin verbs
`reload`, `rollback`, `check`, `add`, `report`, `purge` over the answering core."""

import dataclasses
import io
from pathlib import Path
import json
import re
import sys

from retrieval.answer import Answerer
from retrieval.assistant import Assistant
from retrieval.edge import CHECK, EMPTY, Edge
from retrieval.errors import (
    DatabaseError,
    DataFileError,
    DocumentError,
    NoPreviousBuildError,
    QualityDropError,
    SettingsError,
    StoreError,
)
from retrieval.evaluation import evaluate, load_questions
from retrieval.library import Library
from retrieval.ratelimit import RateLimiter
from retrieval.unanswered import write_csv

EXIT_DATA_ERROR = 2
EXIT_QUALITY_DROP = 3  # reload refused: hit@3 would fall by more than the margin
EXIT_NO_PREVIOUS = 4  # rollback: no previous build kept
EXIT_DATABASE = 5  # PostgreSQL (MINZHENG_DATABASE_URL) cannot be reached or refused the schema
DIFF_IDS_SHOWN = 10  # ids listed per added/changed/removed line of the reload report
EXIT_DECLINED = 1  # add: the admin answered no at the confirmation
ADD_PASSAGES_SHOWN = 60  # passages listed in the add preview (the count covers all)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text):
    """Citizens' text for a terminal: control characters (ESC sequences, BEL, CR, bidi overrides)
    shown as U+FFFD instead of acting on the operator's terminal."""
    return _CONTROL.sub("\ufffd", text or "")


_LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def _batch_line(line):
    """(question, conversation id or None) of one batch line: plain text, or a JSON object
    {"question": "...", "conversation": "id"} ("q" is read as "question", as the eval sets'
    lines write it, so a line of them can be piped in as it is)."""
    if line.lstrip().startswith("{"):
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):
            return line, None
        if isinstance(data, dict):
            question = data["question"] if "question" in data else data.get("q")
            if isinstance(question, str):
                conversation = data.get("conversation")
                return question, None if conversation is None else str(conversation)
    return line, None


def _line_editing():
    """Arrow keys and history at the chat prompt (readline where Python has it)."""
    try:
        import readline  # noqa: F401  (importing it is what gives input() line editing)
    except ImportError:
        pass


def json_line(payload):
    """One JSON object on one line: readable Chinese, and no character that any reader
    (Python's splitlines, JavaScript) would take for a line break."""
    return json.dumps(payload, ensure_ascii=False).translate(_LINE_BREAKS)


class Cli:
    """One answering core, worded for a terminal. Library errors become messages here only."""

    def __init__(self, settings, out=sys.stdout, err=sys.stderr):
        self.settings = settings
        self.library = Library(settings)
        self.answerer = Answerer(self.library, settings)
        self.out = out
        self.err = err
        self._assistant = None

    @property
    def assistant(self):
        """The Assistant for chat and the admin verbs (queries are logged, reloads are followed)."""
        if self._assistant is None:
            self._assistant = Assistant(self.settings)
        return self._assistant

    def run(self, command, args):
        try:
            return getattr(self, "cmd_" + command)(args)
        except (DataFileError, StoreError, SettingsError) as exc:
            print(f"错误: {exc}", file=self.err)
            return EXIT_DATA_ERROR
        except DatabaseError as exc:  # reload/rollback/build with PostgreSQL configured but unreachable
            print(f"无法连接 PostgreSQL {exc.where}: {exc.reason}", file=self.err)
            return EXIT_DATABASE

    # -- commands --------------------------------------------------------------------------
    def cmd_ask(self, args):
        edge = self._unlogged_edge()
        if args.question:
            self._answer_one(edge, " ".join(args.question), args.json, remember=False)
            return 0
        self.library.snapshot  # load once before the first line, not per line
        # One question per "\n"-terminated line, whatever else it holds (\r, U+2028, bad UTF-8).
        # A line may be {"question": "...", "conversation": "id"}: lines with the same
        # conversation id are one conversation (follow-ups are read as in a chat).
        lines = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline="\n") if hasattr(sys.stdin, "buffer") else sys.stdin
        for line in lines:
            line = line.rstrip("\r\n")
            question, conversation = _batch_line(line)
            if args.json:
                self._answer_one(edge, question, True, conversation)
            elif question.strip():
                self._answer_one(edge, question, False, conversation)
                print("", file=self.out)
            self.out.flush()
        return 0

    def _unlogged_edge(self):
        """The edge for `ask`: nothing logged, no rate limit, conversations only within this run."""
        return Edge.unlogged(self.answerer, self.settings.followup_seconds)

    def cmd_search(self, args):
        result = self.answerer.search(" ".join(args.query), k=args.k)
        if args.json:
            payload = {"query": result.question, "region": result.region, "results": [h.as_source() for h in result.hits]}
            print(json_line(payload), file=self.out)
            return 0
        if not result.hits:
            print("没有找到相关段落。", file=self.out)
        for n, hit in enumerate(result.hits, 1):
            source = hit.as_source()
            print(f"{n}. [{source['score']:.3f}] {source['id']}", file=self.out)
            print(f"   《{source['title']}》 {source['date']} › {source['section']}", file=self.out)
            print(f"   {source['text'][:120]}", file=self.out)
        return 0

    def cmd_explain(self, args):
        """Why a question gets its passages and its decision (retrieval/explain.py); nothing logged."""
        from retrieval.errors import EmptyQuestionError, QuestionTooLongError
        from retrieval.explain import explain

        try:
            found = explain(self.answerer, " ".join(args.question), args.passage)
        except KeyError:
            print(f"错误: 没有编号为 {args.passage} 的段落(`bot.py search --json` 列出段落编号)", file=self.err)
            return EXIT_DATA_ERROR
        except (EmptyQuestionError, QuestionTooLongError) as exc:
            print(f"错误: {exc}", file=self.err)
            return EXIT_DATA_ERROR
        if args.json:
            print(json_line(found.as_json()), file=self.out)
        else:
            print(self.answerer.render("explain.txt.j2", e=found, full=True), file=self.out)
        return 0

    def cmd_build(self, args):
        report = self.library.build()
        print(
            f"已构建: {report.documents} 个文件, {report.passages} 个段落 "
            f"(新分词 {report.tokenized}, 复用 {report.reused}), 输入指纹 {report.input_hash}",
            file=self.out,
        )
        if self.settings.database_url:
            shared = self.assistant.share_build()
            print(f"已记入 PostgreSQL: 已接受的构建 {shared}, 所有服务进程将改用它", file=self.out)
        return 0

    def cmd_migrate(self, args):
        if not self.settings.database_url:
            print("未设置 MINZHENG_DATABASE_URL: 查询日志在 SQLite 中, 启动时自动建表, 无需迁移。", file=self.out)
            return 0
        from retrieval.database import Database

        database = Database(self.settings.database_url, 1, self.settings.database_timeout)
        try:
            before, after = database.migrate()
        except DatabaseError as exc:
            print(f"无法迁移 PostgreSQL {exc.where}: {exc.reason}", file=self.err)
            return EXIT_DATABASE
        finally:
            database.close()
        done = "已是最新" if before == after else f"由 {before} 升级"
        print(f"PostgreSQL 数据库结构版本 {after} ({done})", file=self.out)
        return 0

    def cmd_chat(self, args):
        _line_editing()
        edge = Edge.over(self.assistant, RateLimiter(0))  # one person at a terminal: no limit
        print("民政小助手: 请输入您的问题(输入 exit 或按 Ctrl-D 退出)。", file=self.out)
        while True:
            try:
                line = input("> ")
            except (EOFError, KeyboardInterrupt):
                print("", file=self.out)
                return 0
            if line.strip().lower() in ("exit", "quit", "退出"):
                return 0
            if not line.strip():
                continue
            self._answer_one(edge, line, False, follow=True)
            print("", file=self.out)

    def cmd_serve(self, args):
        from channels.web.server import serve

        return serve(self.settings, host=args.host, port=args.port, out=self.out, workers=args.workers)

    def cmd_calibrate(self, args):
        """Fit the ranking weights and the answer/suggest/decline model (`make calibrate`)."""
        from retrieval import calibrate  # numpy-heavy fitting, only for this verb

        try:
            calibrate.run(self.settings, args.file, dry_run=args.dry_run, out=lambda line: print(line, file=self.out))
        except ValueError as exc:
            print(f"错误: {exc}", file=self.err)
            return EXIT_DATA_ERROR
        return 0

    def cmd_eval(self, args):
        """One set: its figures and misses. Several: the figures side by side; misses only for
        the sets named with --misses (a held-out set's misses are never printed)."""
        reports = [(path, evaluate(self.answerer, load_questions(path), self.settings.followup_seconds)) for path in args.file]
        if len(reports) == 1:
            path, report = reports[0]
            for name, value in report.metrics().items():
                print(f"{name:>24}: {value}", file=self.out)
            shown_misses = [report]
        else:
            names = [Path(p).stem for p, _ in reports]
            print(f"{'':>24}  " + "  ".join(f"{n:>9}" for n in names), file=self.out)
            for metric in reports[0][1].metrics():
                row = [r.metrics().get(metric) for _, r in reports]
                print(f"{metric:>24}: " + "  ".join(f"{'-' if v is None else v:>9}" for v in row), file=self.out)
            wanted = {str(Path(m)) for m in args.misses or ()}
            shown_misses = [r for p, r in reports if str(Path(p)) in wanted]
        for report in shown_misses:
            if report.misses:
                print("\nmisses:", file=self.out)
                for miss in report.misses:
                    print("  " + " | ".join(str(part) for part in miss), file=self.out)
        path, last = reports[-1]
        failures = last.failures()
        print(f"\ntargets ({Path(path).name}): " + ("all met" if not failures else "MISSED: " + "; ".join(failures)), file=self.out)
        return 1 if failures and args.strict else 0

    # -- admin commands --------------------------------------------------------------------
    def cmd_reload(self, args):
        try:
            report = self.assistant.reload(force=args.force)
        except QualityDropError as exc:
            self._say("admin_reload.txt.j2", report=exc.report, refused=True, limit=DIFF_IDS_SHOWN)
            return EXIT_QUALITY_DROP
        self._say("admin_reload.txt.j2", report=report, refused=False, limit=DIFF_IDS_SHOWN)
        return 0

    def cmd_rollback(self, args):
        try:
            report = self.assistant.rollback()
        except NoPreviousBuildError:
            print(self.assistant.render("admin_error.txt.j2", kind="no_previous", error=None), file=self.err)
            return EXIT_NO_PREVIOUS
        self._say("admin_rollback.txt.j2", report=report)
        return 0

    def cmd_check(self, args):
        errors = self.assistant.check()
        print(self.assistant.render("admin_check.txt.j2", errors=[str(e) for e in errors]), file=self.err if errors else self.out)
        return EXIT_DATA_ERROR if errors else 0

    def cmd_add(self, args):
        """Convert a file into knowledge/, show the proposal and the passages, validate (never
        prompts unless stdin is a terminal)."""
        from retrieval import adding

        given = {name: getattr(args, name) for name in adding.FIELDS + ("id",) if getattr(args, name)}
        try:
            draft = adding.prepare(args.file, self.settings, given)
            self._say("admin_add.txt.j2", draft=draft, limit=ADD_PASSAGES_SHOWN)
            if sys.stdin.isatty() and not args.yes and not args.dry_run:
                draft = self._review(draft, adding)
                if draft is None:
                    return EXIT_DECLINED
            if args.dry_run:
                adding.ensure_complete(draft)
                return 0
            added = adding.write(draft, self.settings)
        except DocumentError as exc:
            print(self.assistant.render("admin_add_error.txt.j2", error=exc), file=self.err)
            return EXIT_DATA_ERROR
        self._say("admin_add_done.txt.j2", added=added, knowledge=self.settings.knowledge_dir)
        return 0

    def _review(self, draft, adding):
        """On a terminal: each proposed value offered for change, then one confirmation."""
        answers = {}
        for name in adding.FIELDS:
            if name not in draft.given:
                prompt = self.assistant.render("admin_add_prompt.txt.j2", field=name, value=draft.metadata[name]).strip()
                answer = input(prompt + " ").strip()
                if answer:
                    answers[name] = answer
        if answers:
            draft = adding.revise(draft, answers, self.settings)
            self._say("admin_add.txt.j2", draft=draft, limit=ADD_PASSAGES_SHOWN)
        if draft.problem:
            return draft  # write() refuses it with the field named
        confirm = input(self.assistant.render("admin_add_prompt.txt.j2", field="confirm", value="").strip() + " ").strip().lower()
        return draft if confirm in ("", "y", "yes", "是", "好") else None

    def cmd_report(self, args):
        groups = self.assistant.unanswered(days=args.days, limit=args.limit)
        if args.csv:
            write_csv(groups, args.csv)
        groups = [dataclasses.replace(g, question=printable(g.question), variants=tuple(printable(v) for v in g.variants)) for g in groups]
        dropped = self.assistant.log.dropped(days=args.days)  # questions the log had to let go
        self._say("admin_report.txt.j2", groups=groups, days=args.days, csv=args.csv, dropped=dropped)
        return 0

    def cmd_mask(self, args):
        """One masked line per stdin line: the query log's own masking (a contract for privacy checks)."""
        from retrieval.answer import valid_unicode

        masker = self.answerer.masker  # the build's, as the query log's; DataFileError: exit 2
        for line in self._stdin_lines():
            print(masker.mask(valid_unicode(line.rstrip("\r\n")).strip()), file=self.out)
            self.out.flush()
        return 0

    def _stdin_lines(self):
        # One line per "\n"-terminated line, whatever else it holds (\r, U+2028, bad UTF-8).
        if hasattr(sys.stdin, "buffer"):
            return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline="\n")
        return sys.stdin

    def cmd_purge(self, args):
        days = self.settings.log_retention_days if args.days is None else args.days
        self._say("admin_purge.txt.j2", deleted=self.assistant.purge(days), days=days)
        return 0

    # -- helpers ---------------------------------------------------------------------------
    def _say(self, template, **context):
        print(self.assistant.render(template, **context), file=self.out)

    def _answer_one(self, edge, question, as_json, conversation=None, follow=None, remember=True):
        # A plain batch line stands alone (as it always has); a conversation's lines follow on.
        follow = conversation is not None if follow is None else follow
        outcome = edge.ask("cli", "cli", question, conversation, follow=follow, remember=remember)
        if outcome.answer is not None:
            payload = outcome.answer.as_json()
        else:  # EMPTY or TOO_LONG: the question as received (cut to the limit), the core's wording
            asked = question if outcome.kind in (EMPTY, CHECK) else question[: outcome.limit]
            payload = self._refusal(asked, outcome.kind, outcome.text)
            payload["declined"] = outcome.kind != CHECK  # a guided check's step is not a decline
        if conversation is not None:
            payload["conversation"] = conversation
        if as_json:
            print(json_line(payload), file=self.out)
        else:
            print(payload["answer"], file=self.out)

    def _refusal(self, question, kind, text):
        return {"question": question, "answer": text, "declined": True, "kind": kind, "region": None, "topic": None, "faq_id": None, "sources": [], "suggestions": []}
