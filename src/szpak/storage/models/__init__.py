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
from .media import MEDIA_TYPES, MediaAttachment  # noqa: F401
# --- area: polls-scheduled ---
from .polls import Poll, PollVote  # noqa: F401
from .scheduled import ScheduledStatus  # noqa: F401
# --- area: tags-conversations-social ---
from .social_extra import AccountConversation, ConversationStatus, DomainBlock, Endorsement, FeaturedTag, SuggestionDismissal, TagFollow  # noqa: F401
# --- area: filters-reports-admin ---
from .filters import FILTER_ACTIONS, FILTER_CONTEXTS, Filter, FilterKeyword, FilterStatus  # noqa: F401
from .moderation import REPORT_CATEGORIES, AccountStrike, ModerationLogEntry, Report  # noqa: F401
# --- area: trends-instance-directory ---

__all__ = [
    "ACCOUNT_KINDS", "NOTIFICATION_TYPES", "VISIBILITIES",
    "AccessToken", "Account", "AccountTerm", "Application", "AuthorizationCode", "Base", "Block", "Bookmark",
    "Favourite", "Follow", "FollowRequest", "IdempotencyKey", "Job", "Marker", "Mute",
    "Notification", "Status", "StatusEdit", "StatusMention", "StatusPin", "StatusTag",
    "StatusTerm", "Tag", "User", "utcnow",
]
