"""ORM tables, one module each; importing this package registers them all on Base.metadata."""

from porch.models.action import Action, ActionSecret
from porch.models.action_call import ActionCall
from porch.models.api_key import ApiKey
from porch.models.audit_event import AuditEvent
from porch.models.base import Base
from porch.models.chunk import Chunk
from porch.models.context_rule import ContextRule
from porch.models.conversation import Conversation
from porch.models.conversation_event import ConversationEvent
from porch.models.curated_answer import CuratedAnswer, CuratedHit, Suggestion, SuggestionSeen
from porch.models.eval_case import EvalCase, EvalRun, EvalWatch
from porch.models.invitation import Invitation
from porch.models.knowledge_version import KnowledgeVersion
from porch.models.membership import Membership
from porch.models.message import Message
from porch.models.owner_session import OwnerSession
from porch.models.page import Page
from porch.models.privacy import (
    PrivacyJob,
    PrivacyTombstone,
    RedactionRule,
    RetentionPolicy,
    SweepLease,
)
from porch.models.search_setting import SearchSetting
from porch.models.source import Source
from porch.models.source_file import SourceFile
from porch.models.usage_counter import UsageCounter
from porch.models.user import User
from porch.models.visitor_token import VisitorToken
from porch.models.webhook import Webhook
from porch.models.webhook_delivery import WebhookDelivery
from porch.models.widget import Widget
from porch.models.workspace import Workspace

__all__ = [
    "Action",
    "ActionCall",
    "ActionSecret",
    "ApiKey",
    "AuditEvent",
    "Base",
    "Chunk",
    "ContextRule",
    "Conversation",
    "ConversationEvent",
    "CuratedAnswer",
    "CuratedHit",
    "EvalCase",
    "EvalRun",
    "EvalWatch",
    "Invitation",
    "KnowledgeVersion",
    "Membership",
    "Message",
    "OwnerSession",
    "Page",
    "PrivacyJob",
    "PrivacyTombstone",
    "RedactionRule",
    "RetentionPolicy",
    "SearchSetting",
    "Source",
    "SourceFile",
    "Suggestion",
    "SuggestionSeen",
    "SweepLease",
    "UsageCounter",
    "User",
    "VisitorToken",
    "Webhook",
    "WebhookDelivery",
    "Widget",
    "Workspace",
]
