"""Widget shapes: what an owner sends and reads, and the public config a visitor's widget reads."""

from __future__ import annotations

import ipaddress
import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from porch.schemas import Line, Text

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
ProviderName = Literal["extractive", "openai", "anthropic"]
Position = Literal["bottom-right", "bottom-left"]
# Every string a request may carry has a bound (tests/security/test_input_limits.py).
Question = Annotated[Line, Field(max_length=200)]
OriginText = Annotated[Line, Field(max_length=300), AfterValidator(lambda v: _origin(v))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Theme(Strict):
    primary_color: str = Field(default="#2563eb", max_length=7)
    text_color: str = Field(default="#111827", max_length=7)
    background_color: str = Field(default="#ffffff", max_length=7)
    font_family: Line = Field(default="system-ui, sans-serif", max_length=200)
    border_radius: int = Field(default=12, ge=0, le=32)
    color_scheme: Literal["light", "dark", "auto"] = "auto"

    @field_validator("primary_color", "text_color", "background_color")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not _HEX.match(value):
            raise ValueError("use a hex colour like #2563eb")
        return value

    @field_validator("font_family")
    @classmethod
    def _font(cls, value: str) -> str:
        # The value lands in CSS; keep it to names, commas, spaces and quotes.
        if not re.fullmatch(r"[\w\s,'\"-]*", value):
            raise ValueError("font names, commas and spaces only")
        return value


class Features(Strict):
    sources: bool = True
    feedback: bool = True
    handoff: bool = False
    voice: bool = False
    # How a vendor's model is offered the widget's actions: "native" function calling, or
    # "json", a reply protocol in the prompt for models without it (actions/json_mode.py).
    tool_calling: Literal["native", "json"] = "native"


class Limits(Strict):
    """Unset fields take the server's defaults (PORCH_DEFAULT_*)."""

    visitor_messages_per_minute: int | None = Field(default=None, ge=1, le=10_000)
    visitor_messages_per_day: int | None = Field(default=None, ge=1, le=1_000_000)
    widget_messages_per_day: int | None = Field(default=None, ge=1, le=100_000_000)
    widget_tokens_per_month: int | None = Field(default=None, ge=1)
    widget_cost_per_month_usd: float | None = Field(default=None, gt=0, le=1_000_000)
    # Share of a budget at which porch warns; unset: PORCH_BUDGET_WARNING_RATIO.
    warning_ratio: float | None = Field(default=None, gt=0, le=1)
    conversations_per_ip_per_hour: int | None = Field(default=None, ge=1, le=100_000)


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WORKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
_CLOCK = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")


class OfficeHours(Strict):
    """When people answer: the days and the hours (start to end) in one time zone."""

    timezone: Line = Field(
        default="UTC", max_length=64, description="IANA name, e.g. Europe/Berlin"
    )
    days: list[Weekday] = Field(default_factory=lambda: list(WORKDAYS), min_length=1, max_length=7)
    start: str = Field(default="09:00", max_length=5, description="HH:MM, 24-hour clock")
    end: str = Field(default="17:00", max_length=5, description="HH:MM, after start")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("use an IANA time zone like Europe/Berlin") from None
        return value

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError("use HH:MM on a 24-hour clock, like 09:00")
        return value

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: str, info: ValidationInfo) -> str:
        if value <= str(info.data.get("start", "")):
            raise ValueError("end must be after start")
        return value


class Handoff(Strict):
    """Human handoff: when the assistant offers a person, how long it waits for one."""

    # never: no handoff; on_request: the visitor asks (button or in words);
    # when_unanswered_twice: also offered after two answers in a row the assistant lacked.
    mode: Literal["never", "on_request", "when_unanswered_twice"] = "on_request"
    timeout_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    office_hours: OfficeHours | None = None
    offline_message: Text = Field(default="", max_length=1000)


# scheme://host[:port] and nothing else: a DNS name, a dotted IPv4 address or a bracketed
# IPv6 one. These strings end up in CORS and CSP headers, where a ";" or a space would add
# a directive of the owner's choosing.
_ORIGIN = re.compile(
    r"^(?P<scheme>https?)://"
    r"(?P<host>(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"|\[[0-9a-f:.]+\])"
    r"(?::(?P<port>[0-9]{1,5}))?/?$"
)


