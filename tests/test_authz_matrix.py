"""The authorisation matrix: every route of the portal × visitor, member, owner, organiser, admin.

SECURITY.md promises "Nobody acts as another person": every write checks who may make it; this
file proves it route by route. ``MATRIX`` lists, for every rule in ``app.url_map`` and each of
its methods, what each of five people gets:

- *visitor*: not logged in;
- *member*: registered, owns nothing here (a stranger to every object);
- *owner*: the person the route's object belongs to (``Row.owner``): the RFP's author for RFP,
  plot, presentation and comment routes (the author also wrote the comment and the plots), the
  claimant for claim routes (but the RFP's author for accepting a delivery), the account itself
  for ``/account/password``, ``/account/profile``, ``/notifications`` and
  ``/users/<author>/role|active``. Routes without an object (``/rfps/new``, Jams, the public pages) use the RFP's author as a plain
  member;
- *organiser* and *admin*: roles given by an admin.

A few related parties that are none of the five (the RFP's author on someone's claim, the claimant
on their own delivery, anyone on a delivered result plot) are in ``MORE``.

How an outcome is verified (``verify``):

- every request is bracketed by a dump of every row of every table and of the upload store's
  file names (``snapshot``);
- a page (GET) is 200, and changed nothing;
- a refusal is 403 (or 302 to the log-in page with ``next`` for visitors, or 422 where a rule
  says why on the form) and changed nothing: not one row anywhere, not one file;
- an allowed write redirects (302/303, to this site, not to the log-in page) and its row's
  ``check`` finds the concrete change in the database (or in the session, for log-in/out).

Speed: every case gets a "scene" (the five people, two RFPs, an active claim with a progress
update, a delivered claim, a comment, plots, two Jams, a presentation, notifications), built
through the services on an app shared by the module (one per database). A refusal leaves the
scene as it was (that is what is verified), so the next case reuses it and its logged-in clients;
after a write, the database is emptied and a new scene built.

The open-redirect cases for ``next`` are at the end.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from unittest import mock
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from rfp_portal import create_app
from rfp_portal.db import Base, get_session
from rfp_portal.models import (
    DEFAULT_DELIVERY,
    Channel,
    ClaimStatus,
    Compute,
    Difficulty,
    MessageKind,
    MessageState,
    ModerationKind,
    NotificationKind,
    OutboxMessage,
    PlotKind,
    RfpState,
    Role,
    SeriesKind,
    SlotKind,
    SlotState,
    User,
    Webhook,
    WebhookFormat,
)
from rfp_portal.rendering.images import process_upload
from rfp_portal.services import claims as claim_services
from rfp_portal.services import plots as plot_services
from rfp_portal.services import tokens
from rfp_portal.services.agenda import SlotOffer, accept_slot, offer_slot
from rfp_portal.services.claims import claim_rfp, deliver_result, post_progress
from rfp_portal.services.comments import post_comment
from rfp_portal.services.events import EventDraft, SeriesDraft, add_series, create_event
from rfp_portal.services.jams import JamDraft, create_jam, link_to_jam
from rfp_portal.services.notifications import notify
from rfp_portal.services.plots import add_example_plot
from rfp_portal.services.rfps import RfpDraft, share_draft, submit_rfp
from rfp_portal.services.sessions import start_login_session
from rfp_portal.storage import get_store
from rfp_portal.web.context import claim_policy, now
from tests import images
from tests.conftest import FAST_HASH, PASSWORD, Web, create_schema

NEW_PASSWORD = "lanterns over quiet harbours"
ACTORS = ("visitor", "member", "owner", "organiser", "admin")

# -- outcomes ----------------------------------------------------------------------------------

PAGE = "200"  # the page is shown
LOGIN = "login"  # 302 to /login?next=<this path>
DENY = "403"  # refused
HOME = "home"  # 302 to / (the log-in and register pages, for someone already logged in)
REFUSED_422 = "422"  # a rule refuses it on the form (the author claiming their own RFP)
DONE = "done"  # the write happened: a same-site redirect and the row's check holds
NOT_FOUND = "404"  # as if it did not exist (someone else's draft)

# -- the app and the database, one per database for the whole module ---------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def matrix_app(request, tmp_path_factory) -> Iterator:
    """An app on an empty database of its own (so no other test's truncation can reach it)."""
    root = tmp_path_factory.mktemp(f"authz-{request.param}")
    server = None
    if request.param == "sqlite":
        url = f"sqlite:///{root / 'authz.db'}"
    else:
        server = sa.create_engine(
            request.getfixturevalue("postgres_url"), isolation_level="AUTOCOMMIT"
        )
        name = f"rfp_authz_{uuid.uuid4().hex[:8]}"
        with server.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.make_url(server.url).set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(url)
    create_schema(engine)
    engine.dispose()
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(root / "instance"),
            "TESTING": True,
            "RATELIMIT_ENABLED": False,
        }
    )
    yield app
    app.extensions["rfp_db"]["engine"].dispose()
    if server is not None:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        server.dispose()


def engine_of(app) -> sa.Engine:
    return app.extensions["rfp_db"]["engine"]


# -- a fingerprint of the whole database ----------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """Every row of every table, by primary key, and the files in the upload store."""

    tables: dict[str, dict[tuple, dict]]
    files: frozenset[str] = frozenset()

    def rows(self, table: str, **where) -> list[dict]:
        return [
            row
            for row in self.tables[table].values()
            if all(row[key] == value for key, value in where.items())
        ]

    def row(self, table: str, id: int) -> dict | None:
        return self.tables[table].get((id,))


