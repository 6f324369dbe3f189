"""The Composer: a Decision in words. The only module of the core that imports jinja2.

One Environment over templates/ (autoescaped for .html / .html.j2, plain for .txt.j2), so every
channel renders the same Decision with its own templates.
"""

from dataclasses import replace

import jinja2
import markupsafe

from .decision import ANSWER, FACT_MISSING, NOT_COVERED, NOT_FOUND, OUT_OF_SCOPE, SUGGEST

TEMPLATES = {
    ANSWER: "answer.txt.j2",
    "faq": "faq_answer.txt.j2",
    SUGGEST: "suggest.txt.j2",
    OUT_OF_SCOPE: "decline_out_of_scope.txt.j2",
    NOT_FOUND: "decline_not_found.txt.j2",
    "vague": "decline_vague.txt.j2",
    NOT_COVERED: "decline_not_covered.txt.j2",
    "unknown_term": "decline_unknown_term.txt.j2",
    FACT_MISSING: "decline_fact_missing.txt.j2",
    "crisis": "crisis.txt.j2",  # put before the reply to words of suicide or self-harm
}


def environment(templates_dir, shared=None):
    """The one jinja2 Environment: strict, HTML templates autoescaped. `shared`: a folder whose
    templates are found too when `templates_dir` lacks them (the web pages' citation line)."""
    loader = jinja2.FileSystemLoader(str(templates_dir))
    if shared is not None:
        loader = jinja2.ChoiceLoader([loader, jinja2.FileSystemLoader(str(shared))])
    env = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
    )
    env.filters["cn_date"] = cn_date
    return env


def cn_date(day):
    """2026-03-30 -> 2026年3月30日 (as the texts write dates)."""
    year, month, date = day.split("-")
    return f"{int(year)}年{int(month)}月{int(date)}日"


class Composer:
    def __init__(self, templates_dir):
        self.env = environment(templates_dir)

    def render(self, name, **context):
        """Render one template by file name (channels' fixed replies too)."""
        return self.env.get_template(name).render(**context).strip()

    def text(self, decision, suggestions=True, budget=None, templates="", sources=True):
        """The reply for a Decision: plain text (terminal, `ask`, WeChat) by default.

        suggestions=False leaves the numbered "您是不是想问" out (channels that show them as
        buttons), sources=False the 出处 list (the web chat shows the citations under the
        answer, numbered as the quotes refer to them); `budget` caps each quote at that many characters (a channel fitting its
        length limit renders again with a smaller budget); `templates` is a channel folder
        whose own HTML version of a template is used when it has one (telegram/answer.html.j2);
        a template it lacks is rendered as plain text and escaped, so the reply is HTML.
        """
        d = decision
        q = d.query
        shown = tuple(d.suggestions) if suggestions else ()
        followup = q.followup.previous if q is not None and q.followup is not None else None
        quotes = d.quotes if budget is None else tuple(replace(x, text=_shorten(x.text, budget)) for x in d.quotes)
        common = dict(quotes=quotes, sources=d.citations, show_sources=sources, suggestions=shown, region=q.region if q else None, followup=followup)
        render = self._renderer(templates)
        body = self._body(d, render, common, shown, followup)
        if q is not None and q.crisis:  # words of suicide or self-harm: help first, then the cited aid
            return render(TEMPLATES["crisis"]) + "\n\n" + body
        return body

    @staticmethod
    def _body(d, render, common, shown, followup):
        """The reply of the Decision's kind."""
        if d.kind == ANSWER and d.faq is not None:
            return render(TEMPLATES["faq"], answer=d.faq.answer, **common)
        if d.kind == OUT_OF_SCOPE:
            return render(TEMPLATES[OUT_OF_SCOPE], matter=d.matter, channel=d.channel)
        if d.kind == NOT_COVERED and not d.matter:  # focus words no passage contains, named
            return render(TEMPLATES["unknown_term"], terms=list(d.missing), suggestions=shown, region=common["region"], followup=followup)
        if d.kind == NOT_COVERED:
            return render(TEMPLATES[NOT_COVERED], matter=d.matter, channel=d.channel, suggestions=shown, followup=followup)
        if d.kind == FACT_MISSING:
            return render(TEMPLATES[FACT_MISSING], missing=list(d.missing), **common)
        if d.kind == NOT_FOUND and d.vague:
            return render(TEMPLATES["vague"], **common)
        if d.kind == SUGGEST:  # related passages; a word of the question none of them mentions is named
            return render(TEMPLATES[SUGGEST], unknown=list(d.query.unknown) if d.query is not None else [], **common)
        return render(TEMPLATES[d.kind], **common)

    def _renderer(self, folder):
        """render(name, **context) preferring `folder`'s own HTML version of a template."""
        if not folder:
            return self.render

        def render(name, **context):
            own = f"{folder}/{name.removesuffix('.txt.j2')}.html.j2"
            try:
                template = self.env.get_template(own)
            except jinja2.TemplateNotFound:
                return str(markupsafe.escape(self.render(name, **context)))
            return template.render(**context).strip()

        return render


def _shorten(text, chars):
    return text if len(text) <= chars else text[: max(chars - 1, 0)] + "…"
