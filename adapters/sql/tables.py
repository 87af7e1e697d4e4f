"""The schema, as SQLAlchemy Core tables: the Alembic target and the repositories' vocabulary."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    true,
)

from adapters.sql.types import UtcDateTime

__all__ = [
    "POSTS_SEARCH",
    "audit_log",
    "bot_updates",
    "campaigns",
    "chat_messages",
    "chat_threads",
    "deliveries",
    "files",
    "handled_events",
    "jobs",
    "link_tokens",
    "login_failures",
    "metadata",
    "outbox",
    "password_reset_requests",
    "post_tags",
    "posts",
    "refresh_tokens",
    "sessions",
    "tags",
    "telegram_chats",
    "todos",
    "users",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments INTEGER PRIMARY KEY columns.
_BigId = BigInteger().with_variant(Integer(), "sqlite")

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("email_verified", Boolean, nullable=False, server_default=false()),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=False),
    Column("rotated_at", UtcDateTime, nullable=True),
    Column("idle_expires_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("user_agent", String(512), nullable=True),
    Column("ip", String(45), nullable=True),
    Column("version", Integer, nullable=False),
)

# Every refresh token a session ever issued, so a replayed old one finds its session.
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("issued_at", UtcDateTime, nullable=False),
)

# The digests of mailed links (password reset, e-mail verification): single use, expiring.
link_tokens = Table(
    "link_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("purpose", String(32), nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("event_id", Uuid, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False),
    Column("failed_at", UtcDateTime, nullable=False),
    # True from the attempt's reservation until its password check fails (a success deletes it).
    Column("in_flight", Boolean, nullable=False, server_default=false()),
    Index(None, "email", "failed_at"),
)

# Every password-reset request, for an account's address or not: an audit trail, and the
# row whose write commits ``password_reset.requested``. Requests name addresses nobody
# registered, so only the SHA-256 digest (hex) of the normalized address is kept.
password_reset_requests = Table(
    "password_reset_requests",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("email_digest", String(64), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False, index=True),
)

# Events leave the process through here (adapters/shared/event_codec.py names the columns
# that describe the event); the relay claims rows under a lease and marks them published.
outbox = Table(
    "outbox",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("aggregate_type", String(50), nullable=False),
    Column("aggregate_id", String(64), nullable=False),
    Column("actor_id", Uuid, nullable=True),
    Column("request_id", String(128), nullable=True),
    Column("payload", Text, nullable=False),
    Column("trace_parent", String(55), nullable=True),
    Column("claimed_until", UtcDateTime, nullable=True),
    Column("claim_token", Uuid, nullable=True),
    Column("published_at", UtcDateTime, nullable=True),
)
Index(
    "ix_outbox_unpublished",
    outbox.c.id,
    postgresql_where=outbox.c.published_at.is_(None),
    sqlite_where=outbox.c.published_at.is_(None),
)

todos = Table(
    "todos",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("owner_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("completed", Boolean, nullable=False),
    Column("due_at", UtcDateTime, nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
# The default listing (newest first), with and without the completed filter, walks an index
# in order and stops after one page; the other sorts order one user's todos in memory.
Index("ix_todos_owner_created", todos.c.owner_id, todos.c.created_at, todos.c.id)
Index("ix_todos_owner_completed_created", todos.c.owner_id, todos.c.completed, todos.c.created_at, todos.c.id)

# One record per relayed event, written by the relay before it queues the job: the admin's
# view of jobs, and the in-process runner's queue.
jobs = Table(
    "jobs",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("enqueued_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("run_at", UtcDateTime, nullable=False),
    # The relayed event, in the one envelope encoding: what a retry or the in-process
    # runner hands to the handlers again.
    Column("envelope", Text, nullable=False),
    # Held by the worker running the job; a worker that died lets it lapse.
    Column("lease_until", UtcDateTime, nullable=True),
    Column("version", Integer, nullable=False),
)
Index("ix_jobs_status_enqueued", jobs.c.status, jobs.c.enqueued_at)
Index("ix_jobs_enqueued", jobs.c.enqueued_at)
Index("ix_jobs_status_run_at", jobs.c.status, jobs.c.run_at)

# Which handler processed which event for good: a redelivered job skips them.
handled_events = Table(
    "handled_events",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("handler", String(100), primary_key=True),
    Column("handled_at", UtcDateTime, nullable=False),
)

# Security-relevant changes, written in the transaction of the change each records. No
# foreign keys: an entry outlives the accounts it names (``user.deleted`` is about one that
# is gone). ``detail`` is a JSON object of plain values (text, so both databases read it alike).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("type", String(64), nullable=False),
    Column("actor_id", Uuid, nullable=True),
    Column("subject_id", Uuid, nullable=True),
    Column("ip", String(45), nullable=True),
    Column("user_agent", String(512), nullable=True),
    Column("detail", Text, nullable=False),
)
# Newest first, overall (and the retention's range delete) and per account, as subject or actor.
Index("ix_audit_log_at", audit_log.c.at, audit_log.c.id)
Index("ix_audit_log_subject_at", audit_log.c.subject_id, audit_log.c.at, audit_log.c.id)
Index("ix_audit_log_actor_at", audit_log.c.actor_id, audit_log.c.at, audit_log.c.id)

# Posts. ``tags`` repeats the post's tag names (sorted, space-separated, '' for none) so a
# page of posts is one query; ``post_tags`` is the normalized copy that the tag filter and
# the tag counts read through their indexes.
#
# Titles sort by code point, as todos' do. On PostgreSQL the column itself is in the "C"
# collation, so a plain index on it serves ``ORDER BY title`` (an index in the database's
# collation would not, and an expression index on ``title COLLATE "C"`` cannot be declared
# for SQLite, which has no "C" collation); SQLite compares text as UTF-8 bytes (BINARY),
# which is the same order, so it keeps its default.
posts = Table(
    "posts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("author_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # "C" too: a slug's numbered forms are one index range in code-point order (used_slugs).
    Column("slug", String(80, collation="C").with_variant(String(80), "sqlite"), nullable=False),
    Column("title", String(200, collation="C").with_variant(String(200), "sqlite"), nullable=False),
    Column("content", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("published", Boolean, nullable=False),
    Column("image_key", String(64), nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("slug"),
)
# Every sort of every listing walks an index in order and stops after one page
# (adapters/sql/post_listing.py): the public one (published posts), a signed-in author's
# (the published posts, merged with the author's own drafts: author_id and published are
# both equalities there, so their range of the index is exactly the drafts, however many
# posts the author published) and an admin's (every post). The author indexes also serve
# the cascade when a user is deleted.
Index("ix_posts_published_created", posts.c.published, posts.c.created_at, posts.c.id)
Index("ix_posts_published_updated", posts.c.published, posts.c.updated_at, posts.c.id)
Index("ix_posts_published_title", posts.c.published, posts.c.title, posts.c.id)
Index("ix_posts_author_published_created", posts.c.author_id, posts.c.published, posts.c.created_at, posts.c.id)
Index("ix_posts_author_published_updated", posts.c.author_id, posts.c.published, posts.c.updated_at, posts.c.id)
Index("ix_posts_author_published_title", posts.c.author_id, posts.c.published, posts.c.title, posts.c.id)
Index("ix_posts_created", posts.c.created_at, posts.c.id)
Index("ix_posts_updated", posts.c.updated_at, posts.c.id)
Index("ix_posts_title", posts.c.title, posts.c.id)

POSTS_SEARCH = "search"
"""PostgreSQL only (migration 0009): ``posts.search``, a stored generated ``tsvector`` of
``to_tsvector('simple', title || ' ' || content)``, ASCII punctuation first turned into spaces
(so PostgreSQL splits words where ``domain/posts/search.py`` does), with the GIN index
``ix_posts_search``.
It is not in the ``posts`` table above, since SQLite has no ``tsvector``: queries name it
with ``literal_column``, and the schema comparison leaves it out."""

tags = Table(
    "tags",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("name", String(32), nullable=False, unique=True),
)

post_tags = Table(
    "post_tags",
    metadata,
    Column("post_id", Uuid, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", _BigId, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)
# The posts of one tag (the primary key serves the tags of one post).
Index("ix_post_tags_tag_post", post_tags.c.tag_id, post_tags.c.post_id)

# The record of each stored upload (the bytes are in file storage, under ``key``).
files = Table(
    "files",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("key", String(64), nullable=False, unique=True),
    # Indexed for the cascade when the owner's account is deleted.
    Column("owner_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("content_type", String(32), nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Broadcast campaigns. ``created_by`` cascades: the domain's ``Campaign.created_by`` is a
# ``UserId``, never absent, so a campaign cannot outlive the admin who created it (ON DELETE
# SET NULL would need ``UserId | None`` there). ``sender_token``/``sender_until`` are the
# sender's lease, written apart from the user-visible columns: they move no ``version``.
campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("audience", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    # Indexed for the cascade when the account is deleted.
    Column("created_by", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("sender_token", String(64), nullable=True),
    Column("sender_until", UtcDateTime, nullable=True),
)
# The listing (newest first), and the sender's claim: running campaigns, oldest started first.
Index("ix_campaigns_created", campaigns.c.created_at, campaigns.c.id)
Index(
    "ix_campaigns_running",
    campaigns.c.started_at,
    campaigns.c.id,
    postgresql_where=campaigns.c.status == "running",
    sqlite_where=campaigns.c.status == "running",
)

# One row per (campaign, chat): the primary key is what makes a recipient get at most one
# message per campaign; it also serves the page of deliveries (chat id order).
deliveries = Table(
    "deliveries",
    metadata,
    Column("campaign_id", Uuid, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("chat_id", BigInteger, primary_key=True, autoincrement=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", String(32), nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("next_attempt_at", UtcDateTime, nullable=True),
)
# Counts by status (stats, unfinished), the bulk moves of one status (cancel, fail in
# flight) and the earliest next attempt; the partial index walks the due rows in the order
# the sender takes them (fewest attempts, then chat id) and stops after one batch.
Index("ix_deliveries_campaign_status", deliveries.c.campaign_id, deliveries.c.status, deliveries.c.next_attempt_at)
Index(
    "ix_deliveries_pending",
    deliveries.c.campaign_id,
    deliveries.c.attempts,
    deliveries.c.chat_id,
    postgresql_where=deliveries.c.status == "pending",
    sqlite_where=deliveries.c.status == "pending",
)

# The chats the bot knows (``/start``, ``/stop``, a 403 from Telegram).
telegram_chats = Table(
    "telegram_chats",
    metadata,
    Column("chat_id", BigInteger, primary_key=True, autoincrement=False),
    Column("subscribed", Boolean, nullable=False),
    Column("blocked", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The message_id of the last /start or /stop applied: an older one handled late changes nothing.
    Column("command_message_id", BigInteger, nullable=True),
)
# The audience of a ``subscribers`` campaign, and its count.
Index(
    "ix_telegram_chats_subscribed",
    telegram_chats.c.chat_id,
    postgresql_where=telegram_chats.c.subscribed == true(),
    sqlite_where=telegram_chats.c.subscribed == true(),
)

# Webhook updates as received, once per ``update_id``. ``payload`` is the JSON text.
bot_updates = Table(
    "bot_updates",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("update_id", BigInteger, nullable=False, unique=True),
    Column("payload", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

# One thread per chat; ``blocked`` is read from ``telegram_chats``, not stored here.
chat_threads = Table(
    "chat_threads",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("chat_id", BigInteger, nullable=False, unique=True),
    Column("title", String(200), nullable=False),
    Column("last_message_at", UtcDateTime, nullable=False),
)
Index("ix_chat_threads_last_message", chat_threads.c.last_message_at, chat_threads.c.id)

chat_messages = Table(
    "chat_messages",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("thread_id", Uuid, ForeignKey("chat_threads.id", ondelete="CASCADE"), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("text", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("error", String(32), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
)
# A thread's messages, newest first (and the cascade when the thread goes).
Index("ix_chat_messages_thread_created", chat_messages.c.thread_id, chat_messages.c.created_at, chat_messages.c.id)