def snapshot(app) -> Snapshot:
    tables = {}
    with engine_of(app).connect() as conn:
        for table in Base.metadata.sorted_tables:
            key = [column.name for column in table.primary_key.columns]
            # When a log-in session was last seen is bookkeeping, written once a minute at most.
            skip = {"last_seen_at"} if table.name == "login_sessions" else set()
            tables[table.name] = {
                tuple(row[k] for k in key): {k: v for k, v in row.items() if k not in skip}
                for row in conn.execute(sa.select(table)).mappings()
            }
    uploads = app.config["UPLOAD_FOLDER"]
    files = frozenset(
        os.path.relpath(os.path.join(folder, name), uploads)
        for folder, _, names in os.walk(uploads)
        for name in names
        if not name.startswith(".")  # the store's lock files
    )
    return Snapshot(tables, files)


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What differs, as "table key: added/removed/changed {columns}" lines."""
    found = []
    for name, rows in after.tables.items():
        old = before.tables[name]
        for key in rows.keys() - old.keys():
            found.append(f"{name} {key}: added")
        for key in old.keys() - rows.keys():
            found.append(f"{name} {key}: removed")
        for key in rows.keys() & old.keys():
            columns = sorted(c for c in rows[key] if rows[key][c] != old[key][c])
            if columns:
                found.append(f"{name} {key}: changed {columns}")
    found += [f"file {name}: added" for name in after.files - before.files]
    found += [f"file {name}: removed" for name in before.files - after.files]
    return found


def empty_database(app) -> None:
    engine = engine_of(app)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        if engine.dialect.name == "sqlite":  # PostgreSQL's index goes with its RFPs (cascade)
            conn.execute(sa.text("DELETE FROM rfp_fts"))
    cache = app.extensions.get("page_cache")
    if cache is not None:  # pages of the last scene must not be served for the next one
        cache.clear()


# -- the scene -----------------------------------------------------------------------------------

PEOPLE = {
    "author": Role.MEMBER,  # wrote the RFPs, the comment and the plots; presents at Jam #1
    "claimant": Role.MEMBER,  # works on the first RFP, delivered on the second
    "member": Role.MEMBER,  # a stranger to all of it
    "organiser": Role.ORGANISER,
    "admin": Role.ADMIN,
}


class Browser:
    """A test client that keeps its CSRF token, so a post costs one request."""

    def __init__(self, app, username: str | None = None) -> None:
        self.web = Web(app.test_client())
        self.token: str | None = None
        if username is not None:
            response = self.web.login(username)
            assert response.status_code == 302, f"{username} could not log in"

    def get(self, url: str):
        return self.web.client.get(url)

    def post(self, url: str, data: dict):
        if self.token is None:
            self.token = self.web.csrf_token("/")
        return self.web.client.post(url, data={**data, "csrf_token": self.token})


@dataclass
class Scene:
    """One set of people and things; ``ids`` fills the URLs of the matrix."""

    app: object
    users: dict[str, int]
    ids: dict[str, object]
    browsers: dict[str, Browser] = field(default_factory=dict)
    dirty: bool = False

    def browser(self, person: str | None) -> Browser:
        if person is None:
            return Browser(self.app)  # a new visitor each time
        if person not in self.browsers:
            self.browsers[person] = Browser(self.app, person)
        return self.browsers[person]


@pytest.fixture(scope="module")
def processed_png():
    """One uploaded image, checked and re-encoded once: the scenes reuse the result, since the
    image pipeline (a child process per image) is not what this file tests."""
    return process_upload(images.png(64, 48))


def rfp_draft(title: str) -> RfpDraft:
    return RfpDraft(
        title=title,
        summary=f"Summary of {title}",
        big_picture="Why it matters.",
        first_plot="Loss against steps.",
        tags=["testing"],
        difficulty=Difficulty.BEGINNER,
        compute=Compute.LAPTOP,
        claim_cap=None,
    )


def jam_draft(number: int) -> JamDraft:
    return JamDraft(
        number=number,
        title=f"Research Jam {number}",
        local_start=datetime(2030, 6, number, 16, 0),
        timezone="America/Los_Angeles",
        duration_minutes=90,
        join_url=None,
        description="",
    )


def build_scene(app, processed) -> Scene:
    """Empty the database and build a scene through the services."""
    empty_database(app)
    password_hash = generate_password_hash(PASSWORD, FAST_HASH)
    with (
        app.app_context(),
        mock.patch.object(plot_services, "process_upload", return_value=processed),
        mock.patch.object(claim_services, "process_upload", return_value=processed),
    ):
        session, store = get_session(), get_store()
        moment, policy = now(), claim_policy()
        people = {
            name: User(
                username=name,
                email=f"{name}@example.org",
                display_name=f"Person {name}",
                role=role,
                password_hash=password_hash,
            )
            for name, role in PEOPLE.items()
        }
        session.add_all(people.values())
        session.flush()
        author, claimant = people["author"], people["claimant"]
        rfp = submit_rfp(session, author=author, draft=rfp_draft("The first RFP"), no_plot_yet=True)
        done_rfp = submit_rfp(
            session, author=author, draft=rfp_draft("The second RFP"), no_plot_yet=True
        )
        plots = [
            add_example_plot(
                session, store, rfp=rfp, actor=author, data=b"", caption=f"Plot {n}", alt_text="A"
            )
            for n in (1, 2)
        ]
        # a draft with a plot, shared through a link: its author's, an admin's to read, no more
        draft = submit_rfp(session, author=author, draft=rfp_draft("A draft"), publish=False)
        draft_plot = add_example_plot(
            session, store, rfp=draft, actor=author, data=b"", caption="Draft plot", alt_text="A"
        )
        share_token = share_draft(session, rfp=draft, actor=author)
        claim = claim_rfp(
            session, rfp=rfp, person=claimant, note="On it", now=moment, policy=policy
        )
        post_progress(
            session, claim=claim, person=claimant, body="First try.", now=moment, policy=policy
        )
        delivered = claim_rfp(session, rfp=done_rfp, person=claimant, now=moment, policy=policy)
        result = deliver_result(
            session,
            store,
            claim=delivered,
            person=claimant,
            result_url="https://example.org/result",
            write_up="It worked.",
            image=b"",
            caption="Result",
            alt_text="A result",
            now=moment,
        )
        comment = post_comment(
            session, rfp=rfp, author=author, body="A comment.", now=moment, policy=policy
        )
        jam = create_jam(session, organiser=people["organiser"], draft=jam_draft(1), now=moment)
        free_jam = create_jam(
            session, organiser=people["organiser"], draft=jam_draft(2), now=moment
        )
        presentation = link_to_jam(
            session,
            rfp=rfp,
            jam=jam,
            person=author,
            slides_url=None,
            recording_url=None,
            now=moment,
        )
        # the author offers Jam #1 three small updates; an organiser put two on the agenda
        slots = [
            offer_slot(
                session,
                jam=jam,
                person=author,
                offer=SlotOffer(
                    kind=SlotKind.UPDATE, minutes=10, title=f"Update {n}", line="A line."
                ),
                now=moment,
            )
            for n in (1, 2, 3)
        ]
        session.refresh(jam, ["slots"])
        for slot in slots[1:]:
            accept_slot(session, slot=slot, organiser=people["organiser"], now=moment)
        series = add_series(
            session,
            draft=SeriesDraft(name="Club", slug="club", kind=SeriesKind.NUMBERED, description=""),
            now=moment,
        )
        event = create_event(
            session,
            organiser=people["organiser"],
            series=series,
            draft=EventDraft(
                number=1,
                title="Hangout",
                local_start=datetime(2030, 6, 9, 10, 0),
                timezone="America/Los_Angeles",
                duration_minutes=60,
                join_url=None,
                description="",
            ),
            now=moment,
        )
        # everyone has something unread (the author and the claimant already do)
        notify(
            session,
            recipients=[people["member"].id, people["organiser"].id, people["admin"].id],
            actor=claimant,
            kind=NotificationKind.COMMENTED,
            rfp_id=rfp.id,
            comment_id=comment.id,
            now=moment,
        )
        # what the portal sends: a webhook, and a message that failed for good
        webhook = Webhook(
            name="Discord",
            format=WebhookFormat.DISCORD,
            url="https://1.1.1.1/hook",
            events="rfp_published",
        )
        session.add(webhook)
        failed = OutboxMessage(
            channel=Channel.EMAIL,
            kind=MessageKind.CONFIRM_ADDRESS,
            user_id=people["member"].id,
            state=MessageState.FAILED,
            attempts=10,
            last_error="SMTP 550 no such mailbox",
        )
        session.add(failed)
        session.commit()
        member, secret = people["member"], app.config["SECRET_KEY"]
        account_tokens = {
            "reset_token": tokens.reset_token(
                secret,
                user_id=member.id,
                fingerprint=member.password_fingerprint(),
                requested_at=moment,
                email=member.email,
            ),
            "confirm_token": tokens.confirm_token(secret, member, now=moment),
            "unsubscribe_token": tokens.unsubscribe_token(secret, member, "commented"),
        }
        # the author is logged in on another browser too: the session to end
        other_browser = start_login_session(
            session, user=author, user_agent="Firefox/128.0 (X11; Linux)", now=moment
        )
        session.commit()
        ids = {
            "login_session": other_browser.id,
            "rfp": rfp.id,
            "done_rfp": done_rfp.id,
            "draft": draft.id,
            "draft_plot": draft_plot.id,
            "share_token": share_token,
            "plot": plots[0].id,
            "plot2": plots[1].id,
            "result_plot": result.id,
            "claim": claim.id,
            "delivered": delivered.id,
            "comment": comment.id,
            "jam": jam.number,
            "free_jam": free_jam.number,
            "free_jam_id": free_jam.id,
            "new_jam": 3,
            "jam_id": jam.id,
            "offer": slots[0].id,
            "slot": slots[1].id,
            "slot2": slots[2].id,
            "series": series.slug,
            "event": event.slug,
            "presentation": presentation.id,
            "webhook": webhook.id,
            "message": failed.id,
            "tag": "testing",
            **account_tokens,
            **{name: name for name in people},  # usernames, for /users/<username>
            **{f"{name}_id": user.id for name, user in people.items()},  # for forged fields
        }
        users = {name: user.id for name, user in people.items()}
    return Scene(app=app, users=users, ids=ids)


@dataclass
class World:
    """The current scene of one app; a new one once a case has changed anything."""

    app: object
    processed: object
    current: Scene | None = None

    def scene(self) -> Scene:
        if self.current is None or self.current.dirty:
            self.current = build_scene(self.app, self.processed)
        return self.current


@pytest.fixture(scope="module")
def world(matrix_app, processed_png) -> World:
    return World(matrix_app, processed_png)


# -- what an allowed write must have changed -------------------------------------------------------


@dataclass
class Done:
    """What a check gets: the database before and after, the scene and who acted."""

    before: Snapshot
    after: Snapshot
    scene: Scene
    person: str | None
    browser: Browser

    @property
    def ids(self) -> dict:
        return self.scene.ids

    @property
    def person_id(self) -> int:
        return self.scene.users[self.person]

    def added(self, table: str, **where) -> dict:
        """The one row of ``table`` (matching ``where``) that the request added."""
        rows = [
            row
            for row in self.after.rows(table, **where)
            if row not in self.before.rows(table, **where)
        ]
        assert len(rows) == 1, f"expected one new row in {table} where {where}, got {rows}"
        return rows[0]

    def moderation_logged(self, kind: ModerationKind) -> None:
        self.added("moderation_actions", kind=kind, actor_id=self.person_id)


def logged_in_as(username: str) -> Callable[[Done], None]:
    def check(d: Done) -> None:
        assert f'href="/users/{username}"' in d.browser.get("/").get_data(as_text=True)

    return check


def logged_out(d: Done) -> None:
    response = d.browser.get("/notifications")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def password_changed(d: Done) -> None:
    old, new = d.before.row("users", d.person_id), d.after.row("users", d.person_id)
    assert new["password_hash"] != old["password_hash"]
    found = [line for line in changes(d.before, d.after) if not line.startswith("site_state")]
    other = d.scene.ids["login_session"]  # the author's other browser ends; this one stays
    assert sorted(found) == sorted(
        [f"users ({d.person_id},): changed ['password_hash']"]
        + ([f"login_sessions ({other},): changed ['ended_at']"] if d.person == "author" else [])
    )


def login_session_ended(d: Done) -> None:
    ended = d.after.row("login_sessions", d.scene.ids["login_session"])
    assert ended["ended_at"] is not None
    found = [line for line in changes(d.before, d.after) if not line.startswith("site_state")]
    assert found == [f"login_sessions ({d.scene.ids['login_session']},): changed ['ended_at']"]


def other_login_sessions_ended(d: Done) -> None:
    still = [
        row for row in d.after.tables["login_sessions"].values()
        if row["user_id"] == d.person_id and row["ended_at"] is None
    ]  # fmt: skip
    assert len(still) == 1  # this browser's own


def reset_requested(d: Done) -> None:
    d.added("outbox", kind=MessageKind.PASSWORD_RESET, user_id=d.scene.users["member"])


def password_reset(d: Done) -> None:
    member = d.scene.users["member"]
    assert (
        d.after.row("users", member)["password_hash"]
        != d.before.row("users", member)["password_hash"]
    )
    logged_in_as("member")(d)  # whoever followed the link is now logged in as its account


def address_confirmed(d: Done) -> None:
    assert d.after.row("users", d.scene.users["member"])["email_confirmed_at"] is not None


def confirmation_sent(d: Done) -> None:
    d.added("outbox", kind=MessageKind.CONFIRM_ADDRESS, user_id=d.person_id)


def address_changed(d: Done) -> None:
    assert d.after.row("users", d.person_id)["email"] == "moved@example.org"
    d.added("outbox", kind=MessageKind.CONFIRM_ADDRESS, user_id=d.person_id)


def settings_saved(d: Done) -> None:
    d.added("notification_settings", user_id=d.person_id, kind="claimed")


def unsubscribed(d: Done) -> None:
    d.added("notification_settings", user_id=d.scene.users["member"], kind="commented")


def message_retried(d: Done) -> None:
    assert d.after.row("outbox", d.ids["message"])["state"] is MessageState.WAITING


def webhook_added(d: Done) -> None:
    d.added("webhooks", name="Another")


def webhook_removed(d: Done) -> None:
    assert d.after.rows("webhooks", id=d.ids["webhook"]) == []


def watching(d: Done) -> None:
    assert d.after.rows("rfp_watches", rfp_id=d.ids["rfp"], user_id=d.person_id)


def following(d: Done) -> None:
    assert d.after.rows("tag_follows", user_id=d.person_id)


def registered(d: Done) -> None:
    user = d.added("users", username="newcomer")
    assert user["role"] is Role.MEMBER and user["active"]  # a posted role=admin is ignored


def claim_accepted(d: Done) -> None:
    assert d.after.row("claims", d.ids["delivered"])["accepted_at"] is not None
    assert d.after.row("rfps", d.ids["done_rfp"])["state"] is RfpState.COMPLETED


def claimed(d: Done) -> None:
    d.added("claims", rfp_id=d.ids["rfp"], claimant_id=d.person_id, status=ClaimStatus.ACTIVE)


def delivered(d: Done) -> None:
    claim = d.after.row("claims", d.ids["claim"])
    assert claim["status"] is ClaimStatus.DELIVERED and claim["result_plot_id"] is not None
    assert d.after.row("plots", claim["result_plot_id"])["kind"] is PlotKind.RESULT


def dropped(d: Done) -> None:
    assert d.after.row("claims", d.ids["claim"])["status"] is ClaimStatus.DROPPED


def progress_posted(d: Done) -> None:
    d.added("progress_updates", claim_id=d.ids["claim"], body_md="Tried a smaller model.")


def commented(d: Done) -> None:
    d.added("comments", rfp_id=d.ids["rfp"], author_id=d.person_id, body_md="A new comment.")


def comment_deleted(d: Done) -> None:
    assert d.after.row("comments", d.ids["comment"])["deleted_at"] is not None


def comment_edited(d: Done) -> None:
    assert d.after.row("comments", d.ids["comment"])["body_md"] == "An edited comment."


def comment_hidden(d: Done) -> None:
    comment = d.after.row("comments", d.ids["comment"])
    assert comment["hidden_at"] is not None and comment["hidden_by_id"] == d.person_id
    d.moderation_logged(ModerationKind.HIDE_COMMENT)


def notifications_read(d: Done) -> None:
    mine = {"recipient_id": d.person_id}
    assert any(row["read_at"] is None for row in d.before.rows("notifications", **mine))
    assert all(row["read_at"] is not None for row in d.after.rows("notifications", **mine))
    for key, row in d.after.tables["notifications"].items():
        if row["recipient_id"] != d.person_id:
            assert row == d.before.tables["notifications"][key]  # nobody else's


def jam_edited(d: Done) -> None:
    assert d.after.rows("jams", number=d.ids["jam"])[0]["title"] == "A renamed Jam"


def jam_linked(d: Done) -> None:
    presentation = d.added("presentations", rfp_id=d.ids["rfp"], jam_id=d.ids["free_jam_id"])
    assert presentation["presenter_id"] == d.scene.users["author"]  # the author presents


def jam_created(d: Done) -> None:
    d.added("jams", number=d.ids["new_jam"])


def jam_unlinked(d: Done) -> None:
    assert d.after.row("presentations", d.ids["presentation"]) is None


def slot_offered(d: Done) -> None:
    slot = d.added("agenda_slots", jam_id=d.ids["jam_id"], offered_by_id=d.person_id)
    assert slot["state"] is SlotState.OFFERED and slot["title"] == "My small update"


def slot_withdrawn(d: Done) -> None:
    assert d.after.row("agenda_slots", d.ids["offer"]) is None


def slot_accepted(d: Done) -> None:
    slot = d.after.row("agenda_slots", d.ids["offer"])
    assert slot["state"] is SlotState.ACCEPTED and slot["start_offset_minutes"] == 20


def slot_declined(d: Done) -> None:
    slot = d.after.row("agenda_slots", d.ids["offer"])
    assert slot["state"] is SlotState.DECLINED and slot["decline_reason"] == "The Jam is full."


def slot_moved(d: Done) -> None:
    first, second = (d.after.row("agenda_slots", d.ids[key]) for key in ("slot", "slot2"))
    assert second["position"] < first["position"]
    assert second["start_offset_minutes"] == 0 and first["start_offset_minutes"] == 10


def slot_timed(d: Done) -> None:
    assert d.after.row("agenda_slots", d.ids["slot2"])["start_offset_minutes"] == 45


def slot_materials_added(d: Done) -> None:
    assert d.after.row("agenda_slots", d.ids["slot"])["slides_url"] == "https://example.org/s"


def series_added(d: Done) -> None:
    d.added("event_series", slug="socials")


def event_added(d: Done) -> None:
    d.added("events", number=2, slug="2")


def event_edited(d: Done) -> None:
    event = d.after.rows("events", slug=d.ids["event"])[0]
    assert event["title"] == "A renamed hangout"


def plot_added(d: Done) -> None:
    d.added("plots", rfp_id=d.ids["rfp"], kind=PlotKind.EXAMPLE, created_by_id=d.person_id)


def plot_deleted(d: Done) -> None:
    assert d.after.row("plots", d.ids["plot"]) is None


def plot_edited(d: Done) -> None:
    assert d.after.row("plots", d.ids["plot"])["caption"] == "A new caption"


def plot_moved(d: Done) -> None:
    moved, other = (d.after.row("plots", d.ids[key])["position"] for key in ("plot", "plot2"))
    assert moved > other


def rfp_edited(d: Done) -> None:
    rfp = d.after.row("rfps", d.ids["rfp"])
    assert rfp["title"] == "An edited title" and rfp["author_id"] == d.scene.users["author"]


def rfp_submitted(d: Done) -> None:
    rfp = d.added("rfps", title="A new RFP", author_id=d.person_id)  # not the posted author_id
    assert rfp["state"] is RfpState.OPEN  # nor the posted state


def wanted(d: Done) -> None:
    d.added("wants", rfp_id=d.ids["rfp"], user_id=d.person_id)
    count = (snap.row("rfps", d.ids["rfp"])["want_count"] for snap in (d.before, d.after))
    assert next(count) + 1 == next(count)


def draft_published(d: Done) -> None:
    draft = d.after.row("rfps", d.ids["draft"])
    assert draft["state"] is RfpState.OPEN and draft["share_token"] is None


def share_revoked(d: Done) -> None:
    assert d.before.row("rfps", d.ids["draft"])["share_token"] is not None
    assert d.after.row("rfps", d.ids["draft"])["share_token"] is None


def draft_deleted(d: Done) -> None:
    assert d.after.row("rfps", d.ids["draft"]) is None
    assert d.after.row("plots", d.ids["draft_plot"]) is None


def withdrawn(d: Done) -> None:
    assert d.after.row("rfps", d.ids["rfp"])["state"] is RfpState.WITHDRAWN
    if d.person != "author":  # someone else's RFP: a moderation action, in the log
        d.moderation_logged(ModerationKind.WITHDRAW_RFP)
    else:
        assert d.after.tables["moderation_actions"] == d.before.tables["moderation_actions"]


def profile_saved(d: Done) -> None:
    """The person's own row took the profile; nobody else's changed (a posted username is
    ignored: the route edits whoever is logged in)."""
    mine = d.after.row("users", d.person_id)
    assert mine["display_name"] == "A new name" and mine["open_to_mentoring"] is True
    assert mine["website_url"] == "https://example.org/me"
    for key, row in d.after.tables["users"].items():
        if row["id"] != d.person_id:
            assert row == d.before.tables["users"][key]


def deactivated(d: Done) -> None:
    assert d.after.row("users", d.scene.users["author"])["active"] is False
    d.moderation_logged(ModerationKind.DEACTIVATE_ACCOUNT)


def role_changed(d: Done) -> None:
    assert d.after.row("users", d.scene.users["author"])["role"] is Role.ADMIN
    d.moderation_logged(ModerationKind.CHANGE_ROLE)


# -- what each route is sent ------------------------------------------------------------------------


def upload(name: str = "plot.png") -> tuple:
    return (io.BytesIO(images.png(64, 48, (200, 60, 20))), name)


RFP_FORM = {
    "title": "An edited title",
    "summary": "A summary.",
    "big_picture": "Why.",
    "first_plot": "What.",
    "tags": "testing",
    "difficulty": "beginner",
    "compute": "laptop",
    "claim_cap": "",
    "no_plot_yet": "y",
}
JAM_FORM = {
    "number": "1",
    "title": "A renamed Jam",
    "starts_at": "2030-07-01T16:00",
    "timezone": "America/Los_Angeles",
    "duration_minutes": "90",
    "join_url": "",
    "description": "",
}
EVENT_FORM = {
    "title": "A renamed hangout",
    "starts_at": "2030-07-07T10:00",
    "timezone": "America/Los_Angeles",
    "duration_minutes": "60",
    "join_url": "",
    "description": "",
}
PLOT_TEXT = {"caption": "A new caption", "alt_text": "Loss falls with steps."}
PASSWORD_FORM = {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}

# -- the matrix ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One route and method: where it is, whose it is, what each of the five people gets."""

    endpoint: str
    method: str
    url: str  # formatted with the scene's ids
    expect: tuple[str, str, str, str, str]  # visitor, member, owner, organiser, admin
    owner: str = "author"  # whose object the route acts on (a key of PEOPLE)
    data: Callable[[dict], dict] | None = None  # the form posted, from the scene's ids
    check: Callable[[Done], None] | None = None  # the change an allowed write makes
    variant: str = ""  # for rows of MORE: which object, when not the route's usual one

    def person(self, actor: str) -> str | None:
        if actor == "visitor":
            return None
        return self.owner if actor == "owner" else actor


