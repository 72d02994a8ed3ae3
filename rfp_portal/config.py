"""Settings from the environment, with embedded defaults that need no set-up.

Every variable is documented in the README's Configuration section.
"""

import os
import secrets
from pathlib import Path

TRUTHY = {"1", "true", "yes", "on"}


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in TRUTHY


def normalise_database_url(url: str) -> str:
    """Accept the common spellings of a PostgreSQL URL and use psycopg 3 for all of them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_secret_key(instance_path: Path) -> str:
    """Return the secret key kept in the instance folder, making it on first start.

    The file is written beside its final name and linked into place, so two workers starting at
    once agree on one key, and it is readable by its owner only.
    """
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        tmp = instance_path / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, key_file)
        except FileExistsError:
            pass  # another worker won the race; use its key
        finally:
            tmp.unlink()
    return key_file.read_text().strip()


RATE_LIMIT_DEFAULTS = {
    "RATE_LIMIT_LOGIN_PER_CLIENT": "20 per minute; 100 per hour",
    "RATE_LIMIT_LOGIN_PER_ACCOUNT": "5 per minute; 20 per hour",
    # Failed log-ins from a browser that logged in to the account before (its device cookie):
    # such a browser is not held back by the per-account limit, so guessing cannot lock its
    # owner out, but it has a limit of its own.
    "RATE_LIMIT_LOGIN_PER_DEVICE": "5 per minute; 20 per hour",
    # Accounts created per client (attempts the form refused do not count), and a far higher
    # bound on every registration attempt, for floods and for probing which addresses are taken.
    "RATE_LIMIT_REGISTER_PER_CLIENT": "5 per hour; 20 per day",
    "RATE_LIMIT_REGISTER_ATTEMPTS_PER_CLIENT": "30 per hour; 100 per day",
    "RATE_LIMIT_COMMENT_PER_CLIENT": "20 per minute; 200 per day",
    "RATE_LIMIT_COMMENT_PER_ACCOUNT": "6 per minute; 100 per day",
    "RATE_LIMIT_UPLOAD_PER_CLIENT": "30 per hour",
    "RATE_LIMIT_UPLOAD_PER_ACCOUNT": "20 per hour",
    "RATE_LIMIT_RESET_PER_CLIENT": "10 per hour",
    "RATE_LIMIT_RESET_PER_ADDRESS": "3 per hour",
    "RATE_LIMIT_MAIL_PER_ACCOUNT": "5 per hour",
    # Saves that render Markdown or draw (RFPs, claims, progress, Jams, profiles): costly work.
    "RATE_LIMIT_WRITE_PER_CLIENT": "30 per minute; 300 per hour",
    "RATE_LIMIT_WRITE_PER_ACCOUNT": "15 per minute; 150 per hour",
    # Previews save nothing: generous, and apart from uploads, so trying things out stays free.
    "RATE_LIMIT_PREVIEW_PER_CLIENT": "60 per minute; 1200 per hour",
    "RATE_LIMIT_PREVIEW_PER_ACCOUNT": "30 per minute; 600 per hour",
}


def from_environment(instance_path: Path, overrides: dict | None = None) -> dict:
    """Build the configuration from environment variables and the instance folder.

    ``overrides`` (tests, embedding) win over the environment; a secret key given there means no
    key file is made.
    """
    overrides = overrides or {}
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'rfp_portal.db'}"
    secure = _flag("SECURE_COOKIES")
    settings = {
        "DATABASE_URL": database_url,
        "DEBUG": _flag("FLASK_DEBUG"),
        "UPLOAD_FOLDER": os.environ.get("UPLOAD_FOLDER") or str(instance_path / "uploads"),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 8 * 1024 * 1024)),
        "RFPS_PER_PAGE": int(os.environ.get("RFPS_PER_PAGE", 20)),
        # A listing's count stops here ("more than 10,000 RFPs"), so it costs the same however
        # many RFPs match.
        "LISTING_COUNT_LIMIT": int(os.environ.get("LISTING_COUNT_LIMIT", 10_000)),
        "SQL_ECHO": _flag("SQL_ECHO"),
        "DATABASE_POOL_SIZE": int(os.environ.get("DATABASE_POOL_SIZE", 5)),
        # Seconds SQLite waits for a lock (rfp_portal/db.py): reads briefly, writes a bounded
        # while; a write still locked out gets its form back with "the portal is busy" (503).
        "SQLITE_READ_TIMEOUT": float(os.environ.get("SQLITE_READ_TIMEOUT", 1)),
        "SQLITE_WRITE_TIMEOUT": float(os.environ.get("SQLITE_WRITE_TIMEOUT", 3)),
        "PROXY_COUNT": int(os.environ.get("PROXY_COUNT", 0)),
        "CLAIM_CHECKIN_DAYS": int(os.environ.get("CLAIM_CHECKIN_DAYS", 21)),
        "CLAIM_EXPIRE_DAYS": int(os.environ.get("CLAIM_EXPIRE_DAYS", 30)),
        "MAX_ACTIVE_CLAIMS": int(os.environ.get("MAX_ACTIVE_CLAIMS", 3)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "PREFERRED_URL_SCHEME": "https" if secure else "http",
        "WTF_CSRF_TIME_LIMIT": None,  # a token lives as long as the session, so long forms still post
        "WTF_CSRF_SSL_STRICT": secure,
        # The host names the portal answers to (Flask refuses others with a 400); empty: any.
        "TRUSTED_HOSTS": [
            h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()
        ]
        or None,
        # Whole pages for logged-out readers (rfp_portal/page_cache/); 0 entries turns it off.
        "PAGE_CACHE_ENTRIES": int(os.environ.get("PAGE_CACHE_ENTRIES", 2000)),
        "PAGE_CACHE_BYTES": int(os.environ.get("PAGE_CACHE_BYTES", 64 * 1024 * 1024)),
        "PAGE_CACHE_SECONDS": float(os.environ.get("PAGE_CACHE_SECONDS", 60)),
        # How late the pages that sum up the whole site (home, listing, search, tags, feed, API
        # listing) may be after a write: each is rebuilt at most once in that time.
        "PAGE_CACHE_LAG_SECONDS": float(os.environ.get("PAGE_CACHE_LAG_SECONDS", 2)),
        # Members' headers and the facts their pages depend on, per session (members.py).
        "PAGE_CACHE_READERS": int(os.environ.get("PAGE_CACHE_READERS", 5000)),
        # PostgreSQL: how often a worker re-reads the generation besides the notifications.
        "PAGE_CACHE_POLL_SECONDS": float(os.environ.get("PAGE_CACHE_POLL_SECONDS", 5)),
        # Mail and webhooks (rfp_portal/outbox/): empty MAIL_URL writes .eml files into
        # instance/mail; smtp://user:pass@host:587 (STARTTLS) or smtps://…:465 for real mail.
        "MAIL_URL": os.environ.get("MAIL_URL", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "RFP Portal <rfp-portal@localhost>"),
        # Where links in e-mails and webhook posts point (the address people use).
        "PUBLIC_URL": (
            os.environ.get("PUBLIC_URL") or f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"
        ).rstrip("/"),
        "OUTBOX_MAX_ATTEMPTS": int(os.environ.get("OUTBOX_MAX_ATTEMPTS", 10)),
        "OUTBOX_RETRY_SECONDS": float(os.environ.get("OUTBOX_RETRY_SECONDS", 30)),
        "OUTBOX_POLL_SECONDS": float(os.environ.get("OUTBOX_POLL_SECONDS", 2)),
        # Webhooks may post to loopback addresses (and over http there): tests, development.
        "WEBHOOK_ALLOW_LOOPBACK": _flag("WEBHOOK_ALLOW_LOOPBACK"),
        # Throttling (rfp_portal/limits.py): counts in a file of the instance folder, shared by
        # every worker of this host (rfp_portal/limits_store.py); "redis://…" shares them
        # between hosts, "memory://" keeps them per process.
        "RATELIMIT_ENABLED": not _flag("RATELIMIT_DISABLED"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI")
        or f"rfp-sqlite://{instance_path / 'rate_limits.sqlite3'}",
        **{name: os.environ.get(name, default) for name, default in RATE_LIMIT_DEFAULTS.items()},
    }
    settings.update(overrides)
    settings["DATABASE_URL"] = normalise_database_url(settings["DATABASE_URL"])
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = os.environ.get("SECRET_KEY") or load_secret_key(instance_path)
    return settings
