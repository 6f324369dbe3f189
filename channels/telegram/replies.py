"""Telegram wording: templates/telegram/*.j2 rendered to HTML, every interpolated value escaped.

`.html.j2` templates are autoescaped, so a question containing `<b>` or `&` reaches the user
as text; `.txt.j2` templates (callback toasts, no parse mode) are not.
"""

import dataclasses
from pathlib import Path

from retrieval.answer import valid_unicode
from retrieval.compose import environment

from .split import MESSAGE_LIMIT, split_html


class Replies:
    def __init__(self, templates_dir, menu):
        self.menu = menu
        self._env = environment(Path(templates_dir) / "telegram", shared=templates_dir)  # .html.j2 autoescaped; the citation line from templates/

    def render(self, template, **context):
        # Lone surrogates (a user's name or /search words from broken clients) would make PTB fail
        # to encode the request; every outgoing text passes through here.
        return valid_unicode(self._env.get_template(template).render(buttons=self.menu.buttons, **context).strip())

    def messages(self, template, **context):
        """One template rendered and split into messages Telegram accepts."""
        return split_html(self.render(template, **context), MESSAGE_LIMIT)

    def plain(self, text):
        """Core wording (plain text, e.g. the empty-question reply) as escaped HTML messages."""
        return self.messages("plain.html.j2", text=text)

    def answer(self, compose, answer):
        """An answer's Decision through the Composer (`compose`: Assistant.compose) with
        templates/telegram/ (FAQ answer, quotes, numbered citations, how a follow-up was read),
        as HTML messages; the suggestions are buttons, so the text leaves them out."""
        html = compose(answer, suggestions=False, templates="telegram")
        return split_html(valid_unicode(html), MESSAGE_LIMIT)

    def sources(self, cited):
        """The full text of cited passages: `cited` is [(Citation, passage)] (Assistant.cited)."""
        shown = [{**dataclasses.asdict(citation), "text": passage["text"]} for citation, passage in cited]
        return self.messages("sources.html.j2", sources=shown)