def everyone(outcome: str) -> tuple:
    return (outcome,) * 5


def logged_in(outcome: str) -> tuple:
    return (LOGIN, outcome, outcome, outcome, outcome)


def managers(outcome: str) -> tuple:
    """The RFP's author, organisers and admins."""
    return (LOGIN, DENY, outcome, outcome, outcome)


def owner_only(outcome: str) -> tuple:
    return (LOGIN, DENY, outcome, DENY, DENY)


def organisers(outcome: str) -> tuple:
    return (LOGIN, DENY, DENY, outcome, outcome)


def admins(outcome: str) -> tuple:
    return (LOGIN, DENY, DENY, DENY, outcome)


def no_data(ids: dict) -> dict:
    return {}


MATRIX: list[Row] = [
    # the JSON API: read-only and public
    Row("api.jam", "GET", "/api/v1/jams/{jam}", everyone(PAGE)),
    Row("api.jams", "GET", "/api/v1/jams", everyone(PAGE)),
    Row("api.events", "GET", "/api/v1/events", everyone(PAGE)),
    Row("api.openapi", "GET", "/api/v1/openapi.json", everyone(PAGE)),
    Row("api.rfp", "GET", "/api/v1/rfps/{rfp}", everyone(PAGE)),
    Row("api.rfps", "GET", "/api/v1/rfps", everyone(PAGE)),
    # accounts: the "owner" is the account itself
    Row("auth.login", "GET", "/login", (PAGE, HOME, HOME, HOME, HOME)),
    Row(
        "auth.login",
        "POST",
        "/login",
        (DONE, HOME, HOME, HOME, HOME),
        data=lambda ids: {"login": "member", "password": PASSWORD},
        check=logged_in_as("member"),
    ),
    Row("auth.logout", "POST", "/logout", logged_in(DONE), data=no_data, check=logged_out),
    Row("auth.password", "GET", "/account/password", logged_in(PAGE)),
    Row(
        "auth.password",
        "POST",
        "/account/password",
        logged_in(DONE),
        data=lambda ids: PASSWORD_FORM,
        check=password_changed,
    ),
    Row("auth.register", "GET", "/register", (PAGE, HOME, HOME, HOME, HOME)),
    Row("auth.login_sessions", "GET", "/account/sessions", logged_in(PAGE)),
    Row(
        "auth.end_login_session_page",
        "POST",
        "/account/sessions/{login_session}/end",
        owner_only(DONE),
        data=no_data,
        check=login_session_ended,
    ),
    Row(
        "auth.end_other_login_sessions",
        "POST",
        "/account/sessions/end-others",
        logged_in(DONE),
        data=no_data,
        check=other_login_sessions_ended,
    ),
    # e-mail: the signed link is the authority, whoever follows it
    Row("auth.forgot_password", "GET", "/password/forgot", everyone(PAGE)),
    Row(
        "auth.forgot_password",
        "POST",
        "/password/forgot",
        everyone(DONE),
        data=lambda ids: {"email": "member@example.org"},
        check=reset_requested,
    ),
    Row("auth.forgot_password_sent", "GET", "/password/forgot/sent", everyone(PAGE)),
    Row("auth.reset_password_page", "GET", "/password/reset/{reset_token}", everyone(PAGE)),
    Row(
        "auth.reset_password_page",
        "POST",
        "/password/reset/{reset_token}",
        everyone(DONE),
        data=lambda ids: {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        check=password_reset,
    ),
    Row(
        "auth.confirm_address_page",
        "GET",
        "/account/confirm/{confirm_token}",
        everyone(DONE),
        check=address_confirmed,
    ),
    Row(
        "auth.resend_confirmation",
        "POST",
        "/account/confirm",
        logged_in(DONE),
        data=no_data,
        check=confirmation_sent,
    ),
    Row("auth.email", "GET", "/account/email", logged_in(PAGE)),
    Row(
        "auth.email",
        "POST",
        "/account/email",
        logged_in(DONE),
        data=lambda ids: {"email": "moved@example.org", "password": PASSWORD},
        check=address_changed,
    ),
    Row("auth.notification_settings", "GET", "/account/notifications", logged_in(PAGE)),
    Row(
        "auth.notification_settings",
        "POST",
        "/account/notifications",
        logged_in(DONE),
        data=lambda ids: {**dict.fromkeys(DEFAULT_DELIVERY, "site"), "tag_digest": "site"},
        check=settings_saved,
    ),
    Row("auth.unsubscribe", "GET", "/unsubscribe/{unsubscribe_token}", everyone(PAGE)),
    Row(
        "auth.unsubscribe",
        "POST",
        "/unsubscribe/{unsubscribe_token}",
        everyone(DONE),
        data=no_data,
        check=unsubscribed,
    ),
    # what the portal sends: admins only
    Row("admin.outbox", "GET", "/admin/outbox", admins(PAGE)),
    Row(
        "admin.retry",
        "POST",
        "/admin/outbox/{message}/retry",
        admins(DONE),
        data=no_data,
        check=message_retried,
    ),
    Row("admin.webhooks", "GET", "/admin/webhooks", admins(PAGE)),
    Row(
        "admin.webhooks",
        "POST",
        "/admin/webhooks",
        admins(DONE),
        data=lambda ids: {
            "name": "Another",
            "format": "json",
            "url": "https://1.0.0.1/hook",
            "events": ["rfp_published", "result_delivered"],
        },
        check=webhook_added,
    ),
    Row(
        "admin.delete_webhook",
        "POST",
        "/admin/webhooks/{webhook}/delete",
        admins(DONE),
        data=no_data,
        check=webhook_removed,
    ),
    Row(
        "auth.register",
        "POST",
        "/register",
        (DONE, HOME, HOME, HOME, HOME),
        data=lambda ids: {
            "username": "newcomer",
            "email": "newcomer@example.org",
            "display_name": "Newcomer",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "role": "admin",  # not a field: must be ignored
        },
        check=registered,
    ),
    # claims: the owner is the claimant, but accepting is the RFP author's
    Row(
        "claims.accept",
        "POST",
        "/claims/{delivered}/accept",
        owner_only(DONE),
        data=no_data,
        check=claim_accepted,
    ),
    Row(
        "claims.create",
        "POST",
        "/rfps/{rfp}/claims",
        (LOGIN, DONE, REFUSED_422, DONE, DONE),  # the author does not claim their own RFP
        data=lambda ids: {"note": "I will try.", "claimant_id": str(ids["author_id"])},
        check=claimed,
    ),
    Row("claims.deliver", "GET", "/claims/{claim}/deliver", owner_only(PAGE), owner="claimant"),
    Row(
        "claims.deliver",
        "POST",
        "/claims/{claim}/deliver",
        owner_only(DONE),
        owner="claimant",
        data=lambda ids: {
            "result_url": "https://example.org/notebook",
            "write_up": "What I found.",
            "image": upload("result.png"),
            **PLOT_TEXT,
        },
        check=delivered,
    ),
    Row("claims.drop", "GET", "/claims/{claim}/drop", owner_only(PAGE), owner="claimant"),
    Row(
        "claims.drop",
        "POST",
        "/claims/{claim}/drop",
        owner_only(DONE),
        owner="claimant",
        data=no_data,
        check=dropped,
    ),
    Row(
        "claims.progress",
        "POST",
        "/claims/{claim}/progress",
        owner_only(DONE),
        owner="claimant",
        data=lambda ids: {f"claim-{ids['claim']}-body": "Tried a smaller model."},
        check=progress_posted,
    ),
    # comments: the author of the RFP wrote the comment; organisers hide, never edit
    Row(
        "comments.create",
        "POST",
        "/rfps/{rfp}/comments",
        logged_in(DONE),
        data=lambda ids: {"body": "A new comment.", "author_id": str(ids["claimant_id"])},
        check=commented,
    ),
    Row("comments.delete", "GET", "/comments/{comment}/delete", owner_only(PAGE)),
    Row(
        "comments.delete",
        "POST",
        "/comments/{comment}/delete",
        owner_only(DONE),
        data=no_data,
        check=comment_deleted,
    ),
    Row("comments.edit", "GET", "/comments/{comment}/edit", owner_only(PAGE)),
    Row(
        "comments.edit",
        "POST",
        "/comments/{comment}/edit",
        owner_only(DONE),
        data=lambda ids: {"body": "An edited comment."},
        check=comment_edited,
    ),
    Row(
        "comments.hide",
        "POST",
        "/comments/{comment}/hide",
        organisers(DONE),
        data=lambda ids: {"hidden": "1", "reason": "Abusive"},
        check=comment_hidden,
    ),
    Row("comments.notifications", "GET", "/notifications", logged_in(PAGE)),
    Row(
        "comments.read_all",
        "POST",
        "/notifications/read",
        logged_in(DONE),
        data=no_data,
        check=notifications_read,
    ),
    # Research Jams: organisers schedule them; the RFP's author (or an organiser) links the RFP
    Row("jams.calendar", "GET", "/jams.ics", everyone(PAGE)),
    Row("jams.feed", "GET", "/jams.atom", everyone(PAGE)),
    Row("jams.edit", "GET", "/jams/{jam}/edit", organisers(PAGE)),
    Row(
        "jams.edit",
        "POST",
        "/jams/{jam}/edit",
        organisers(DONE),
        data=lambda ids: {**JAM_FORM, "number": str(ids["jam"])},
        check=jam_edited,
    ),
    Row("jams.index", "GET", "/jams", everyone(PAGE)),
    Row("jams.jam_calendar", "GET", "/jams/{jam}.ics", everyone(PAGE)),
    Row(
        "jams.link",
        "POST",
        "/rfps/{rfp}/presentations",
        managers(DONE),
        data=lambda ids: {
            "jam": str(ids["free_jam_id"]),
            "slides_url": "",
            "recording_url": "",
            "presenter_id": str(ids["member_id"]),  # not a field: the RFP's author presents
        },
        check=jam_linked,
    ),
    Row("jams.new", "GET", "/jams/new", organisers(PAGE)),
    Row(
        "jams.new",
        "POST",
        "/jams/new",
        organisers(DONE),
        data=lambda ids: {**JAM_FORM, "number": str(ids["new_jam"])},
        check=jam_created,
    ),
    Row("jams.show", "GET", "/jams/{jam}", everyone(PAGE)),
    # Jam agendas: any member offers a slot; the offerer withdraws it; organisers decide, order
    # and time; the presenter (or an organiser) adds slides and a recording.
    Row(
        "jams.offer",
        "POST",
        "/jams/{jam}/slots",
        logged_in(DONE),
        data=lambda ids: {
            "kind": "update",
            "title": "My small update",
            "line": "What I tried this week.",
            "minutes": "5",
            "offered_by_id": str(ids["member_id"]),  # not a field: the person logged in offers
        },
        check=slot_offered,
    ),
    Row(
        "jams.withdraw_slot",
        "POST",
        "/slots/{offer}/withdraw",
        owner_only(DONE),
        data=no_data,
        check=slot_withdrawn,
    ),
    Row(
        "jams.accept_slot",
        "POST",
        "/slots/{offer}/accept",
        organisers(DONE),
        data=no_data,
        check=slot_accepted,
    ),
    Row(
        "jams.decline_slot",
        "POST",
        "/slots/{offer}/decline",
        organisers(DONE),
        data=lambda ids: {f"decline-{ids['offer']}-reason": "The Jam is full."},
        check=slot_declined,
    ),
    Row(
        "jams.move_slot",
        "POST",
        "/slots/{slot2}/move",
        organisers(DONE),
        data=lambda ids: {"direction": "up"},
        check=slot_moved,
    ),
    Row(
        "jams.time_slot",
        "POST",
        "/slots/{slot2}/time",
        organisers(DONE),
        data=lambda ids: {f"time-{ids['slot2']}-start": "16:45"},
        check=slot_timed,
    ),
    Row(
        "jams.slot_materials",
        "POST",
        "/slots/{slot}/materials",
        managers(DONE),
        data=lambda ids: {
            f"materials-{ids['slot']}-slides_url": "https://example.org/s",
            f"materials-{ids['slot']}-recording_url": "",
        },
        check=slot_materials_added,
    ),
    # the calendar: everyone reads it; admins add series, organisers schedule their events
    Row("events.index", "GET", "/events", everyone(PAGE)),
    Row("events.calendar", "GET", "/events.ics", everyone(PAGE)),
    Row("events.series", "GET", "/events/{series}", everyone(PAGE)),
    Row("events.show", "GET", "/events/{series}/{event}", everyone(PAGE)),
    Row("events.event_calendar", "GET", "/events/{series}/{event}.ics", everyone(PAGE)),
    Row("events.new_series", "GET", "/events/new-series", admins(PAGE)),
    Row(
        "events.new_series",
        "POST",
        "/events/new-series",
        admins(DONE),
        data=lambda ids: {
            "name": "Conference socials",
            "slug": "socials",
            "kind": "named",
            "description": "",
        },
        check=series_added,
    ),
    Row("events.new", "GET", "/events/{series}/new", organisers(PAGE)),
    Row(
        "events.new",
        "POST",
        "/events/{series}/new",
        organisers(DONE),
        data=lambda ids: {**EVENT_FORM, "number": "2"},
        check=event_added,
    ),
    Row("events.edit", "GET", "/events/{series}/{event}/edit", organisers(PAGE)),
    Row(
        "events.edit",
        "POST",
        "/events/{series}/{event}/edit",
        organisers(DONE),
        data=lambda ids: {**EVENT_FORM, "number": "1"},
        check=event_edited,
    ),
    Row(
        "jams.unlink",
        "POST",
        "/presentations/{presentation}/delete",
        managers(DONE),
        data=no_data,
        check=jam_unlinked,
    ),
    Row("main.healthz", "GET", "/healthz", everyone(PAGE)),
    Row("main.index", "GET", "/", everyone(PAGE)),
    # plots: whoever may edit the RFP (its author only) manages its plots
    Row(
        "plots.create",
        "POST",
        "/rfps/{rfp}/plots",
        owner_only(DONE),
        data=lambda ids: {"kind": "example", "image": upload(), **PLOT_TEXT},
        check=plot_added,
    ),
    Row("plots.delete", "GET", "/plots/{plot}/delete", owner_only(PAGE)),
    Row(
        "plots.delete",
        "POST",
        "/plots/{plot}/delete",
        owner_only(DONE),
        data=no_data,
        check=plot_deleted,
    ),
    Row("plots.edit", "GET", "/plots/{plot}/edit", owner_only(PAGE)),
    Row(
        "plots.edit",
        "POST",
        "/plots/{plot}/edit",
        owner_only(DONE),
        data=lambda ids: PLOT_TEXT,
        check=plot_edited,
    ),
    Row("plots.image", "GET", "/plots/{plot}/image", everyone(PAGE)),
    Row("plots.manage", "GET", "/rfps/{rfp}/plots", owner_only(PAGE)),
    Row(
        "plots.move",
        "POST",
        "/plots/{plot}/move",
        owner_only(DONE),
        data=lambda ids: {"offset": "1"},
        check=plot_moved,
    ),
    Row("plots.new", "GET", "/rfps/{rfp}/plots/new/example", owner_only(PAGE)),
    Row("plots.thumb", "GET", "/plots/{plot}/thumb", everyone(PAGE)),
    # RFPs: only the author edits (SECURITY.md, 1: organisers withdraw any RFP, do not rewrite it)
    Row("rfps.edit", "GET", "/rfps/{rfp}/edit", owner_only(PAGE)),
    # A draft: a stranger (even an organiser) cannot tell it exists; an admin may read it.
    Row(
        "rfps.publish",
        "POST",
        "/rfps/{draft}/publish",
        (LOGIN, NOT_FOUND, DONE, NOT_FOUND, DENY),
        data=lambda ids: {"no_plot_yet": "y"},
        check=draft_published,
    ),
    Row(
        "rfps.share",
        "POST",
        "/rfps/{draft}/share",
        (LOGIN, NOT_FOUND, DONE, NOT_FOUND, DENY),
        data=lambda ids: {"share": "no"},
        check=share_revoked,
    ),
    Row("rfps.delete", "GET", "/rfps/{draft}/delete", (LOGIN, NOT_FOUND, PAGE, NOT_FOUND, DENY)),
    Row(
        "rfps.delete",
        "POST",
        "/rfps/{draft}/delete",
        (LOGIN, NOT_FOUND, DONE, NOT_FOUND, DENY),
        data=no_data,
        check=draft_deleted,
    ),
    Row("rfps.shared", "GET", "/rfps/{draft}/shared/{share_token}", everyone(PAGE)),
    Row(
        "main.preview",
        "POST",
        "/preview",
        ("401", PAGE, PAGE, PAGE, PAGE),
        data=lambda ids: {"field": "comment", "text": "*Hello*"},
    ),
    Row(
        "rfps.edit",
        "POST",
        "/rfps/{rfp}/edit",
        owner_only(DONE),
        data=lambda ids: {**RFP_FORM, "author_id": str(ids["claimant_id"])},
        check=rfp_edited,
    ),
    Row("rfps.feed", "GET", "/rfps.atom", everyone(PAGE)),
    Row("rfps.index", "GET", "/rfps", everyone(PAGE)),
    Row("rfps.new", "GET", "/rfps/new", logged_in(PAGE)),
    Row(
        "rfps.new",
        "POST",
        "/rfps/new",
        logged_in(DONE),
        data=lambda ids: {
            **RFP_FORM,
            "title": "A new RFP",
            "author_id": str(ids["claimant_id"]),
            "state": "completed",
        },
        check=rfp_submitted,
    ),
    Row("rfps.show", "GET", "/rfps/{rfp}", everyone(PAGE)),
    Row("rfps.tags", "GET", "/tags", everyone(PAGE)),
    Row(
        "rfps.watch_rfp",
        "POST",
        "/rfps/{rfp}/watch",
        logged_in(DONE),
        data=lambda ids: {"watch": "yes"},
        check=watching,
    ),
    Row(
        "rfps.follow",
        "POST",
        "/tags/{tag}/follow",
        logged_in(DONE),
        data=lambda ids: {"follow": "yes"},
        check=following,
    ),
    Row(
        "rfps.want",
        "POST",
        "/rfps/{rfp}/want",
        (LOGIN, DONE, DENY, DONE, DONE),  # the author wants it already
        data=lambda ids: {"want": "yes"},
        check=wanted,
    ),
    Row("rfps.withdraw", "GET", "/rfps/{rfp}/withdraw", managers(PAGE)),
    Row(
        "rfps.withdraw",
        "POST",
        "/rfps/{rfp}/withdraw",
        managers(DONE),
        data=lambda ids: {"reason": "A duplicate"},
        check=withdrawn,
    ),
    # people: the target account is the author's; admins alone change roles and accounts
    Row(
        "users.change_active",
        "POST",
        "/users/{author}/active",
        admins(DONE),
        data=lambda ids: {"active": "no", "reason": "Spam"},
        check=deactivated,
    ),
    Row(
        "users.change_role",
        "POST",
        "/users/{author}/role",
        admins(DONE),
        data=lambda ids: {"role": "admin"},
        check=role_changed,
    ),
    Row("users.moderation_log", "GET", "/moderation", organisers(PAGE)),
    # one's own profile: no address names anyone else's
    Row("users.edit_profile", "GET", "/account/profile", logged_in(PAGE)),
    Row(
        "users.edit_profile",
        "POST",
        "/account/profile",
        logged_in(DONE),
        data=lambda ids: {
            "display_name": "A new name",
            "bio": "Hello",
            "website": "https://example.org/me",
            "open_to_mentoring": "y",
            "username": "author",  # forged: ignored
            "user_id": str(ids["author_id"]),  # forged: ignored
        },
        check=profile_saved,
    ),
    Row("users.show", "GET", "/users/{author}", everyone(PAGE)),
]

# Related parties who are none of the five columns, and objects other than the route's usual one.
# Each entry: (row, {person of the scene: outcome}).
_BY_KEY = {(row.endpoint, row.method): row for row in MATRIX}


def _more(endpoint: str, method: str, outcomes: dict, **changes) -> tuple[Row, dict]:
    row = _BY_KEY[(endpoint, method)]
    if changes:
        row = dataclasses.replace(row, **changes)
    return row, outcomes


def _result_plot(endpoint: str, method: str, url: str) -> tuple[Row, dict]:
    """A delivered result plot is nobody's to change through the plot routes."""
    return _more(
        endpoint,
        method,
        {"author": DENY, "claimant": DENY, "organiser": DENY, "admin": DENY},
        url=url,
        variant="result plot",
    )


EVERYONE = ("visitor", *PEOPLE)
# Someone else's draft is not there for anyone but its author and (to read) an admin.
DRAFT_READERS = {
    "visitor": NOT_FOUND,
    "member": NOT_FOUND,
    "claimant": NOT_FOUND,
    "organiser": NOT_FOUND,
    "author": PAGE,
    "admin": PAGE,
}
DRAFT_WRITERS_GET = {
    "visitor": LOGIN,
    "member": NOT_FOUND,
    "organiser": NOT_FOUND,
    "author": PAGE,
    "admin": DENY,
}
# What a published RFP takes from readers (wants, watches, claims, comments), a draft does not.
DRAFT_NOBODY = {
    "visitor": LOGIN,
    "member": NOT_FOUND,
    "organiser": NOT_FOUND,
    "author": DENY,
    "admin": DENY,
}

# Those who may read a draft are told on the form that it takes claims and comments once published.
DRAFT_NOT_YET = {**DRAFT_NOBODY, "author": REFUSED_422, "admin": REFUSED_422}

MORE: list[tuple[Row, dict]] = [
    # the RFP's author cannot act on someone's claim on it, nor the claimant accept their own
    _more("claims.progress", "POST", {"author": DENY}),
    _more("claims.drop", "GET", {"author": DENY}),
    _more("claims.drop", "POST", {"author": DENY}),
    _more("claims.deliver", "GET", {"author": DENY}),
    _more("claims.deliver", "POST", {"author": DENY}),
    _more("claims.accept", "POST", {"claimant": DENY}),
    # working on the RFP gives no say over the author's comment
    _more("comments.edit", "POST", {"claimant": DENY}),
    _more("comments.delete", "POST", {"claimant": DENY}),
    _result_plot("plots.edit", "GET", "/plots/{result_plot}/edit"),
    _result_plot("plots.edit", "POST", "/plots/{result_plot}/edit"),
    _result_plot("plots.delete", "GET", "/plots/{result_plot}/delete"),
    _result_plot("plots.delete", "POST", "/plots/{result_plot}/delete"),
    _result_plot("plots.move", "POST", "/plots/{result_plot}/move"),
    # a draft and its plots are its author's (and an admin's to read); a wrong link reads nothing
    *[
        _more(endpoint, method, outcomes, url=url, variant="draft")
        for endpoint, method, url, outcomes in (
            ("rfps.show", "GET", "/rfps/{draft}", DRAFT_READERS),
            ("plots.image", "GET", "/plots/{draft_plot}/image", DRAFT_READERS),
            ("plots.thumb", "GET", "/plots/{draft_plot}/thumb", DRAFT_READERS),
            ("api.rfp", "GET", "/api/v1/rfps/{draft}", dict.fromkeys(EVERYONE, NOT_FOUND)),
            ("rfps.edit", "GET", "/rfps/{draft}/edit", DRAFT_WRITERS_GET),
            ("rfps.want", "POST", "/rfps/{draft}/want", DRAFT_NOBODY),
            ("rfps.watch_rfp", "POST", "/rfps/{draft}/watch", DRAFT_NOBODY),
            ("claims.create", "POST", "/rfps/{draft}/claims", DRAFT_NOT_YET),
            ("comments.create", "POST", "/rfps/{draft}/comments", DRAFT_NOT_YET),
            ("plots.manage", "GET", "/rfps/{draft}/plots", DRAFT_WRITERS_GET),
        )
    ],
    _more(
        "rfps.shared",
        "GET",
        {**dict.fromkeys(EVERYONE, NOT_FOUND), "author": PAGE, "admin": PAGE},
        url="/rfps/{draft}/shared/not-the-secret",
        variant="wrong link",
    ),
]

# Known authorisation bugs: {(endpoint, method, actor, variant): reason}; each case is xfail
# (strict), so fixing the bug makes its case pass and the strict xfail reminds us to remove it.
KNOWN_BUGS: dict[tuple[str, str, str, str], str] = {}


@dataclass(frozen=True)
class Case:
    row: Row
    actor: str  # a column of the matrix, or (for MORE) a person of the scene
    person: str | None  # who acts: a key of PEOPLE, None for a visitor
    outcome: str

    @property
    def id(self) -> str:
        variant = f"-{self.row.variant.replace(' ', '_')}" if self.row.variant else ""
        return f"{self.row.endpoint}-{self.row.method}{variant}-{self.actor}"


def all_cases() -> list[Case]:
    cases = [
        Case(row, actor, row.person(actor), outcome)
        for row in MATRIX
        for actor, outcome in zip(ACTORS, row.expect, strict=True)
    ]
    cases += [
        Case(row, person, None if person == "visitor" else person, outcome)
        for row, outcomes in MORE
        for person, outcome in outcomes.items()
    ]
    return cases


def as_params(cases: list[Case]) -> list:
    params = []
    for case in cases:
        key = (case.row.endpoint, case.row.method, case.actor, case.row.variant)
        marks = (
            [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[key])] if key in KNOWN_BUGS else []
        )
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


