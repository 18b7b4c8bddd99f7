"""Sign-in throttling: failed attempts counted per account and per IP address over 15
minutes, on the shared limits service (exact across processes on Redis). Checked before the
password is, so an attacker learns nothing once throttled, not even a right guess."""

from __future__ import annotations

import contextlib
import hashlib

from porch.errors import RateLimited
from porch.limits.rules import Rule
from porch.limits.service import RateLimits
from porch.settings import Settings

MESSAGE = "Too many failed sign-in attempts. Wait a few minutes and try again."


def _checks(settings: Settings, email: str, ip: str | None) -> list[tuple[Rule, str]]:
    # Keyed by the email's hash whether or not an account has it: no hint of which exist,
    # and no addresses in Redis.
    account = hashlib.sha256(email.encode()).hexdigest()
    checks = [(Rule("login.account", settings.login_failures_per_account, "quarter_hour"), account)]
    if ip:
        checks.append((Rule("login.ip", settings.login_failures_per_ip, "quarter_hour"), ip))
    return checks


async def guard(limits: RateLimits, settings: Settings, email: str, ip: str | None) -> None:
    """429 with Retry-After while either budget of failures is spent."""
    try:
        await limits.peek(_checks(settings, email, ip))
    except RateLimited as exc:
        raise RateLimited(MESSAGE, retry_after=exc.retry_after, code="too_many_attempts") from None


async def failed(limits: RateLimits, settings: Settings, email: str, ip: str | None) -> None:
    """Count one failure against the account and the address."""
    # Already over: the next attempt is refused by `guard`.
    with contextlib.suppress(RateLimited):
        await limits.check(_checks(settings, email, ip))
