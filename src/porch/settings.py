"""One settings class, read from PORCH_* variables and an optional .env file."""

from __future__ import annotations

import ipaddress
import secrets
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ModelPrice(BaseModel):
    """US dollars per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


# Public list prices at the time of writing; override with PORCH_LLM_PRICES.
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
    "gpt-4o": {"input": 2.50, "output": 10.00},
    "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
    "gpt-4.1": {"input": 2.00, "output": 8.00},
    "claude-3-5-haiku-latest": {"input": 0.80, "output": 4.00},
    "claude-sonnet-4-5": {"input": 3.00, "output": 15.00},
    "extractive": {"input": 0.0, "output": 0.0},
}


class Settings(BaseSettings):
    """Every knob porch has. Invalid values stop start-up with the variable's name."""

    model_config = SettingsConfigDict(
        env_prefix="PORCH_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Where the SQLite file, the generated secret key and uploads live.
    data_dir: Path = Path("./data")
    # SQLite by default; postgresql+asyncpg://user@host/db for scale-out.
    database_url: str | None = None
    # Connections each process keeps open to PostgreSQL.
    database_pool_size: int = Field(default=20, ge=1, le=200)
    # Extra connections a process may open under load, each closed again as soon as it is
    # returned. Opening one costs PostgreSQL a new backend process and porch its prepared
    # statements, so by default a burst waits for a pooled connection instead.
    database_max_overflow: int = Field(default=0, ge=0, le=200)
    # Unset keeps cache, rate limits and pub/sub in-process.
    redis_url: str | None = None
    # Signs sessions and encrypts secrets at rest; generated into the data dir when unset.
    secret_key: SecretStr | None = None
    # Public base URL used in embed snippets, e.g. https://chat.example.com.
    public_url: str = "http://127.0.0.1:8000"
    # development or production. A PORCH_PUBLIC_URL that is not a loopback address counts as
    # production too: then the /demo page is off unless PORCH_DEMO_PAGE turns it on.
    env: Literal["development", "production"] = "development"
    # The /demo page (a pretend product site embedding the oldest widget); unset: on in
    # development, off in production.
    demo_page: bool | None = None
    # Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto porch believes: addresses
    # or networks, comma-separated (10.0.0.5, 10.1.0.0/16), or * for any. Unset: none, so the
    # connecting address is the client's, for per-IP limits and the audit log alike.
    trusted_proxies: str = ""
    # Bearer token that opens /metrics and /status from anywhere. Unset: they answer only
    # requests from this machine (loopback) that came through no proxy. Never logged.
    ops_token: SecretStr | None = None
    # Whether anyone may sign up once the first owner exists.
    allow_signup: bool = False
    # Default answerer for widgets that name none: extractive, openai or anthropic.
    llm_provider: Literal["extractive", "openai", "anthropic"] = "extractive"
    # Model name for the default provider, e.g. gpt-4o-mini, llama3.1, claude-sonnet-4-5.
    llm_model: str | None = None
    # OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp server…) or an Anthropic proxy.
    llm_base_url: str | None = None
    # The provider's API key; never logged.
    llm_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("PORCH_LLM_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"),
    )
    # Seconds to wait for the provider's first token, and between tokens after that.
    llm_timeout: float = Field(default=30.0, gt=0, le=600)
    # Attempts before the first token only; a stream that has begun is never replayed.
    llm_retries: int = Field(default=2, ge=0, le=10)
    # Consecutive failures that open a provider's circuit breaker.
    llm_breaker_failures: int = Field(default=5, ge=1, le=1000)
    # Seconds an open breaker waits before letting one trial request through.
    llm_breaker_reset_seconds: float = Field(default=30.0, gt=0, le=3600)
    # US dollars per million tokens, by model name (JSON object); merged over built-in prices.
    llm_prices: dict[str, ModelPrice] = Field(default_factory=dict)
    # Server-side fetching of private and loopback addresses (crawling, webhooks).
    crawl_allow_private_networks: bool = False
    # Passage embeddings: minilm (offline, built in), openai (any OpenAI-compatible
    # endpoint) or none (keywords only).
    embeddings: Literal["minilm", "openai", "none"] = "minilm"
    # Embedding model for PORCH_EMBEDDINGS=openai, e.g. text-embedding-3-small, nomic-embed-text.
    embeddings_model: str | None = None
    # Endpoint for PORCH_EMBEDDINGS=openai; defaults to PORCH_LLM_BASE_URL.
    embeddings_base_url: str | None = None
    # API key for PORCH_EMBEDDINGS=openai; defaults to PORCH_LLM_API_KEY. Never logged.
    embeddings_api_key: SecretStr | None = None
    # Runs of the built-in embedding model at once while ingesting, one CPU thread each.
    embeddings_threads: int = Field(default=2, ge=1, le=64)
    # Passages per run of the built-in model; runs are sorted by length so padding stays
    # small (small batches were fastest here: 4 ran 9 % faster than 16).
    embeddings_batch_size: int = Field(default=4, ge=1, le=256)
    # Passages per request to an OpenAI-compatible /embeddings endpoint; lower it for a
    # server that caps a request's inputs (some default to 32).
    embeddings_request_inputs: int = Field(default=64, ge=1, le=2048)
    # Passages whose similarity to the question is below this are not given to the assistant
    # (unless keyword evidence backs them). Unset: it follows the size of each widget's
    # knowledge base (0.25 for one passage up to 0.40); a widget's own setting overrides both.
    search_min_similarity: float | None = Field(default=None, ge=-1.0, le=1.0)
    # A curated answer matches a visitor's question at this score or above, unless the
    # answer sets its own threshold (0.0 then means every question matches the best one).
    curated_threshold: float = Field(default=0.62, ge=0.0, le=1.0)
    # Seconds a process keeps a widget's curated answers in memory between changes it was
    # told of (a change anywhere drops them at once; this bounds a missed notice).
    curated_cache_seconds: float = Field(default=60.0, ge=0.0, le=86_400)
    # Seconds between looks for changes to a widget's knowledge, curated answers, prompt or
    # model; 0 turns the automatic eval runs off.
    eval_watch_seconds: float = Field(default=30.0, ge=0.0, le=86_400)
    # Seconds a widget must stay unchanged before its eval cases run again after a change.
    eval_debounce_seconds: float = Field(default=60.0, ge=0.0, le=86_400)
    # The judge for eval cases' rubric assertions: a provider and model (never the offline
    # answerer); unset, rubric assertions are reported as skipped.
    eval_judge_provider: Literal["openai", "anthropic"] | None = None
    eval_judge_model: str | None = None
    # The judge's endpoint and key; unset, those of the default provider (PORCH_LLM_*).
    eval_judge_base_url: str | None = None
    eval_judge_api_key: SecretStr | None = None
    # Memory, in megabytes, for the in-memory vector matrices of all widgets of a process.
    search_cache_mb: int = Field(default=1024, ge=16)
    # Crawl politeness: requests in flight per host.
    crawl_concurrency: int = Field(default=4, ge=1, le=32)
    # Pages a crawl stores when its source sets no max_pages; also the cap on any max_pages.
    crawl_max_pages: int = Field(default=500, ge=1, le=100_000)
    # Largest page or sitemap fetched, in bytes; bigger ones are skipped.
    crawl_page_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # Seconds one page may take to arrive.
    crawl_timeout: float = Field(default=20.0, gt=0, le=300)
    # Extra attempts for a page that times out or answers 429/5xx, with backoff.
    crawl_retries: int = Field(default=2, ge=0, le=10)
    # The User-Agent sent by the crawler; robots.txt rules for "porch" apply to it.
    crawl_user_agent: str = "porch/0.1 (+https://github.com/porch-chat/porch; knowledge crawler)"
    # Largest uploaded document (PDF, DOCX, PPTX, XLSX, HTML, Markdown, text, CSV), in bytes.
    upload_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    # Where background jobs run: auto (a Redis queue served by `porch worker` when
    # PORCH_REDIS_URL is set, else in-process), memory or redis.
    jobs_queue: Literal["auto", "memory", "redis"] = "auto"
    # Sources one process syncs at the same time.
    jobs_concurrency: int = Field(default=2, ge=1, le=64)
    # Seconds a running ingestion job may go silent before another process takes it over.
    job_lease_seconds: int = Field(default=120, ge=5, le=86_400)
    # Seconds between checks for scheduled re-syncs and abandoned jobs.
    job_check_seconds: float = Field(default=60.0, gt=0, le=3600)
    # Largest request body accepted, in bytes.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    # Messages one visitor may send per minute, for widgets that set no limit of their own.
    default_visitor_messages_per_minute: int = Field(default=20, ge=1)
    # Messages one visitor may send per day (widget default).
    default_visitor_messages_per_day: int = Field(default=500, ge=1)
    # Messages all visitors of one widget may send per day (widget default).
    default_widget_messages_per_day: int = Field(default=10000, ge=1)
    # Conversations one IP address may start per hour on one widget (widget default).
    default_conversations_per_ip_per_hour: int = Field(default=60, ge=1)
    # LLM tokens (prompt + completion) one widget may use per calendar month (UTC); unset: no cap.
    default_widget_tokens_per_month: int | None = Field(default=None, ge=1)
    # US dollars one widget may spend on the LLM per calendar month (UTC); unset: no cap.
    default_widget_cost_per_month_usd: float | None = Field(default=None, gt=0)
    # Messages all widgets of one workspace may answer per day (UTC); unset: no cap.
    default_workspace_messages_per_day: int | None = Field(default=None, ge=1)
    # LLM tokens all widgets of one workspace may use per calendar month; unset: no cap.
    default_workspace_tokens_per_month: int | None = Field(default=None, ge=1)
    # US dollars all widgets of one workspace may spend per calendar month; unset: no cap.
    default_workspace_cost_per_month_usd: float | None = Field(default=None, gt=0)
    # Share of a budget at which porch warns (log line, usage API, `usage.budget` event).
    budget_warning_ratio: float = Field(default=0.8, gt=0, le=1)
    # The answer once a budget is spent, for widgets without a fallback_message of their own.
    budget_fallback_message: str = (
        "Our assistant is taking a break. Please try again later or contact us directly."
    )
    # Milliseconds a token may wait for the next ones to share its SSE event; 0 sends at once.
    stream_flush_ms: float = Field(default=0, ge=0, le=1000)
    # Questions a process prepares at once (store, count, look up history and passages)
    # before their model is called; the rest wait their turn, so a burst of new questions
    # does not stall the tokens of replies already streaming. Fewer: smoother streams in a
    # burst; more: more database round trips overlapped (a distant database). 0: no limit.
    answer_prepare_slots: int = Field(default=4, ge=0, le=10_000)
    # Objects a worker may allocate between young-generation garbage collections; at start-up
    # everything loaded so far is also frozen out of collection. 0 keeps Python's defaults.
    gc_young_threshold: int = Field(default=50_000, ge=0, le=10_000_000)
    # Log a warning (`gc_pause`) for every garbage collection longer than this many
    # milliseconds: each one pauses every stream of its worker. 0: off.
    gc_log_pause_ms: float = Field(default=0, ge=0, le=60_000)
    # Hours without a message after which a visitor token stops working (401
    # visitor_token_expired); each message the conversation gets keeps it alive.
    visitor_token_idle_hours: int = Field(default=24 * 30, ge=1, le=24 * 3650)
    # What replies on the compatibility routes (POST /chat/message, GET /chat/history) do with
    # citation markers like [1], which their clients cannot show: strip them, or strip them
    # and append the sources' titles as plain text ("Sources: …").
    compat_sources: Literal["strip", "titles"] = "strip"
    # Owner session lifetime, in hours.
    session_hours: int = Field(default=24 * 14, ge=1)
    # Failed sign-ins one account may have in 15 minutes before sign-in is refused (429).
    login_failures_per_account: int = Field(default=5, ge=1, le=10_000)
    # Failed sign-ins one IP address may have in 15 minutes, over all accounts.
    login_failures_per_ip: int = Field(default=20, ge=1, le=100_000)
    # Hours an invitation link stays valid.
    invitation_hours: int = Field(default=72, ge=1, le=24 * 90)
    # Seconds between the pings a WebSocket gets (a `{"type":"ping"}` frame).
    ws_ping_seconds: float = Field(default=20.0, gt=0, le=3600)
    # Pings in a row a WebSocket may leave unanswered before it is closed.
    ws_missed_pongs: int = Field(default=2, ge=1, le=100)
    # Frames waiting to be sent to one WebSocket; a client further behind is dropped (4008).
    ws_queue_size: int = Field(default=256, ge=8, le=100_000)
    # Attempts to deliver one webhook event before it is marked failed.
    webhook_max_attempts: int = Field(default=6, ge=1, le=50)
    # Seconds before the first retry of a webhook; each further retry waits twice as long.
    webhook_retry_seconds: float = Field(default=5.0, gt=0, le=3600)
    # Seconds between retention sweeps (privacy/sweep.py); 0 turns the background sweep off.
    privacy_sweep_interval_seconds: float = Field(default=3600.0, ge=0, le=86400 * 7)
    # Conversations one sweep batch removes in one transaction: smaller is gentler on chat.
    privacy_sweep_batch: int = Field(default=100, ge=1, le=20000)
    # After each batch the sweep rests this many times as long as the batch took, so chat
    # keeps most of the database and the event loop (2: at most a third goes to the sweep).
    privacy_sweep_pause: float = Field(default=2.0, ge=0, le=100)
    # Hours an export waits for its one download before it is deleted unread.
    privacy_export_hours: int = Field(default=24, ge=1, le=720)
    # Seconds one webhook request may take.
    webhook_timeout: float = Field(default=10.0, gt=0, le=120)
    # Seconds that streams in flight get to finish on shutdown.
    shutdown_grace_seconds: float = Field(default=30.0, ge=0, le=3600)
    # Seconds an idle HTTP connection is kept open. Longer than the idle timeout of what
    # sits in front (load balancers commonly keep 60 s): a server that closes first races
    # the next request sent on that connection, which the client sees as a dropped request.
    http_keepalive_seconds: int = Field(default=75, ge=1, le=3600)
    # Apply migrations when `porch serve` starts (always on for SQLite).
    auto_migrate: bool = True
    # Log verbosity: debug, info, warning or error.
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # JSON lines (for log shippers) or plain text (for a terminal).
    log_json: bool = True

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            if value.startswith(("postgres://", "postgresql://")):
                return "postgresql+asyncpg://" + value.split("://", 1)[1]
            raise ValueError("use sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("use redis://host:port/db")
        return value or None

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        entries = [item.strip() for item in value.split(",") if item.strip()]
        for entry in entries:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an address, a network or *") from None
        return ",".join(entries)

    @model_validator(mode="after")
    def _provider_ready(self) -> Settings:
        if self.llm_provider != "extractive" and not self.llm_model:
            raise ValueError(
                f"PORCH_LLM_MODEL is required when PORCH_LLM_PROVIDER={self.llm_provider}"
            )
        return self

    @model_validator(mode="after")
    def _embeddings_ready(self) -> Settings:
        if self.embeddings == "openai" and not self.embeddings_model:
            raise ValueError("PORCH_EMBEDDINGS_MODEL is required when PORCH_EMBEDDINGS=openai")
        if self.jobs_queue == "redis" and not self.redis_url:
            raise ValueError("PORCH_REDIS_URL is required when PORCH_JOBS_QUEUE=redis")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'porch.db').resolve()}"

    @property
    def jobs_on_redis(self) -> bool:
        return self.jobs_queue == "redis" or (self.jobs_queue == "auto" and bool(self.redis_url))

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        """PORCH_ENV=production, or a public URL other people can reach (not loopback)."""
        if self.env == "production":
            return True
        host = (urlsplit(self.public_url).hostname or "").lower()
        if host == "localhost" or host.endswith(".localhost"):
            return False
        try:
            return not ipaddress.ip_address(host).is_loopback
        except ValueError:
            return True  # a name: someone else's to reach

    @property
    def demo_enabled(self) -> bool:
        return self.demo_page if self.demo_page is not None else not self.is_production

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @cached_property
    def secret(self) -> bytes:
        """The secret key, generated once and kept in the data dir when not configured."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip().encode()

    @cached_property
    def _prices(self) -> dict[str, ModelPrice]:
        known = {name: ModelPrice.model_validate(p) for name, p in DEFAULT_PRICES.items()}
        return {**known, **self.llm_prices}

    def price(self, model: str) -> ModelPrice | None:
        return self._prices.get(model)


class SettingsError(Exception):
    """Raised with one line per invalid variable."""


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning pydantic's report into lines that name the variables."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            name = f"PORCH_{field.upper()}" if field else "settings"
            lines.append(f"{name}: {err['msg']}")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None