# -- checking one case ----------------------------------------------------------------------------


def assert_same_site(location: str) -> None:
    """A path on this site: one leading slash, nothing a browser could read as another host."""
    assert location.startswith("/") and location[1:2] not in ("/", "\\"), location
    assert "\\" not in location and not any(ord(ch) < 33 or ord(ch) == 127 for ch in location)
    joined = urlsplit(urljoin("http://localhost/login", location))
    assert (joined.scheme, joined.netloc) == ("http", "localhost"), location


READ_ON_OPENING = re.compile(r"^(notifications \(\d+,\): changed \['read_at'\]|site_state .*)$")


def verify(case: Case, url: str, response, before: Snapshot, after: Snapshot, done: Done) -> None:
    status, location = response.status_code, response.headers.get("Location", "")
    got = f"{case.row.method} {url} as {case.actor}: {status} {location}".strip()
    assert status != 500, got
    if case.outcome == DONE:
        assert status in (302, 303), got
        assert_same_site(location)
        assert not location.startswith("/login"), got
        case.row.check(done)
        return
    changed = changes(before, after)
    if case.row.method == "GET":
        # Opening an RFP reads the reader's notifications about it (and so moves the
        # generation): the one change a page may make.
        changed = [line for line in changed if not READ_ON_OPENING.match(line)]
    if case.outcome == PAGE:
        assert status == 200, got
    elif case.outcome == LOGIN:
        assert status == 302 and urlsplit(location).path == "/login", got
        assert parse_qs(urlsplit(location).query).get("next") == [url], got
    elif case.outcome == HOME:
        assert status == 302 and location == "/", got
    else:
        assert status == int(case.outcome), got
    assert changed == [], f"{got} changed the database or the uploads: {changed}"


