"""Settings, read once from the environment (or a dict in tests) and passed down.

Each field names its environment variable in its metadata; by default it is `MINZHENG_` plus
the field name in capitals. Secrets are excluded from `repr()` so they never reach a log.
"""

from dataclasses import dataclass, field, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(name, default, secret=False):
    return field(default=default, metadata={"env": name}, repr=not secret)


@dataclass(frozen=True)
class Settings:
    # knowledge and answering
    knowledge_dir: Path = ROOT / "knowledge"
    faq_dir: Path = ROOT / "faq"
    templates_dir: Path = ROOT / "templates"
    store_path: Path = ROOT / "var" / "store.db"
    max_question_chars: int = 2000
    answer_max_chars: int = 600
    top_k: int = 5
    reload_quality_questions: Path = None  # None: ../shared/eval/dev.jsonl if present, else tests/data/golden_questions.jsonl
    reload_max_quality_drop: float = 0.03  # reload refuses to swap when hit@3 drops by more (unless forced)
    add_max_mb: int = 20  # `bot.py add` refuses a larger file
    # what converting one added file may cost (retrieval/formats/limits.py): a .docx is a zip
    add_max_unpacked_mb: int = 100  # all its entries unpacked
    add_max_entry_mb: int = 30  # one entry unpacked
    add_max_ratio: int = 100  # unpacked / packed of one entry over 1 MB
    add_max_entries: int = 1000  # zip entries
    add_max_pages: int = 2000  # PDF pages
    add_max_html_depth: int = 100  # elements nested in a web page
    add_max_seconds: int = 60  # converting one file (OCR of a scan excepted)
    # the admin page's uploads not yet accepted or cancelled (var/uploads/)
    add_preview_hours: int = 24  # removed once older
    add_max_previews: int = 20  # the oldest removed beyond this many
    # query log and feedback (issue 6)
    log_path: Path = ROOT / "var" / "log.db"
    log_key: str = field(default="", repr=False)  # HMAC key for user ids; empty: a generated key file in log_key_dir
    log_key_dir: Path = None  # the 0700 folder of the generated key file; None: keys/ in the log's folder
    log_retention_days: int = 180
    # seconds an answer waits for its log row to be written before it is sent; 0: never waits (a
    # process killed with rows still queued loses them). `serve --workers N` deployments: 1
    log_wait_seconds: float = 0.0
    # PostgreSQL for what must last across workers and machines: the query log, feedback, accepted
    # builds (empty: the embedded default, SQLite and files in var/)
    database_url: str = field(default="", repr=False)  # postgresql://user:password@host/db; may hold a password
    database_pool_size: int = 4  # connections per process
    database_timeout: float = 2.0  # seconds to wait for a connection before the log queues and retries
    # per-user flood protection on every channel
    rate_limit_per_minute: int = 12
    # questions a minute from one address on /chat, whatever user ids it presents (ids are the client's to choose)
    address_rate_limit_per_minute: int = 60
    followup_seconds: int = 600  # a question this long after the previous one stands on its own
    feedback_per_minute: int = 6  # 👍/👎 per user per minute (one vote per answer in any case)
    # 👍/👎 a minute from one address on /chat, whatever user ids (cookies) it presents
    address_feedback_per_minute: int = 12
    # web service (WeChat, /lookup, /chat, /admin)
    host: str = "127.0.0.1"
    port: int = 8000
    header_timeout: float = 10.0  # seconds a client may take to send a request's line and headers
    staff_token: str = field(default="", repr=False)
    admin_token: str = field(default="", repr=False)
    # failed password / session presentations (login form, Bearer, cookie) before a lock-out
    login_failures_per_client: int = 10
    login_failures_total: int = 100  # over all clients: guessing spread over many addresses
    login_failure_window: int = 600  # seconds a failure counts
    login_lockout_seconds: int = 900
    # where logged-out web sessions are remembered (revoked-staff.txt, revoked-admin.txt); None: the log's folder
    session_revocation_dir: Path = None
    # reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated addresses)
    trusted_proxies: str = ""
    # `serve` with no staff/admin token: passwords generated once and kept here; None: the log's folder
    credentials_path: Path = None
    # the zone admin pages show times in (the query log and store keep the server's own clock)
    timezone: str = "Asia/Shanghai"
    # the date answers are as of (YYYY-MM-DD); empty: today in `timezone`
    as_of: str = ""
    # shared short-lived state (rate limits, conversations, WeChat duplicates, login failures) for
    # several workers: redis://host:6379/0 or unix:///path/redis.sock; empty: in this process
    redis_url: str = field(default="", repr=False)  # may carry a password
    # Telegram
    telegram_bot_token: str = _env("TELEGRAM_BOT_TOKEN", "", secret=True)
    telegram_api_base_url: str = _env("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot")
    telegram_admin_ids: frozenset = _env("TELEGRAM_ADMIN_IDS", frozenset())
    telegram_staff_ids: frozenset = _env("TELEGRAM_STAFF_IDS", frozenset())
    telegram_webhook_url: str = _env("TELEGRAM_WEBHOOK_URL", "")  # empty: long polling
    telegram_webhook_secret: str = _env("TELEGRAM_WEBHOOK_SECRET", "", secret=True)
    # WeChat Official Account
    wechat_token: str = _env("WECHAT_TOKEN", "", secret=True)
    wechat_aes_key: str = _env("WECHAT_AES_KEY", "", secret=True)
    wechat_appid: str = _env("WECHAT_APPID", "")
    wechat_mode: str = _env("WECHAT_MODE", "")  # plain, safe or compat; empty: safe with WECHAT_AES_KEY, else plain
    wechat_appsecret: str = _env("WECHAT_APPSECRET", "", secret=True)
    wechat_api_base_url: str = _env("WECHAT_API_BASE_URL", "https://api.weixin.qq.com")

    @property
    def add_max_bytes(self):
        return self.add_max_mb * 1024 * 1024

    @property
    def session_revocation_folder(self):
        return Path(self.session_revocation_dir) if self.session_revocation_dir else Path(self.log_path).parent

    @property
    def credentials_file(self):
        return Path(self.credentials_path) if self.credentials_path else Path(self.log_path).parent / "web-credentials.toml"

    @classmethod
    def from_env(cls, environ):
        """Build settings from a mapping such as os.environ; unknown keys are ignored."""
        values = {}
        for f in fields(cls):
            key = f.metadata.get("env", "MINZHENG_" + f.name.upper())
            raw = environ.get(key, "")
            if raw != "":
                values[f.name] = _parse(f.type, raw)
        return cls(**values)


def _parse(kind, raw):
    if kind in (Path, "Path"):
        return Path(raw)
    if kind in (int, "int"):
        return int(raw)
    if kind in (float, "float"):
        return float(raw)
    if kind in (frozenset, "frozenset"):
        return frozenset(int(part) for part in raw.replace(";", ",").split(",") if part.strip())
    return raw
