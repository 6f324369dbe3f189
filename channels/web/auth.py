"""Staff and admin access: a token (password) from settings, a signed HttpOnly cookie, CSRF tokens.

The cookie is `<issued>.<nonce>.<hmac>`; its key is derived from the configured token, so
changing MINZHENG_STAFF_TOKEN / MINZHENG_ADMIN_TOKEN logs everybody out. Tokens and signatures
are compared in constant time. An empty token disables the area (never "no password"); a token
shorter than MIN_TOKEN_CHARS refuses to start.

Every way a credential is presented - the login form, `Authorization: Bearer`, a `?token=`
link, the session cookie - goes through one `CredentialLimiter`: failures are counted per client and over all
clients, and a client (or, for passwords, everybody) that reaches the limit is answered 429
with Retry-After until the lock-out ends, whatever it presents meanwhile.
"""

import collections
import hashlib
import hmac
import logging
import math
import secrets
import threading
import time
from urllib.parse import parse_qs

from starlette.responses import RedirectResponse
from starlette.routing import Route

from retrieval.errors import SettingsError

from .limits import BodyTooLarge, read_body

log = logging.getLogger(__name__)

MIN_TOKEN_CHARS = 16
FORM_LIMIT = 8 * 1024
TOKEN_SETTINGS = {"staff": "MINZHENG_STAFF_TOKEN", "admin": "MINZHENG_ADMIN_TOKEN"}


def check_tokens(settings):
    """SettingsError when a configured staff or admin password is too short to resist guessing."""
    for name, value in (("staff", settings.staff_token), ("admin", settings.admin_token)):
        if value and len(value) < MIN_TOKEN_CHARS:
            raise SettingsError(f"{TOKEN_SETTINGS[name]} must be at least {MIN_TOKEN_CHARS} characters (it has {len(value)})")
    if settings.staff_token and hmac.compare_digest(settings.staff_token, settings.admin_token):
        # every hotline worker would hold the admin password (fifth attack L5)
        raise SettingsError("MINZHENG_STAFF_TOKEN and MINZHENG_ADMIN_TOKEN must be different passwords")


class CredentialLimiter:
    """Failed credential presentations per client and over all clients, with lock-outs.

    A client with `per_client` failures within `window` seconds is locked out for `lockout`
    seconds; `total` failures from everybody within the window lock out every password
    presentation (signed sessions already issued keep working). Nothing presented during a
    lock-out is checked, so a correct guess cannot end it early or be confirmed by it.
    """

    def __init__(self, per_client=10, total=100, window=600, lockout=900, clock=time.monotonic, max_clients=10_000):
        self.per_client = per_client
        self.total = total
        self.window = window
        self.lockout = lockout
        self.clock = clock
        self.max_clients = max_clients
        self._failures = collections.OrderedDict()  # client -> deque of failure times (at most per_client)
        self._locked = {}  # client -> locked until
        self._all = collections.deque(maxlen=max(total, 1))
        self._all_locked = float("-inf")
        # Presentations being checked right now, per client and in all: they count against the
        # limits until they are known good or bad, so concurrent guesses cannot all slip in
        # before the first failure is counted (the attack: 91 of 200 parallel guesses checked).
        self._pending = collections.Counter()
        self._pending_all = 0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings, clock=time.monotonic):
        return cls(settings.login_failures_per_client, settings.login_failures_total, settings.login_failure_window, settings.login_lockout_seconds, clock)

    def retry_after(self, client, password=True):
        """Seconds this client must wait before a credential is checked (0: check it now)."""
        now = self.clock()
        until = self._locked.get(client, float("-inf"))
        if password:
            until = max(until, self._all_locked)
        return max(0.0, until - now)

    def reserve(self, client, password=True):
        """0 with one presentation of `client` reserved (to be ended by `release`), or the
        seconds to wait: a lock-out, or as many checks in flight as failures the limits allow."""
        with self._lock:
            wait = self.retry_after(client, password)
            if wait > 0:
                return wait
            now = self.clock()
            recent = [t for t in self._failures.get(client, ()) if t > now - self.window]
            if self.per_client and len(recent) + self._pending[client] >= self.per_client:
                return 1.0
            if password and self.total and len([t for t in self._all if t > now - self.window]) + self._pending_all >= self.total:
                return 1.0
            self._pending[client] += 1
            self._pending_all += 1
            return 0.0

    def release(self, client, failed):
        """End a reserved presentation: counted as a failure when it failed."""
        with self._lock:
            self._pending[client] -= 1
            if self._pending[client] <= 0:
                del self._pending[client]
            self._pending_all -= 1
            if failed:
                self._failed_locked(client)

    def failed(self, client):
        """Count one failure of `client`; may start a lock-out."""
        with self._lock:
            self._failed_locked(client)

    def _failed_locked(self, client):
        now = self.clock()
        recent = self._failures.pop(client, None) or collections.deque(maxlen=max(self.per_client, 1))
        recent.append(now)
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        if self.per_client and len(recent) >= self.per_client:
            self._locked[client] = now + self.lockout
            recent.clear()
        self._failures[client] = recent
        self._all.append(now)
        while self._all and self._all[0] <= now - self.window:
            self._all.popleft()
        if self.total and len(self._all) >= self.total:
            self._all_locked = now + self.lockout
            self._all.clear()
        self._bound(now)

    def _bound(self, now):
        """At most max_clients remembered: expired lock-outs go first, then the oldest failures."""
        if len(self._locked) > self.max_clients:
            self._locked = {c: t for c, t in self._locked.items() if t > now}
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)
        while len(self._locked) > self.max_clients:
            self._locked.pop(next(iter(self._locked)))


