"""All tables. Import from here; Alembic autogenerates from ``Base.metadata``."""

from .account_search import AccountTerm
from .accounts import ACCOUNT_KINDS, Account, User
from .base import Base, utcnow
from .jobs import Job
from .lists import REPLIES_POLICIES, List, ListAccount  # noqa: F401
from .listening import ListeningAlert, ListeningVersion, Mention, Organisation, OrganisationMember, OrganisationToken, SentimentCorrection, TrackedQuery, Webhook, Delivery  # noqa: F401
from .notifications import NOTIFICATION_TYPES, Marker, Notification
from .oauth import AccessToken, Application, AuthorizationCode
from .social import Block, Follow, FollowRequest, Mute
from .statuses import (
    VISIBILITIES,
    Bookmark,
    Favourite,
    IdempotencyKey,
    Status,
    StatusEdit,
    StatusMention,
    StatusPin,
    StatusTag,
    StatusTerm,
    Tag,
)
from .web import WebSession
# --- area: media ---
# --- area: polls-scheduled ---
# --- area: tags-conversations-social ---
# --- area: filters-reports-admin ---
# --- area: trends-instance-directory ---

__all__ = [
    "ACCOUNT_KINDS", "NOTIFICATION_TYPES", "VISIBILITIES",
    "AccessToken", "Account", "AccountTerm", "Application", "AuthorizationCode", "Base", "Block", "Bookmark",
    "Favourite", "Follow", "FollowRequest", "IdempotencyKey", "Job", "Marker", "Mute",
    "Notification", "Status", "StatusEdit", "StatusMention", "StatusPin", "StatusTag",
    "StatusTerm", "Tag", "User", "utcnow",
]
