"""Request bodies read with a size cap, so no client can make us buffer megabytes."""


class BodyTooLarge(Exception):
    """The request body is over the route's limit."""


async def read_body(request, limit):
    """The request body, or BodyTooLarge as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(int(declared))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(size)
        chunks.append(chunk)
    return b"".join(chunks)
