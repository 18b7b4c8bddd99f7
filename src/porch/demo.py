"""The demo: an owner, a widget and a small knowledge base, for `porch serve --demo`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from porch.accounts import service as accounts
from porch.knowledge.search.keyword import KeywordIndex
from porch.knowledge.sources import service as knowledge
from porch.models import Membership, User, Widget
from porch.widgets import service as widgets
from porch.widgets.schemas import WidgetCreate

DEMO_EMAIL = "demo@porch.local"
DEMO_PASSWORD = "porch-demo"  # noqa: S105 - printed on start; it guards a local demo only

DOCS = [
    (
        "Getting started",
        """# Getting started
Acme Cloud hosts your static sites and small web apps. Create an account, connect a Git
repository, and every push to the main branch deploys automatically within a minute.

## Custom domains
Add a custom domain under Settings > Domains. Point a CNAME record at sites.acme.example.
HTTPS certificates are issued automatically and renewed before they expire.
""",
    ),
    (
        "Billing and plans",
        """# Billing
The Free plan includes 3 sites and 100 GB of bandwidth per month. The Pro plan costs
$12 per month and includes unlimited sites, 1 TB of bandwidth and password protection.

## Refunds
You can cancel at any time from the Billing page. Annual plans are refunded pro rata
within 30 days of purchase; contact support to request a refund.

## Invoices
Invoices are emailed on the first day of each month and are available under Billing > Invoices.
""",
    ),
    (
        "Account and security",
        """# Account
## Resetting your password
To reset your password, open the sign-in page and click "Forgot password". We email a
reset link that stays valid for one hour. If no email arrives, check your spam folder.

## Two-factor authentication
Turn on two-factor authentication under Settings > Security with any authenticator app.
Recovery codes are shown once; store them somewhere safe.
""",
    ),
    (
        "Support hours",
        """# Contact
Our support team answers on weekdays from 9:00 to 18:00 CET. Pro customers get a reply
within 4 hours. Email support@acme.example or use this chat to reach a person.
""",
    ),
]


@dataclass(frozen=True, slots=True)
class Demo:
    email: str
    password: str
    widget_id: str
    created: bool


async def ensure_demo(session: AsyncSession, index: KeywordIndex) -> Demo:
    """Create the demo owner, widget and sources unless they exist (idempotent)."""
    user = (
        await session.execute(select(User).where(User.email == DEMO_EMAIL))
    ).scalar_one_or_none()
    if user is not None:
        widget_id = await session.scalar(
            select(Widget.id)
            .join(Membership, Membership.workspace_id == Widget.workspace_id)
            .where(Membership.user_id == user.id)
            .order_by(Widget.created_at)
            .limit(1)
        )
        return Demo(DEMO_EMAIL, DEMO_PASSWORD, str(widget_id), False)
    user, workspace = await accounts.signup(
        session,
        email=DEMO_EMAIL,
        password=DEMO_PASSWORD,
        workspace_name="Acme Cloud",
        allow_signup=True,
    )
    widget = await widgets.create(
        session,
        workspace.id,
        WidgetCreate(
            name="Acme Cloud help",
            title="Acme Cloud",
            subtitle="Ask us anything",
            greeting="Hi! I'm the Acme Cloud assistant. Ask me about plans, domains or accounts.",
            suggested_questions=[
                "How do I reset my password?",
                "How much is the Pro plan?",
                "How do I add a custom domain?",
            ],
            fallback_message="You can also email support@acme.example and a person will reply.",
        ),
    )
    for title, text in DOCS:
        await knowledge.add_text(session, index, workspace.id, widget.id, title=title, body=text)
    return Demo(DEMO_EMAIL, DEMO_PASSWORD, str(widget.id), True)
