"""Dashboard pages. Reads go through the domain services; every write is the page's JS calling
the JSON API with the session's CSRF token, so the API is the one place that changes data."""

from __future__ import annotations

import html
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from porch.accounts import service as accounts
from porch.accounts import team
from porch.accounts.roles import Role
from porch.analytics import service as analytics
from porch.analytics.schemas import AnalyticsOut
from porch.audit import service as audit_log
from porch.chat.inbox import service as inbox
from porch.chat.inbox.schemas import InboxPage
from porch.dashboard import actions_page, charts, render
from porch.dashboard.answered import answered_questions
from porch.dashboard.auth import DashboardRoute, MaybeOwner, PageAdmin, PageAgent, safe_next
from porch.deps import SessionDep, SettingsDep
from porch.embeddings.base import Embedder
from porch.errors import BadRequest, NotFound
from porch.knowledge.search.dependencies import RetrieverDep
from porch.schemas import check_day, clean_line
from porch.settings import Settings
from porch.usage import service as usage_service
from porch.webhooks import service as webhooks
from porch.webhooks.schemas import EVENT_NAMES, DeliveryOut
from porch.widgets import service as widgets

router = APIRouter(prefix="/app", include_in_schema=False, route_class=DashboardRoute)
router.include_router(actions_page.router)

STATUSES = {
    "open": "Open",
    "waiting_for_agent": "Waiting for a person",
    "agent": "With a person",
    "closed": "Closed",
}
RATINGS = {"up": "Rated up", "down": "Rated down"}


def _id(raw: str, what: str = "page") -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound(f"No such {what}.") from None


def _day(raw: str | None) -> date | None:
    """A day from a filter form; anything else (a bad date, one out of range) is no filter."""
    try:
        return check_day(date.fromisoformat(raw)) if raw else None
    except ValueError:
        return None


@router.get("")
async def app_root(request: Request) -> Response:
    return RedirectResponse(f"{render.root_of(request)}{render.PREFIX}/", status_code=308)


@router.api_route("/static/{name}", methods=["GET", "HEAD"])
async def static_file(name: str, request: Request) -> Response:
    return render.static_response(name, request)


@router.get("/login")
async def login_page(
    request: Request, owner: MaybeOwner, session: SessionDep, settings: SettingsDep
) -> Response:
    is_open = await accounts.signup_open(session, allow_signup=settings.allow_signup)
    return _auth_page(request, owner, "login", is_open)


@router.get("/signup")
async def signup_page(
    request: Request, owner: MaybeOwner, session: SessionDep, settings: SettingsDep
) -> Response:
    is_open = await accounts.signup_open(session, allow_signup=settings.allow_signup)
    return _auth_page(request, owner, "signup", is_open)


def _auth_page(
    request: Request, owner: accounts.Owner | None, mode: str, signup_open: bool
) -> Response:
    target = safe_next(request.query_params.get("next"), render.root_of(request))
    if owner is not None:
        return RedirectResponse(target, status_code=303)
    return render.render(
        request, "auth.html", mode=mode, next_url=target, owner=None, signup_open=signup_open
    )


@router.get("/")
async def widgets_page(request: Request, owner: PageAgent, session: SessionDep) -> Response:
    items = [widgets.to_out(w) for w in await widgets.list_all(session, owner.workspace_id)]
    counts = await inbox.counts_by_widget(session, owner.workspace_id)
    return render.render(
        request, "widgets.html", owner=owner, widgets=items, counts=counts, nav="widgets"
    )