@pytest.mark.parametrize("case", as_params(all_cases()))
def test_who_may_do_what(world, case):
    scene = world.scene()
    scene.dirty = True  # until proven otherwise
    browser = scene.browser(case.person)
    url = case.row.url.format_map(scene.ids)
    before = snapshot(world.app)
    if case.row.method == "GET":
        response = browser.get(url)
    else:
        response = browser.post(url, case.row.data(scene.ids))
    after = snapshot(world.app)
    done = Done(before, after, scene, case.person, browser)
    verify(case, url, response, before, after, done)
    if case.outcome != DONE and before == after:
        scene.dirty = False  # nothing changed: the next case may use this scene as it is


# -- the matrix covers every route -----------------------------------------------------------------


def routes_of(app) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


@pytest.fixture(scope="module")
def bare_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("authz-routes")
    return create_app(
        {
            "DATABASE_URL": f"sqlite:///{root / 'unused.db'}",
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(root / "instance"),
            "TESTING": True,
        }
    )


def test_every_route_and_method_is_in_the_matrix(bare_app):
    listed = [(row.endpoint, row.method) for row in MATRIX]
    assert len(listed) == len(set(listed)), "a route is listed twice"
    missing = routes_of(bare_app) - set(listed)
    assert not missing, f"add these routes to MATRIX in {__name__}: {sorted(missing)}"
    assert set(listed) <= routes_of(bare_app), "MATRIX lists routes the app no longer has"


