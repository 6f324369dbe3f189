"""Split Telegram HTML into messages under the length limit, at paragraph boundaries if possible.

Telegram counts a message's length after parsing the HTML (tags count 0, an entity 1) in
UTF-16 code units, and rejects more than 4096. A cut never falls inside a tag or an entity;
tags open at a cut are closed at the end of one message and reopened at the start of the next.
"""

import re

MESSAGE_LIMIT = 4000  # Telegram's limit is 4096; keep a margin
_TOKEN = re.compile(r"<[^>]*>|&#?\w+;|[^<&]|[<&]", re.S)
_OPEN = re.compile(r"^<\s*([a-zA-Z][\w-]*)")
_CLOSE = re.compile(r"^<\s*/\s*([a-zA-Z][\w-]*)")
_SENTENCE_END = frozenset("。！？!?；;")


def visible_length(html):
    """Length as Telegram counts it: text after HTML parsing, in UTF-16 code units."""
    return sum(_units(t) for t in _TOKEN.findall(html))


def split_html(html, limit=MESSAGE_LIMIT):
    """Messages of at most `limit` visible units each, cut at the best boundary before the limit."""
    tokens = _TOKEN.findall(html.strip())
    messages = []
    while tokens:
        cut = _cut(tokens, limit)
        head, tokens = tokens[:cut], tokens[cut:]
        stack = _open_tags(head)
        while tokens and tokens[0].isspace():  # no message starts with blank lines
            tokens.pop(0)
        if tokens:
            tokens = [tag for _, tag in stack] + tokens
        text = "".join(head + [f"</{name}>" for name, _ in reversed(stack)]).strip()
        if visible_length(text) > 0:
            messages.append(text)
    return messages


def _units(token):
    if token.startswith("<") and len(token) > 1:
        return 0
    if token.startswith("&") and len(token) > 1:
        return 1
    return 2 if ord(token) > 0xFFFF else 1


def _cut(tokens, limit):
    """Index to cut before: all tokens if they fit, else the last paragraph, line or sentence end
    that fits (a paragraph end only if it keeps at least half the limit), else a hard cut."""
    used = 0
    best = {"paragraph": (0, 0), "line": (0, 0), "sentence": (0, 0)}  # kind -> (index, units before it)
    for i, token in enumerate(tokens):
        used += _units(token)
        if used > limit:
            for kind in ("paragraph", "line", "sentence"):
                index, units = best[kind]
                if index and units >= limit // 2:
                    return index
            index = max(index for index, _ in best.values())
            return index or max(i, 1)
        if token == "\n":
            best["line"] = (i + 1, used)
            if i > 0 and tokens[i - 1] == "\n":
                best["paragraph"] = (i + 1, used)
        elif token in _SENTENCE_END:
            best["sentence"] = (i + 1, used)
    return len(tokens)


def _open_tags(tokens):
    """The tags still open after `tokens`, outermost first, as (name, opening tag)."""
    stack = []
    for token in tokens:
        if not token.startswith("<") or len(token) == 1:
            continue
        close = _CLOSE.match(token)
        if close:
            name = close.group(1).lower()
            for i in range(len(stack) - 1, -1, -1):
                if stack[i][0] == name:
                    del stack[i:]
                    break
            continue
        opened = _OPEN.match(token)
        if opened and not token.endswith("/>"):
            stack.append((opened.group(1).lower(), token))
    return stack
