"""The terminal channel: `ask`, `search`, `chat`, `build`, `eval` over the answering core."""

import json
import sys

from retrieval.answer import Answerer
from retrieval.errors import DataFileError, EmptyQuestionError, QuestionTooLongError, StoreError
from retrieval.evaluation import evaluate, load_questions
from retrieval.library import Library

EXIT_DATA_ERROR = 2


class Cli:
    """One answering core, worded for a terminal. Library errors become messages here only."""

    def __init__(self, settings, out=sys.stdout, err=sys.stderr):
        self.settings = settings
        self.library = Library(settings)
        self.answerer = Answerer(self.library, settings)
        self.out = out
        self.err = err

    def run(self, command, args):
        try:
            return getattr(self, "cmd_" + command)(args)
        except (DataFileError, StoreError) as exc:
            print(f"错误: {exc}", file=self.err)
            return EXIT_DATA_ERROR

    # -- commands --------------------------------------------------------------------------
    def cmd_ask(self, args):
        if args.question:
            self._answer_one(" ".join(args.question), args.json)
            return 0
        self.library.snapshot  # load once before the first line, not per line
        for line in sys.stdin:
            line = line.rstrip("\r\n")
            if args.json:
                self._answer_one(line, True)
            elif line.strip():
                self._answer_one(line, False)
                print("", file=self.out)
            self.out.flush()
        return 0

    def cmd_search(self, args):
        result = self.library.search(" ".join(args.query), k=args.k)
        if args.json:
            payload = {"query": result.question, "region": result.region, "results": [h.as_source() for h in result.hits]}
            print(json.dumps(payload, ensure_ascii=False), file=self.out)
            return 0
        if not result.hits:
            print("没有找到相关段落。", file=self.out)
        for n, hit in enumerate(result.hits, 1):
            source = hit.as_source()
            print(f"{n}. [{source['score']:.3f}] {source['id']}", file=self.out)
            print(f"   《{source['title']}》 {source['date']} › {source['section']}", file=self.out)
            print(f"   {source['text'][:120]}", file=self.out)
        return 0

    def cmd_build(self, args):
        report = self.library.build()
        print(
            f"已构建: {report.documents} 个文件, {report.passages} 个段落 "
            f"(新分词 {report.tokenized}, 复用 {report.reused}), 输入指纹 {report.input_hash}",
            file=self.out,
        )
        return 0

    def cmd_chat(self, args):
        print("民政小助手: 请输入您的问题(输入 exit 或按 Ctrl-D 退出)。", file=self.out)
        while True:
            try:
                line = input("> ")
            except (EOFError, KeyboardInterrupt):
                print("", file=self.out)
                return 0
            if line.strip().lower() in ("exit", "quit", "退出"):
                return 0
            self._answer_one(line, False)
            print("", file=self.out)

    def cmd_serve(self, args):
        from channels.web.server import serve

        return serve(self.settings, host=args.host, port=args.port, out=self.out)

    def cmd_eval(self, args):
        report = evaluate(self.answerer, load_questions(args.file))
        metrics = report.metrics()
        for name, value in metrics.items():
            print(f"{name:>24}: {value}", file=self.out)
        if report.misses:
            print("\nmisses:", file=self.out)
            for miss in report.misses:
                print("  " + " | ".join(str(part) for part in miss), file=self.out)
        failures = report.failures()
        print("\ntargets: " + ("all met" if not failures else "MISSED: " + "; ".join(failures)), file=self.out)
        return 1 if failures and args.strict else 0

    # -- helpers ---------------------------------------------------------------------------
    def _answer_one(self, question, as_json):
        try:
            answer = self.answerer.ask(question)
            payload = answer.as_json()
        except EmptyQuestionError:
            payload = self._refusal(question, "empty", self.answerer.render("empty_question.txt.j2"))
        except QuestionTooLongError as exc:
            text = self.answerer.render("question_too_long.txt.j2", length=exc.length, limit=exc.limit)
            payload = self._refusal(question[: self.settings.max_question_chars], "too_long", text)
        if as_json:
            print(json.dumps(payload, ensure_ascii=False), file=self.out)
        else:
            print(payload["answer"], file=self.out)

    def _refusal(self, question, kind, text):
        return {"question": question, "answer": text, "declined": True, "kind": kind, "region": None, "topic": None, "faq_id": None, "sources": [], "suggestions": []}