@pytest.mark.parametrize(
    "row",
    MATRIX + [row for row, _ in MORE],
    ids=lambda row: "-".join(filter(None, (row.endpoint, row.method, row.variant))),
)
def test_each_matrix_url_reaches_its_route(bare_app, row):
    """The URL a row requests is served by the endpoint it claims to test."""
    adapter = bare_app.url_map.bind("localhost")
    url = row.url.format_map(IdsOf7())
    endpoint, _ = adapter.match(url, method=row.method)
    assert endpoint == row.endpoint
    assert row.check is not None if DONE in row.expect else row.check is None
    assert (row.data is not None) == (row.method == "POST")


class IdsOf7(dict):
    """Every id is 7, every username "author": enough to route a URL."""

    def __missing__(self, key: str):
        return "author" if key in PEOPLE else 7


# -- open redirects through ``next`` ---------------------------------------------------------------

OFF_SITE = [
    "//evil.example",
    "https://evil.example",
    "http://evil.example/rfps",
    "http:evil.example",
    "https:/evil.example",
    "https:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "////evil.example",
    "%2F%2Fevil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    " //evil.example",
    "\t//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "\r\n//evil.example",
    "/\r/evil.example",
    "\x0b//evil.example",
    "\x01//evil.example",
    "｡evil.example",
    "evil.example",
    "http://localhost/rfps",  # this very site, but absolute: not needed, so not taken
    "/" + "a" * 2999,  # longer than any real address
    "",
]
# Paths that stay on this site whatever a browser makes of them: kept or replaced, both are safe.
SAME_SITE = [
    "/%2F%2Fevil.example",
    "/.//evil.example",
    "/%5C%5Cevil.example",
    "/\u2215\u2215evil.example",
    "/\uff0f\uff0fevil.example",
]
KEPT = ["/rfps?q=a&tag=b", "/rfps/1#comments", "/users/member", "/jams/1"]


