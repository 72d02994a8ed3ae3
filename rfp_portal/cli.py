"""``flask --app rfp_portal …`` commands: the schema, the first admin, roles, demo data, backups."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from rfp_portal import clock, migrate
from rfp_portal.db import get_engine, get_session
from rfp_portal.models import Role, User
from rfp_portal.services import DomainError
from rfp_portal.services.accounts import register_user, set_role
from rfp_portal.services.plots import collect_unreferenced
from rfp_portal.storage import get_store

db_cli = AppGroup("db", help="Bring the database schema up to date (Alembic).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the latest)."""
    migrate.upgrade(get_engine(), revision)
    click.echo(f"Database is at {revision}.")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database back to REVISION."""
    migrate.downgrade(get_engine(), revision)


@db_cli.command("current")
def db_current() -> None:
    """Show the database's revision."""
    from alembic import command

    command.current(migrate.alembic_config(get_engine()))


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate/--empty", default=True)
def db_revision(message: str, autogenerate: bool) -> None:
    """Write a new migration (by comparing the models with the database, by default)."""
    from alembic import command

    command.revision(migrate.alembic_config(get_engine()), message, autogenerate=autogenerate)


@click.command("create-admin")
@with_appcontext
@click.option("--username", prompt=True)
@click.option("--email", prompt=True)
@click.option("--display-name", prompt="Display name")
@click.password_option(help="Prompted for, hidden, when not given.")
def create_admin(username: str, email: str, display_name: str, password: str) -> None:
    """Make an admin account (or make an existing account an admin)."""
    from rfp_portal.auth.forms import PASSWORD_MIN

    session = get_session()
    existing = session.scalar(sa.select(User).where(User.username == username.lower()))
    if existing is not None:
        set_role(session, user=existing, role=Role.ADMIN)
        session.commit()
        click.echo(f"{existing.username} was already registered and is now an admin.")
        return
    if len(password) < PASSWORD_MIN:
        raise click.BadParameter(f"use at least {PASSWORD_MIN} characters", param_hint="password")
    try:
        user = register_user(
            session,
            username=username,
            email=email,
            display_name=display_name,
            password=password,
            role=Role.ADMIN,
            may_use_reserved=True,  # the operator's choice: "admin" and "root" are fine here
        )
    except DomainError as error:
        raise click.ClickException(error.message) from error
    session.commit()
    click.echo(f"Admin {user.username} created.")


@click.command("set-role")
@with_appcontext
@click.argument("username")
@click.argument("role", type=click.Choice([r.value for r in Role]))
def set_role_command(username: str, role: str) -> None:
    """Give USERNAME the ROLE member, organiser or admin."""
    session = get_session()
    user = session.scalar(sa.select(User).where(User.username == username.lower()))
    if user is None:
        raise click.ClickException(f"There is no user called {username}.")
    set_role(session, user=user, role=Role(role))
    session.commit()
    click.echo(f"{user.username} is now {role}.")


@click.command("demo-data")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when data exists.")
@click.option("--replace", is_flag=True, help="Delete all existing data first. Destructive!")
def demo_data(if_empty: bool, replace: bool) -> None:
    """Fill an empty database with demo members and RFPs."""
    from rfp_portal import demo

    session = get_session()
    released: list[str] = []
    if replace:
        released = demo.delete_everything(session)
    elif demo.has_data(session):
        if if_empty:
            click.echo("The database already has data; demo data not loaded.")
            return
        raise click.ClickException(
            "The database already has data. Use --replace to delete it all and load the demo data."
        )
    summary = demo.load(session, get_store())
    session.commit()
    get_store().release()
    collect_unreferenced(session, get_store(), released)
    click.echo(f"Demo data loaded: {summary}.")


@db_cli.command("reindex")
def db_reindex() -> None:
    """Rebuild the full-text search index from the RFPs (after a bulk load, or to repair it)."""
    from rfp_portal import search

    session = get_session()
    search.rebuild_index(session)
    session.commit()
    count = session.scalar(sa.text("SELECT count(*) FROM rfps"))
    click.echo(f"Search index rebuilt for {count} RFPs.")


@db_cli.command("rerender")
def db_rerender() -> None:
    """Make the stored HTML of every Markdown text again with this release's renderer.

    Markdown is rendered once, when saved; run this after upgrading (`make run` does), so texts
    saved before show what the renderer makes now. Safe to run at any time, and twice.
    """
    from rfp_portal.services.text import rerender_markdown

    session = get_session()
    results = rerender_markdown(session, after_batch=session.commit)
    for result in results:
        if result.changed or result.kept:
            kept = f", {result.kept} too intricate now (kept as saved)" if result.kept else ""
            click.echo(f"{result.column.name}: {result.changed} of {result.texts} changed{kept}.")
    changed = sum(result.changed for result in results)
    texts = sum(result.texts for result in results)
    click.echo(f"Stored Markdown rendered again: {changed} of {texts} texts changed.")


