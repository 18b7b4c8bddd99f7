"""Delivering one webhook event: signed POST, retries with exponential backoff, a log entry.

A retry is the job queued again after its backoff, not a sleep inside the running job.

Idempotent: the delivery id is fixed when the event happens and sent as `Porch-Delivery`
(and `id` in the body) on every attempt, so a receiver that sees it twice can ignore the
second; a job that finds its delivery already delivered or given up does nothing.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from porch.jobs.queue import Jobs
from porch.models import Webhook, WebhookDelivery
from porch.models.base import utcnow
from porch.security.ssrf import BlockedURL, check_url, describe
from porch.settings import Settings
from porch.webhooks import signing
from porch.webhooks.secrets_box import SecretBox

log = structlog.get_logger("porch.webhooks")
DELIVER_TASK = "porch.deliver_webhook"
USER_AGENT = "porch-webhooks/1"


def backoff(settings: Settings, attempt: int) -> float:
    """Seconds before attempt `attempt + 1`: doubling from PORCH_WEBHOOK_RETRY_SECONDS, ±20%."""
    jitter = 0.8 + 0.4 * random.random()  # noqa: S311 - spreading retries, not secrecy
    return float(settings.webhook_retry_seconds * 2 ** (attempt - 1) * jitter)


async def _attempt(
    settings: Settings, url: str, secret: str, delivery: WebhookDelivery
) -> tuple[int | None, str | None]:
    body = orjson.dumps(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.HEADER: signing.header(secret, int(time.time()), body),
        "Porch-Delivery": str(delivery.id),
        "Porch-Event": delivery.event_type,
    }
    allow = settings.crawl_allow_private_networks
    try:
        check_url(url, allow_private=allow)
    except BlockedURL as exc:
        return None, str(exc)
    # aiohttp (about 0.2 s to import) is loaded by the first delivery, not at start-up.
    import aiohttp

    from porch.security.resolver import SafeResolver

    connector = aiohttp.TCPConnector(resolver=SafeResolver(allow_private=allow), limit=1)
    timeout = aiohttp.ClientTimeout(total=settings.webhook_timeout)
    try:
        # No proxy (it would connect past the resolver check), no redirects (a redirect
        # could point anywhere after the check).
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout, trust_env=False) as http,
            http.post(url, data=body, headers=headers, allow_redirects=False) as resp,
        ):
            await resp.content.read(4096)
            if 200 <= resp.status < 300:
                return resp.status, None
            return resp.status, f"the receiver answered {resp.status}"
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return None, describe(exc)


async def deliver(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], delivery_id: uuid.UUID
) -> tuple[str, int]:
    """One attempt, logged on the delivery. Returns its status after it (still "pending" when
    another attempt is due) and the attempts made so far."""
    async with sessionmaker() as session:
        delivery = await session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status != "pending":
            return (delivery.status if delivery else "missing"), 0
        hook = await session.get(Webhook, delivery.webhook_id)
        secret = SecretBox(settings.secret).decrypt(hook.secret_encrypted) if hook else None
        if hook is None or not hook.active or secret is None:
            delivery.status = "failed"
            delivery.error = "The webhook was switched off or its secret is unreadable."
            await session.commit()
            return delivery.status, delivery.attempts
        status, error = await _attempt(settings, hook.url, secret, delivery)
        delivery.attempts += 1
        delivery.last_attempt_at = utcnow()
        delivery.response_status = status
        delivery.error = error
        if error is None:
            delivery.status, delivery.delivered_at = "delivered", utcnow()
        elif delivery.attempts >= settings.webhook_max_attempts:
            delivery.status = "failed"
        final, attempts = delivery.status, delivery.attempts
        await session.commit()
    if final != "pending":
        log.info("webhook_" + final, delivery_id=str(delivery_id), attempts=attempts)
    return final, attempts


def register(
    jobs: Jobs, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The delivery task on the job queue (in-process embedded, Redis with `porch worker`).

    Each run makes one attempt; a failed one queues the next after the backoff instead of
    sleeping, so a receiver that is down holds no worker slot.
    """

    async def deliver_webhook(delivery_id: str) -> None:
        try:
            status, attempts = await deliver(settings, sessionmaker, uuid.UUID(delivery_id))
            if status == "pending":
                await jobs.enqueue_later(backoff(settings, attempts), DELIVER_TASK, delivery_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webhook_delivery_crashed", delivery_id=delivery_id)

    jobs.register(DELIVER_TASK, deliver_webhook)