@router.get("/widgets/{widget_id}")
async def settings_page(
    widget_id: str, request: Request, owner: PageAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    widget = widgets.to_out(await widgets.get(session, owner.workspace_id, _id(widget_id)))
    usage = await usage_service.read_usage_for_page(session, settings, widget.id, widget.limits)
    snippet = _snippet(settings.public_url, widget.id)
    return render.render(
        request,
        "settings.html",
        owner=owner,
        widget=widget,
        usage=usage,
        snippet=snippet,
        tab="settings",
        nav="widgets",
    )


@router.get("/widgets/{widget_id}/knowledge")
async def knowledge_page(
    widget_id: str, request: Request, owner: PageAdmin, session: SessionDep
) -> Response:
    widget = widgets.to_out(await widgets.get(session, owner.workspace_id, _id(widget_id)))
    return render.render(
        request, "knowledge.html", owner=owner, widget=widget, tab="knowledge", nav="widgets"
    )


@router.get("/widgets/{widget_id}/conversations")
async def inbox_page(
    widget_id: str, request: Request, owner: PageAgent, session: SessionDep
) -> Response:
    widget = widgets.to_out(await widgets.get(session, owner.workspace_id, _id(widget_id)))
    (filters, problem), cursor = _inbox_filters(request), request.query_params.get("cursor")
    page = await inbox.list_conversations(
        session, owner.workspace_id, widget.id, filters, cursor=cursor or None
    )
    view = _inbox_view(filters, page, cursor, problem)
    return render.render(request, "inbox.html", owner=owner, widget=widget, page=page, **view)


def _inbox_filters(request: Request) -> tuple[inbox.InboxFilter, str | None]:
    """The filters the query asks for, and what is wrong with them (shown above the list)."""
    query = request.query_params
    status, rating = query.get("status") or None, query.get("rating") or None
    first, last = _day(query.get("from")), _day(query.get("to"))
    problem = "“From” is after “To”." if first and last and first > last else None
    filters = inbox.InboxFilter(
        status=status if status in STATUSES else None,
        rating=rating if rating in RATINGS else None,
        date_from=None if problem else first,
        date_to=None if problem else last,
        q=clean_line(query.get("q") or "").strip()[:200] or None,
    )
    return filters, problem


def _inbox_view(
    filters: inbox.InboxFilter, page: InboxPage, cursor: str | None, problem: str | None
) -> dict[str, Any]:
    """The filters as the form shows them, and the links to older and newest pages."""
    kept = {
        "status": filters.status or "",
        "rating": filters.rating or "",
        "from": filters.date_from.isoformat() if filters.date_from else "",
        "to": filters.date_to.isoformat() if filters.date_to else "",
        "q": filters.q or "",
    }
    active = {k: v for k, v in kept.items() if v}
    older = urlencode({**active, "cursor": page.next_cursor}) if page.next_cursor else None
    return {
        "filters": kept,
        "filtered": bool(active),
        "paged": bool(cursor),
        "problem": problem,
        "older_query": older,
        "newest_query": urlencode(active),
        "statuses": STATUSES,
        "ratings": RATINGS,
        "tab": "conversations",
        "nav": "widgets",
    }


@router.get("/conversations/{conversation_id}")
async def conversation_page(
    conversation_id: str, request: Request, owner: PageAgent, session: SessionDep
) -> Response:
    detail = await inbox.get_conversation(
        session, owner.workspace_id, _id(conversation_id, "conversation")
    )
    widget = widgets.to_out(await widgets.get(session, owner.workspace_id, detail.widget_id))
    return render.render(
        request,
        "conversation.html",
        owner=owner,
        widget=widget,
        conversation=detail,
        statuses=STATUSES,
        tab="conversations",
        nav="widgets",
    )


@router.get("/widgets/{widget_id}/analytics")
async def analytics_page(
    widget_id: str, request: Request, owner: PageAdmin, session: SessionDep, retriever: RetrieverDep
) -> Response:
    wid = _id(widget_id)
    widget = widgets.to_out(await widgets.get(session, owner.workspace_id, wid))
    query = request.query_params
    span = (_day(query.get("from")), _day(query.get("to")))
    tests = query.get("include_tests") == "true"
    data, problem = await _analytics(
        session, owner.workspace_id, wid, span, retriever.embedder, tests
    )
    done = await answered_questions(session, owner.workspace_id, wid, data.unanswered_groups)
    view: dict[str, Any] = {"data": data, "plots": _plots(data), "problem": problem}
    view |= {"answered": done, "tab": "analytics", "nav": "widgets"}
    return render.render(request, "analytics.html", owner=owner, widget=widget, **view)


async def _analytics(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    widget_id: uuid.UUID,
    span: tuple[date | None, date | None],
    embedder: Embedder,
    include_tests: bool = False,
) -> tuple[AnalyticsOut, str | None]:
    """The widget's analytics over the chosen days; a bad range shows the default one and
    says why."""
    try:
        data = await analytics.widget_analytics(
            session, workspace_id, widget_id, *span, embedder, include_tests
        )
        return data, None
    except BadRequest as exc:
        data = await analytics.widget_analytics(
            session, workspace_id, widget_id, embedder=embedder, include_tests=include_tests
        )
        return data, exc.message


@router.get("/api-keys")
async def api_keys_page(request: Request, owner: PageAdmin, session: SessionDep) -> Response:
    keys = await accounts.list_api_keys(session, owner)
    return render.render(request, "api_keys.html", owner=owner, keys=keys, nav="keys")


@router.get("/webhooks")
async def webhooks_page(request: Request, owner: PageAdmin, session: SessionDep) -> Response:
    hooks = [webhooks.to_out(h) for h in await webhooks.list_all(session, owner.workspace_id)]
    return render.render(
        request,
        "webhooks.html",
        owner=owner,
        hooks=hooks,
        events=EVENT_NAMES,
        limit=webhooks.MAX_PER_WORKSPACE,
        nav="webhooks",
    )


@router.get("/webhooks/{webhook_id}")
async def webhook_page(
    webhook_id: str, request: Request, owner: PageAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    wid = _id(webhook_id, "webhook")
    hook = webhooks.to_out(await webhooks.get(session, owner.workspace_id, wid))
    log = await webhooks.deliveries(session, owner.workspace_id, wid)
    return render.render(
        request,
        "webhooks_log.html",
        owner=owner,
        hook=hook,
        deliveries=[(d, _next_retry(d, settings)) for d in log],
        shown=webhooks.DELIVERIES_SHOWN,
        nav="webhooks",
    )


def _next_retry(delivery: DeliveryOut, settings: Settings) -> datetime | None:
    """When a pending delivery is tried again: the backoff of webhooks/delivery.py without
    its ±20% jitter (the retry waits on the queue; no row holds the exact time)."""
    if delivery.status != "pending" or not delivery.attempts or not delivery.last_attempt_at:
        return None
    wait = settings.webhook_retry_seconds * 2 ** (delivery.attempts - 1)
    return delivery.last_attempt_at + timedelta(seconds=wait)


@router.get("/team")
async def team_page(request: Request, owner: PageAgent, session: SessionDep) -> Response:
    members = await team.list_members(session, owner.workspace_id)
    is_owner = owner.level.at_least(Role.owner)
    invitations = await team.list_invitations(session, owner.workspace_id) if is_owner else []
    return render.render(
        request,
        "team.html",
        owner=owner,
        members=members,
        invitations=invitations,
        is_owner=is_owner,
        roles=[r.value for r in Role],
        nav="team",
    )


@router.get("/audit")
async def audit_page(request: Request, owner: PageAdmin, session: SessionDep) -> Response:
    cursor = request.query_params.get("cursor")
    events, more = await audit_log.page(
        session, owner.workspace_id, before=audit_log.parse_cursor(cursor), limit=50
    )
    return render.render(
        request,
        "audit.html",
        owner=owner,
        events=events,
        older=str(events[-1].id) if more and events else None,
        paged=bool(cursor),
        nav="audit",
    )


@router.get("/join")
async def join_page(request: Request, owner: MaybeOwner) -> Response:
    """Where an invitation link lands; the token stays in the URL's fragment (team.js)."""
    return render.render(request, "join.html", owner=owner, joining=True)


def _plots(data: AnalyticsOut) -> dict[str, Markup]:
    """The analytics page's bar charts, drawn here as inline SVG."""
    days = [d.date for d in data.days]
    return {
        "conversations": charts.bar_chart(
            days,
            [charts.Series("Conversations", "bar-a", [d.conversations for d in data.days])],
            label="Conversations per day",
        ),
        "messages": charts.bar_chart(
            days,
            [
                charts.Series("Questions", "bar-a", [d.questions for d in data.days]),
                charts.Series("Replies", "bar-b", [d.replies for d in data.days]),
            ],
            label="Messages per day",
        ),
        "tokens": charts.bar_chart(
            days,
            [
                charts.Series("Prompt", "bar-a", [d.prompt_tokens for d in data.days]),
                charts.Series("Completion", "bar-b", [d.completion_tokens for d in data.days]),
            ],
            label="Tokens per day",
        ),
        "cost": charts.bar_chart(
            days,
            [charts.Series("Cost", "bar-c", [d.cost_usd for d in data.days])],
            label="Cost per day",
            fmt=charts.usd,
            whole=False,
        ),
        "feedback": charts.bar_chart(
            days,
            [
                charts.Series("Thumbs up", "bar-up", [d.thumbs_up for d in data.days]),
                charts.Series("Thumbs down", "bar-down", [d.thumbs_down for d in data.days]),
            ],
            label="Feedback per day",
        ),
    }


def _snippet(public_url: str, widget_id: uuid.UUID) -> str:
    base = html.escape(public_url.rstrip("/"))
    return f'<script src="{base}/widget.js" data-widget-id="{widget_id}" async></script>'