def client_address(request):
    return request.client.host if request.client else "?"


class Realm:
    """One protected area ('staff' for /lookup, 'admin' for /admin)."""

    def __init__(self, name, token, path, max_age, clock=time.time, revoked=None):
        if token and len(token) < MIN_TOKEN_CHARS:
            raise SettingsError(f"{TOKEN_SETTINGS.get(name, name)} must be at least {MIN_TOKEN_CHARS} characters (it has {len(token)})")
        self.name = name
        self.token = token or ""
        self.path = path  # the cookie is only sent to this path
        self.max_age = max_age
        self.clock = clock
        self.cookie = f"mz_{name}"
        self.revoked = revoked  # RevokedSessions: cookies ended by logout, or None
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

    def bearer(self, request):
        """The token of an `Authorization: Bearer` header, or None when there is none."""
        header = request.headers.get("authorization", "")
        return header[7:].strip() if header.lower().startswith("bearer ") else None

    def cookie_state(self, raw):
        """'none', 'forged' (bad signature: a guess), 'expired', 'revoked' (logged out) or 'valid'."""
        if not raw:
            return "none"
        parts = raw.split(".")
        if len(parts) != 3:
            return "forged"
        if not hmac.compare_digest(self._sign(f"{parts[0]}.{parts[1]}"), parts[2]):
            return "forged"
        try:
            issued = int(parts[0])
        except ValueError:
            return "forged"
        if not 0 <= self.clock() - issued <= self.max_age:
            return "expired"
        if self.revoked is not None and self.revoked.is_revoked(raw):
            return "revoked"
        return "valid"

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
        # compare_digest refuses a str with non-ASCII characters; a real token is hex
        return bool(session) and (given or "").isascii() and hmac.compare_digest(self.csrf_token(session), given or "")


