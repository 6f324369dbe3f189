"""Mark the matched query words in a passage: text -> [(piece, matched?)], for <mark> in templates."""


def segments(text, terms):
    """Split text into pieces, flagging every occurrence of a term (case-insensitive, longest first)."""
    terms = sorted({t for t in terms if t and t.strip()}, key=len, reverse=True)
    if not terms or not text:
        return [(text, False)] if text else []
    lowered = text.lower()
    marked = [False] * len(text)
    for term in terms:
        needle = term.lower()
        start = lowered.find(needle)
        while start != -1:
            end = start + len(needle)
            if not any(marked[start:end]):
                marked[start:end] = [True] * (end - start)
            start = lowered.find(needle, end)
    pieces, start = [], 0
    for i in range(1, len(text) + 1):
        if i == len(text) or marked[i] != marked[start]:
            pieces.append((text[start:i], marked[start]))
            start = i
    return pieces
