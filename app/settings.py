"""Configuration, read once from the environment (prefix ``GUILDHALL_``)."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob Guildhall reads. Defaults give the embedded mode (`make run`)."""

    model_config = SettingsConfigDict(env_prefix="GUILDHALL_", env_file=None, extra="ignore")

    # Database. `database_url` is what the app connects with; on PostgreSQL it must be a role
    # that does not own the tables, so row-level security applies. `migrate_database_url` is
    # the owner role that runs Alembic (defaults to `database_url`).
    database_url: str = "sqlite:///data/guildhall.db"
    migrate_database_url: str | None = None
    db_app_role: str | None = Field(
        default=None, description="PostgreSQL role granted table access after migrations."
    )
    # Nothing waits on PostgreSQL forever (app/db.py): the connection handshake, a
    # statement (cancelled by the server), waiting for a pooled connection, and any round
    # trip to a hung server (statement timeout + `db_deadline_margin_seconds`, client-side).
    db_connect_timeout_seconds: int = 5
    db_statement_timeout_seconds: int = 10
    db_pool_timeout_seconds: int = 5
    db_deadline_margin_seconds: int = 2
    # The pool's liveness ping of a pooled connection before reuse (`SELECT 1`) waits at
    # most this long, so a hung server costs ping + connect timeout, not a statement's time.
    db_ping_timeout_seconds: int = 2

    # Redis: enables the Redis state manager, pub/sub fan-out and shared rate limits.
    redis_url: str | None = None
    # Socket timeouts of the app's own Redis clients (rate limits, publishing, health).
    redis_socket_timeout_seconds: float = 3.0

    # The port `reflex run --env prod` serves on (rxconfig.py); the default site is on it.
    port: int = 3000
    # A backend worker whose memory passes this many MB is replaced (0: never).
    worker_max_rss_mb: int = 0
    base_url: str = Field(default_factory=lambda data: f"http://localhost:{data['port']}")
    secret_key: str = "dev-insecure-change-me"

    # Sessions.
    session_cookie_name: str = "gh_session"
    session_idle_minutes: int = 60 * 12
    session_absolute_hours: int = 24 * 14
    login_ticket_seconds: int = 60

    # Sign-in throttling: failures allowed per window, per account and per IP.
    login_max_failures_per_account: int = 5
    login_max_failures_per_ip: int = 20
    login_failure_window_seconds: int = 15 * 60

    # Tokens.
    invite_ttl_days: int = 7
    password_reset_ttl_minutes: int = 60
    signup_ttl_hours: int = 24

    # Mail: with no SMTP host, mail is recorded in the mail log (embedded mode).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "Guildhall <no-reply@guildhall.example.com>"

    # File storage: a local directory unless an S3 bucket is set (then S3 via boto3, any
    # S3-compatible store through `s3_endpoint_url`).
    storage_dir: str = "data/files"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    # Private S3 files are handed out as presigned URLs (a redirect) valid this long, unless
    # `s3_proxy_downloads` makes the app stream them itself (S3 endpoint not browser-reachable).
    s3_presign_seconds: int = 300
    s3_proxy_downloads: bool = False
    # Largest accepted uploads for lessons (checked on the server as the bytes arrive).
    max_video_mb: int = 500
    max_file_mb: int = 50

    # Jobs: run the outbox worker on a thread inside each app process (the embedded mode);
    # scaled deployments set this false and run `python -m app.worker` processes instead.
    worker_in_process: bool = True
    # How long a job a worker died in waits before another worker takes it over. Each job
    # has its own lease, from when it starts; a live worker renews it every third of this.
    outbox_lease_seconds: int = 30
    # How many due jobs a worker runs per pass (claimed one at a time, as each starts).
    outbox_batch_size: int = 50

    # Argon2 cost; tests lower it to keep the suite fast.
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 64 * 1024

    @property
    def effective_migrate_url(self) -> str:
        """The URL Alembic connects with."""
        return self.migrate_database_url or self.database_url

    @property
    def is_postgres(self) -> bool:
        """Whether the database is PostgreSQL (row-level security applies)."""
        return self.database_url.startswith("postgresql")

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry `Secure` when the app is served over HTTPS."""
        return self.base_url.startswith("https://")

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        """The origins our own pages are served from (see `allowed_origins`)."""
        return allowed_origins(self.base_url)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """The origin (`scheme://host[:port]`, lower case, no default port) of a URL; "" for
    anything without one (`null`, a path, a bad port)."""
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        return ""
    if not scheme or not host:
        return ""
    shown = f"[{host}]" if ":" in host else host  # an IPv6 literal
    netloc = shown if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{shown}:{port}"
    return f"{scheme}://{netloc}"


def allowed_origins(base_url: str) -> tuple[str, ...]:
    """The site's origin and, for a loopback site, its localhost/127.0.0.1 twin.

    The one list of where our pages come from: socket.io's `cors_allowed_origins`
    (rxconfig.py), the Origin check on state-changing requests and the CSP's `connect-src`.
    """
    origin = origin_of(base_url)
    for host, twin in (("localhost", "127.0.0.1"), ("127.0.0.1", "localhost")):
        if urlsplit(origin).hostname == host:
            return (origin, origin.replace(f"//{host}", f"//{twin}", 1))
    return (origin,)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache to change them)."""
    return Settings()
