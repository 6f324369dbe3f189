"""The Composer: a Decision in words. The only module of the core that imports jinja2.

One Environment over templates/ (autoescaped for .html / .html.j2, plain for .txt.j2), so every
channel renders the same Decision with its own templates.
"""

import jinja2

from .decision import ANSWER, FACT_MISSING, NOT_COVERED, NOT_FOUND, OUT_OF_SCOPE, SUGGEST

TEMPLATES = {
    ANSWER: "answer.txt.j2",
    "faq": "faq_answer.txt.j2",
    SUGGEST: "suggest.txt.j2",
    OUT_OF_SCOPE: "decline_out_of_scope.txt.j2",
    NOT_FOUND: "decline_not_found.txt.j2",
    NOT_COVERED: "decline_not_covered.txt.j2",
    "unknown_term": "decline_unknown_term.txt.j2",
    FACT_MISSING: "decline_fact_missing.txt.j2",
}


def environment(templates_dir):
    """The one jinja2 Environment: strict, HTML templates autoescaped."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
    )


class Composer:
    def __init__(self, templates_dir):
        self.env = environment(templates_dir)

    def render(self, name, **context):
        """Render one template by file name (channels' fixed replies too)."""
        return self.env.get_template(name).render(**context).strip()

    def text(self, decision):
        """The plain-text reply for a Decision (terminal, `ask`, WeChat's body)."""
        d = decision
        q = d.query
        common = dict(quotes=d.quotes, sources=d.citations, suggestions=d.suggestions, region=q.region if q else None)
        if d.kind == ANSWER and d.faq is not None:
            return self.render(TEMPLATES["faq"], answer=d.faq.answer, **common)
        if d.kind == OUT_OF_SCOPE:
            return self.render(TEMPLATES[OUT_OF_SCOPE], matter=d.matter, channel=d.channel)
        if d.kind == NOT_COVERED and not d.matter:  # focus words no passage contains, named
            return self.render(TEMPLATES["unknown_term"], terms=list(d.missing), suggestions=d.suggestions, region=common["region"])
        if d.kind == NOT_COVERED:
            return self.render(TEMPLATES[NOT_COVERED], matter=d.matter, channel=d.channel, suggestions=d.suggestions)
        if d.kind == FACT_MISSING:
            return self.render(TEMPLATES[FACT_MISSING], missing=list(d.missing), **common)
        return self.render(TEMPLATES[d.kind], **common)