def _redirect_id(expected: str, value: str) -> str:
    shown = ascii(value)[1:-1]
    return f"{expected}:{shown[:40]}{'...' if len(shown) > 40 else ''}"


REDIRECT_CASES = [
    pytest.param(value, expected, id=_redirect_id(expected, value))
    for expected, values in (("home", OFF_SITE), ("same-site", SAME_SITE), ("kept", KEPT))
    for value in values
]


def log_in_with_next(world, value: str):
    """A visitor logs in as the member, sent on with ``next``."""
    browser = world.scene().browser(None)
    url = "/login?next=" + quote(value, safe="")
    token = browser.web.csrf_token("/login")
    return browser.web.client.post(
        url, data={"login": "member", "password": PASSWORD, "csrf_token": token}
    )


def register_with_next(world, value: str):
    """A visitor registers, sent on with ``next``."""
    browser = Browser(world.app)
    token = browser.web.csrf_token("/register")
    name = f"redirect{uuid.uuid4().hex[:8]}"
    return browser.web.client.post(
        "/register?next=" + quote(value, safe=""),
        data={
            "username": name,
            "email": f"{name}@example.org",
            "display_name": "Someone",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": token,
        },
    )


def revisit_login_with_next(world, value: str):
    """Someone already logged in opens the log-in page with ``next``."""
    return world.scene().browser("member").get("/login?next=" + quote(value, safe=""))


