"""Fit a reply into WeChat's passive text limit without losing its citations.

WeChat silently drops a passive text reply over ~2048 UTF-8 bytes (protocols.md 2.7); we keep to
2000. An answer is shortened by cutting its quotes (each “…”[n] keeps its number), never its
sources; only text with no quotes to shorten is cut at the end, on a character boundary.
"""

LIMIT_BYTES = 2000
ELLIPSIS = "…"


def utf8_len(text):
    return len(text.encode("utf-8"))


def cut_bytes(text, limit):
    """The longest prefix of text within `limit` UTF-8 bytes, ending in … when it was cut."""
    if utf8_len(text) <= limit:
        return text
    room = limit - utf8_len(ELLIPSIS)
    return text.encode("utf-8")[: max(room, 0)].decode("utf-8", "ignore") + ELLIPSIS


def shorten(text, chars):
    return text if len(text) <= chars else text[: max(chars - 1, 0)] + ELLIPSIS


def fit_by_budget(render, longest, limit=LIMIT_BYTES):
    """render(budget) with the largest per-piece character budget (1..longest) that fits `limit` bytes.

    render must grow with the budget; when even a budget of 1 is too long, its output is cut
    at the end on a character boundary.
    """
    full = render(longest)
    if utf8_len(full) <= limit:
        return full
    low, high, best = 1, longest - 1, None
    while low <= high:
        mid = (low + high) // 2
        candidate = render(mid)
        if utf8_len(candidate) <= limit:
            best, low = candidate, mid + 1
        else:
            high = mid - 1
    return best if best is not None else cut_bytes(render(1), limit)


def fit_answer(text, quotes, limit=LIMIT_BYTES):
    """The answer text with its quotes shortened just enough to fit `limit` bytes.

    `quotes` are the Answer's Quote(number, text) objects; those whose text appears verbatim
    in `text` are shortened, everything else (numbers, sources, hand-off) is kept.
    """
    if utf8_len(text) <= limit:
        return text
    quoted = [q.text for q in quotes if q.text and q.text in text]
    if not quoted:
        return cut_bytes(text, limit)

    def render(chars):
        out = text
        for q in quoted:
            out = out.replace(q, shorten(q, chars), 1)
        return out

    return fit_by_budget(render, max(len(q) for q in quoted), limit)
