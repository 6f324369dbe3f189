"""Staff and admin access: a token (password) from settings, a signed HttpOnly cookie, CSRF tokens.

The cookie is `<issued>.<nonce>.<hmac>`; its key is derived from the configured token, so
changing MINZHENG_STAFF_TOKEN / MINZHENG_ADMIN_TOKEN logs everybody out. Tokens and signatures
are compared in constant time. An empty token disables the area (never "no password").
"""

import hashlib
import hmac
import secrets
import time
from urllib.parse import parse_qs

from starlette.responses import RedirectResponse
from starlette.routing import Route

from retrieval.ratelimit import RateLimiter

from .limits import BodyTooLarge, read_body

LOGIN_ATTEMPTS_PER_MINUTE = 10

FORM_LIMIT = 8 * 1024


class Realm:
    """One protected area ('staff' for /lookup, 'admin' for /admin)."""

    def __init__(self, name, token, path, max_age, clock=time.time):
        self.name = name
        self.token = token or ""
        self.path = path  # the cookie is only sent to this path
        self.max_age = max_age
        self.clock = clock
        self.cookie = f"mz_{name}"
        self._key = hashlib.sha256(f"minzheng-web:{name}:{self.token}".encode("utf-8")).digest()

    @property
    def enabled(self):
        return bool(self.token)

    def token_ok(self, given):
        if not self.enabled or not given:
            return False
        return hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8"))

    def _sign(self, value):
        return hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def new_session(self):
        """A fresh signed cookie value."""
        value = f"{int(self.clock())}.{secrets.token_hex(8)}"
        return f"{value}.{self._sign(value)}"

    def session(self, request):
        """The valid session value of this request (cookie or Bearer token), or None."""
        if not self.enabled:
            return None
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer ") and self.token_ok(header[7:].strip()):
            return "bearer"
        raw = request.cookies.get(self.cookie, "")
        parts = raw.split(".")
        if len(parts) != 3:
            return None
        value = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(value), parts[2]):
            return None
        try:
            issued = int(parts[0])
        except ValueError:
            return None
        if not 0 <= self.clock() - issued <= self.max_age:
            return None
        return raw

    def set_cookie(self, response, request, value):
        response.set_cookie(
            self.cookie,
            value,
            max_age=self.max_age,
            path=self.path,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def clear_cookie(self, response):
        response.delete_cookie(self.cookie, path=self.path)

    def csrf_token(self, session):
        """The form token bound to one session (double-submit is not needed: it is an HMAC)."""
        return self._sign("csrf:" + (session or ""))

    def csrf_ok(self, session, given):
        return bool(session) and hmac.compare_digest(self.csrf_token(session), given or "")


class Gate:
    """The login and logout of one realm (/admin, /lookup): same-origin check, a limit on
    attempts per client address, the token check, and the session cookie."""

    def __init__(self, realm, templates, home):
        self.realm = realm
        self.templates = templates
        self.home = home  # where the realm's page is; the forms post to home + "/login"
        self.attempts = RateLimiter(LOGIN_ATTEMPTS_PER_MINUTE)

    def routes(self):
        """POST home/login and home/logout."""
        return [
            Route(self.home + "/login", self.login, methods=["POST"]),
            Route(self.home + "/logout", self.logout, methods=["POST"]),
        ]

    def login_page(self, request, error=None, status_code=401):
        context = {"realm": self.realm.name, "action": self.home + "/login", "error": error, "enabled": self.realm.enabled}
        return self.templates.TemplateResponse(request, "login.html", context, status_code=status_code)

    async def login(self, request):
        if not same_origin(request):
            return self.login_page(request, "origin", 403)
        client = request.client.host if request.client else "?"
        if not self.attempts.allow((self.realm.name + "-login", client)):
            return self.login_page(request, "too_many", 429)
        try:
            form = await read_form(request)
        except BodyTooLarge:
            return self.login_page(request, "bad", 413)
        if not self.realm.token_ok(form.get("token", "")):
            return self.login_page(request, "wrong")
        response = RedirectResponse(self.home, status_code=303)
        self.realm.set_cookie(response, request, self.realm.new_session())
        return response

    async def logout(self, request):
        response = RedirectResponse(self.home, status_code=303)
        self.realm.clear_cookie(response)
        return response


async def read_form(request, limit=FORM_LIMIT):
    """An urlencoded form body (capped) as {name: first value}."""
    body = await read_body(request, limit)
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in parsed.items()}


def same_origin(request):
    """False when the browser says the request comes from another site (Origin / Sec-Fetch-Site)."""
    site = request.headers.get("sec-fetch-site")
    if site and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin and origin != "null":
        return origin == f"{request.url.scheme}://{request.url.netloc}"
    return True