class Gate:
    """The way into one realm (/admin, /lookup): the session check of every request, login and
    logout, all through the app's one CredentialLimiter."""

    def __init__(self, realm, templates, home, limiter=None):
        self.realm = realm
        self.templates = templates
        self.home = home  # where the realm's page is; the forms post to home + "/login"
        self.limiter = limiter or CredentialLimiter(clock=realm.clock)

    def routes(self):
        """POST home/login and home/logout."""
        return [
            Route(self.home + "/login", self.login, methods=["POST"]),
            Route(self.home + "/logout", self.logout, methods=["POST"]),
        ]

    def login_page(self, request, error=None, status_code=401, retry_after=None):
        context = {"realm": self.realm.name, "action": self.home + "/login", "error": error, "enabled": self.realm.enabled}
        response = self.templates.TemplateResponse(request, "login.html", context, status_code=status_code)
        if retry_after is not None:
            response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        return response

    def _locked_out(self, request, client, password):
        """The 429 page, or None with one presentation reserved (end it with `_checked`)."""
        wait = self.limiter.reserve(client, password=password)
        return self.login_page(request, "too_many", 429, retry_after=wait) if wait > 0 else None

    def _checked(self, client, ok, how):
        """The reserved presentation was checked: a failure is counted and logged."""
        self.limiter.release(client, failed=not ok)
        if not ok:
            log.warning("failed %s sign-in (%s) from %s", self.realm.name, how, client)
        return ok

    def session(self, request):
        """(session, None) for a request with a valid Bearer token or cookie, else (None, the
        response to send: the login page, 401, or 429 during a lock-out)."""
        if not self.realm.enabled:
            return None, self.login_page(request)
        client = client_address(request)
        if request.method in ("GET", "HEAD") and "token" in request.query_params:
            return None, self._link_sign_in(request, client, request.query_params["token"])
        given = self.realm.bearer(request)
        if given is not None:
            refused = self._locked_out(request, client, password=True)
            if refused is not None:
                return None, refused
            if self._checked(client, self.realm.token_ok(given), "bearer"):
                return "bearer", None
            return None, self.login_page(request)
        raw = request.cookies.get(self.realm.cookie, "")
        if not raw:
            return None, self.login_page(request)
        state = self.realm.cookie_state(raw)
        if state == "valid":
            # A signed session is no guess, so no lock-out stops it: behind a proxy that is not
            # in MINZHENG_TRUSTED_PROXIES everyone has one address, and one guesser locked out
            # every signed-in hotline worker (fifth attack). Only what is checked is limited.
            return raw, None
        refused = self._locked_out(request, client, password=False)
        if refused is not None:
            return None, refused
        self._checked(client, state != "forged", "cookie")
        return None, self.login_page(request)

    def _link_sign_in(self, request, client, given):
        """A link with ?token= (the URLs `serve` prints, as Jupyter does): the password is
        exchanged for the session cookie and the browser sent to the same address without it,
        so it leaves the address bar and the history entry the page is read from."""
        refused = self._locked_out(request, client, password=True)
        if refused is not None:
            return refused
        if not self._checked(client, self.realm.token_ok(given), "link"):
            return self.login_page(request)
        rest = request.url.remove_query_params("token")
        response = RedirectResponse(rest.path + (f"?{rest.query}" if rest.query else ""), status_code=303)
        response.headers["cache-control"] = "no-store"
        self.realm.set_cookie(response, request, self.realm.new_session())
        return response

    async def login(self, request):
        if not same_origin(request):
            return self.login_page(request, "origin", 403)
        client = client_address(request)
        refused = self._locked_out(request, client, password=True)
        if refused is not None:
            return refused
        try:
            form = await read_form(request)
        except BodyTooLarge:
            self._checked(client, True, "form")  # nothing was presented
            return self.login_page(request, "bad", 413)
        except BaseException:  # the client went away (or the server is stopping): nothing checked
            self._checked(client, True, "form")
            raise
        if not self.realm.enabled:
            self._checked(client, True, "form")
            return self.login_page(request)
        if not self._checked(client, self.realm.token_ok(form.get("token", "")), "form"):
            return self.login_page(request, "wrong")
        response = RedirectResponse(self.home, status_code=303)
        self.realm.set_cookie(response, request, self.realm.new_session())
        return response

    async def logout(self, request):
        raw = request.cookies.get(self.realm.cookie, "")
        if self.realm.revoked is not None and self.realm.cookie_state(raw) == "valid":
            # Ended on the server too: a copy of the cookie no longer opens the area.
            self.realm.revoked.revoke(raw, issued=int(raw.split(".")[0]))
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
    """False when the browser says the request comes from another site (Origin / Sec-Fetch-Site).

    An Origin header, when present, must be this site's: `Origin: null` is what a sandboxed
    iframe, a data: or file: page or a cross-site redirect sends, never one of our own pages, so
    it is refused like a foreign one. A request without Origin (curl, a script, an older
    browser) is judged by Sec-Fetch-Site alone; admin actions still need their CSRF token."""
    site = request.headers.get("sec-fetch-site")
    if site and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is not None:
        return origin == f"{request.url.scheme}://{request.url.netloc}"
    return True