def _origin(value: str) -> str:
    """The origin, normalised (lower case, no trailing slash, no default port); ValueError
    naming the entry for anything else."""
    if value == "*":
        return value
    found = _ORIGIN.match(value.strip().lower())
    port = int(found["port"]) if found and found["port"] else None
    if not found or (port is not None and not 0 < port < 65536) or not _host_ok(found["host"]):
        raise ValueError(
            f"{value!r} is not an origin: use scheme://host[:port] only, like "
            'https://shop.example or http://localhost:3000, or "*"'
        )
    default = {"http": 80, "https": 443}[found["scheme"]]
    shown = f":{port}" if port is not None and port != default else ""
    return f"{found['scheme']}://{found['host']}{shown}"


def _host_ok(host: str) -> bool:
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
    return len(host) <= 253


class WidgetFields(Strict):
    """Every field an owner may set; all optional so PATCH can send any subset."""

    name: Line | None = Field(default=None, min_length=1, max_length=120)
    title: Line | None = Field(default=None, min_length=1, max_length=120)
    subtitle: Line | None = Field(default=None, max_length=200)
    greeting: Text | None = Field(default=None, max_length=2000)
    theme: Theme | None = None
    position: Position | None = None
    suggested_questions: list[Question] | None = Field(default=None, max_length=8)
    features: Features | None = None
    allowed_origins: list[OriginText] | None = Field(default=None, min_length=1, max_length=50)
    system_prompt: Text | None = Field(default=None, max_length=8000)
    provider: ProviderName | None = None
    model: Line | None = Field(default=None, max_length=120)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=16, le=8192)
    history_limit: int | None = Field(default=None, ge=0, le=100)
    fallback_message: Text | None = Field(default=None, max_length=2000)
    limits: Limits | None = None
    # Refuse visitors without a user signed with the identity secret (set one first).
    require_identity: bool | None = None
    handoff: Handoff | None = None

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        origins = list(dict.fromkeys(value))
        if "*" in origins and len(origins) > 1:
            raise ValueError('"*" allows every origin; list origins or use ["*"] alone')
        return origins

    @field_validator("suggested_questions")
    @classmethod
    def _questions(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not q.strip() or len(q) > 200 for q in value):
            raise ValueError("each question is 1 to 200 characters")
        return value


class WidgetCreate(WidgetFields):
    name: Line = Field(min_length=1, max_length=120)


class WidgetOut(BaseModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    title: str
    subtitle: str
    greeting: str
    theme: Theme
    position: Position
    suggested_questions: list[str]
    features: Features
    allowed_origins: list[str]
    system_prompt: str
    provider: str | None
    model: str | None
    temperature: float
    max_tokens: int
    history_limit: int
    fallback_message: str
    limits: Limits
    handoff: Handoff = Field(default_factory=Handoff)
    require_identity: bool = False
    # Secrets are never returned: whether one is set, and the last 4 characters of a key.
    identity_secret_set: bool = False
    provider_api_key_last4: str | None = None
    created_at: datetime
    updated_at: datetime
    warnings: list[str] = Field(default_factory=list)


class WidgetList(BaseModel):
    widgets: list[WidgetOut]


class IdentitySecretOut(BaseModel):
    identity_secret: str = Field(
        description="Shown this once: keep it on your server, never in a web page."
    )


class ProviderKeyIn(Strict):
    api_key: str = Field(min_length=8, max_length=500, pattern=r"^[\x21-\x7e]+$")


class ProviderKeyOut(BaseModel):
    provider_api_key_last4: str


class EmbedOut(BaseModel):
    snippet: str
    widget_url: str


class PublicFeatures(BaseModel):
    """The features a visitor's page uses; how the model runs actions stays the owner's."""

    # Built from a widget's Features: only these fields are read from it.
    model_config = ConfigDict(from_attributes=True)

    sources: bool = True
    feedback: bool = True
    handoff: bool = False
    voice: bool = False


class PublicConfig(BaseModel):
    widget_id: uuid.UUID
    title: str
    subtitle: str
    greeting: str
    theme: Theme
    position: Position
    suggested_questions: list[str]
    features: PublicFeatures