@click.command("backup")
@with_appcontext
@click.argument("path", required=False, type=click.Path(path_type=Path))
def backup_command(path: Path | None) -> None:
    """Write the database and its uploads to one archive, PATH (default: the instance's backups/).

    The database is copied as of one moment (SQLite's online backup, or pg_dump) while the portal
    keeps running, with exactly the upload files it refers to. PATH may be a folder.
    """
    from rfp_portal import backup

    now = clock.now()
    default = backup.default_backup_path(Path(current_app.instance_path), now)
    if path is None:
        path = default
    elif path.is_dir():
        path = path / default.name
    try:
        result = backup.create_backup(
            get_engine(), Path(current_app.config["UPLOAD_FOLDER"]), path, now=lambda: now
        )
    except (backup.BackupError, sa.exc.OperationalError) as error:
        raise click.ClickException(str(error)) from error
    manifest = result.manifest
    click.echo(
        f"Backup written to {result.path} ({_size(result.size)}): {manifest['dialect']} database "
        f"at revision {manifest['alembic_revision'] or 'unknown'}, "
        f"{manifest['tables'].get('rfps', 0)} RFPs, {manifest['tables'].get('users', 0)} people, "
        f"{len(manifest['uploads'])} upload files."
    )


@click.command("restore")
@with_appcontext
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(archive: Path) -> None:
    """Restore a backup ARCHIVE into this instance, which must be empty; then upgrade its schema."""
    from rfp_portal import backup

    try:
        result = backup.restore_backup(
            archive,
            engine=get_engine(),
            store=get_store(),
            work_dir=Path(current_app.instance_path),
        )
    except (backup.BackupError, sa.exc.OperationalError) as error:
        raise click.ClickException(str(error)) from error
    manifest = result.manifest
    click.echo(
        f"Restored the backup of {manifest['created_at']} ({manifest['dialect']}, revision "
        f"{manifest['alembic_revision'] or 'unknown'})."
    )
    rows = ", ".join(f"{name} {n}" for name, n in sorted(result.tables.items()) if n)
    click.echo(f"Rows: {rows or 'none'}.")
    click.echo(f"Upload files: {result.uploads}.")
    if result.revision is None:
        click.echo("The backup's database has no Alembic revision, so its schema was not upgraded.")
    else:
        click.echo(f"Database is at {result.revision}.")


uploads_cli = AppGroup("uploads", help="Look after the uploaded image files.")


@uploads_cli.command("clean")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@click.option(
    "--min-age",
    type=click.IntRange(min=0),
    default=3600,
    show_default=True,
    help="Leave files younger than this many seconds alone.",
)
def uploads_clean(dry_run: bool, min_age: int) -> None:
    """Remove upload files that no plot refers to (left behind by failed transactions)."""
    from rfp_portal import backup

    result = backup.clean_uploads(get_session(), get_store(), min_age=min_age, dry_run=dry_run)
    verb = "Would remove" if dry_run else "Removed"
    for key in result.removed:
        click.echo(f"{verb} {key}")
    for name in result.leftovers:
        click.echo(f"{verb} leftover {name}")
    click.echo(
        f"{verb} {len(result.removed)} unreferenced file(s) ({_size(result.freed)}) and "
        f"{len(result.leftovers)} leftover(s); kept {result.referenced} in use and "
        f"{result.young} younger than {min_age} s."
    )


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


outbox_cli = AppGroup("outbox", help="Send the e-mail and webhook posts waiting in the outbox.")


def _log_to_stderr() -> None:
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    log = logging.getLogger("rfp_portal.outbox")
    log.addHandler(handler)
    log.setLevel(logging.INFO)


@outbox_cli.command("send")
@click.option("--limit", type=click.IntRange(min=1), help="Send at most this many.")
def outbox_send(limit: int | None) -> None:
    """Run the reminders that are due, send every message that is due, and exit (cron)."""
    from rfp_portal.outbox.sender import Sender

    _log_to_stderr()
    sender = Sender(current_app._get_current_object())
    sender.run_schedule()
    report = sender.send_due(limit=limit)
    click.echo(f"Outbox: {report}.")


@outbox_cli.command("run")
@click.option(
    "--poll", type=click.FloatRange(min=0.05), help="Seconds between looks (OUTBOX_POLL_SECONDS)."
)
def outbox_run(poll: float | None) -> None:
    """Keep sending: look for due messages every few seconds, until stopped (systemd, honcho)."""
    from rfp_portal.outbox.sender import Sender

    _log_to_stderr()
    app = current_app._get_current_object()
    Sender(app).run_forever(poll_seconds=poll or app.config["OUTBOX_POLL_SECONDS"])


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(uploads_cli)
    app.cli.add_command(outbox_cli)
    for command in (create_admin, set_role_command, demo_data, backup_command, restore_command):
        app.cli.add_command(command)