FLOWS = {
    "log-in": log_in_with_next,
    "registration": register_with_next,
    "logged-in-visit": revisit_login_with_next,
}


@pytest.mark.parametrize("flow", list(FLOWS))
@pytest.mark.parametrize("value, expected", REDIRECT_CASES)
def test_next_never_leads_off_site(world, flow, value, expected):
    response = FLOWS[flow](world, value)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    assert_same_site(location)
    if expected == "home":
        assert location == "/"
    elif expected == "kept":
        assert location == value


def test_logging_in_from_a_protected_page_comes_back_to_it(world):
    scene = world.scene()
    for path in (f"/rfps/{scene.ids['rfp']}/edit", "/rfps/new", "/account/password"):
        browser = Browser(world.app)
        sent = browser.get(path)
        assert sent.status_code == 302
        login_url = sent.headers["Location"]
        token = browser.web.csrf_token("/login")
        response = browser.web.client.post(
            login_url, data={"login": "author", "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302 and response.headers["Location"] == path


# -- a forged Host header must not reach other readers' links -----------------------------------

# A page cached for logged-out readers (rfp_portal/page_cache.py) may hold absolute links built
# from the request's Host header; the cache keys on the host too, so a request sent once with
# ``Host: evil.example`` never fills the entry other readers get. (Found by this test.)
POISONED_BY_HOST = ""
CACHEABLE_PAGES = [
    ("/", ""),
    ("/rfps", ""),
    ("/rfps/{rfp}", ""),
    ("/tags", ""),
    ("/jams", ""),
    ("/rfps.atom", POISONED_BY_HOST),  # feed ids and links
    ("/jams.atom", POISONED_BY_HOST),
    ("/jams/{jam}", POISONED_BY_HOST),  # the Google Calendar link's details
    ("/api/v1/rfps", POISONED_BY_HOST),  # url, api_url, image_url, next
    ("/api/v1/rfps/{rfp}", POISONED_BY_HOST),
    ("/api/v1/jams", POISONED_BY_HOST),
    ("/api/v1/jams/{jam}", POISONED_BY_HOST),
    ("/events", ""),
    ("/events/{series}", ""),
    ("/events/{series}/{event}", POISONED_BY_HOST),  # the Google Calendar link's details
    ("/api/v1/events", POISONED_BY_HOST),
]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(path, marks=[pytest.mark.xfail(strict=True, reason=bug)] if bug else [])
        for path, bug in CACHEABLE_PAGES
    ],
)
def test_a_forged_host_never_reaches_another_readers_page(world, path):
    url = path.format_map(world.scene().ids)
    Browser(world.app).web.client.get(url, headers={"Host": "evil.example"})
    honest = Browser(world.app).get(url)
    assert honest.status_code == 200
    assert "evil.example" not in honest.get_data(as_text=True), honest.headers.get("X-Page-Cache")
