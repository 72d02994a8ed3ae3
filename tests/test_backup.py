"""Backups, restores and upload cleaning, through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import stat
import tarfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from rfp_portal import backup, create_app, migrate
from rfp_portal.backup import BackupError, find_pg_tool, pg_connection, read_facts
from rfp_portal.db import get_engine, get_session
from rfp_portal.models import Compute, Difficulty, Plot, User
from rfp_portal.services.plots import add_example_plot, collect_unreferenced, delete_plot
from rfp_portal.services.rfps import RfpDraft, submit_rfp
from rfp_portal.storage import FileStore, get_store
from tests import images
from tests.conftest import Web
from tests.test_comments import comment
from tests.test_plots import post_sketch, upload

HOUR = 3600


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def stamp_head(app) -> None:
    """Mark the test schema (made by create_all) as migrated, as `db upgrade` would have."""
    with app.app_context():
        command.stamp(migrate.alembic_config(get_engine()), "head")


def head_revision(app) -> str:
    with app.app_context():
        return ScriptDirectory.from_config(migrate.alembic_config(get_engine())).get_current_head()


def facts(app):
    with app.app_context(), get_engine().connect() as connection:
        return read_facts(connection)


def upload_files(app) -> dict[str, bytes]:
    root = Path(app.config["UPLOAD_FOLDER"])
    files = root.glob("[0-9a-f][0-9a-f]/*") if root.exists() else []
    return {p.name: p.read_bytes() for p in files if not p.name.startswith(".")}


def manifest_of(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        return json.load(tar.extractfile("manifest.json"))


def rewrite(archive: Path, target: Path, change=None, extra: list[tarfile.TarInfo] = ()) -> Path:
    """A copy of ``archive`` with members' bytes passed through ``change`` and ``extra`` added."""
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as out:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            data = change(member.name, data) if change else data
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
        for member in extra:
            out.addfile(member, io.BytesIO(b"x" * member.size) if member.isfile() else None)
    return target


@pytest.fixture
def new_instance(app, tmp_path):
    """Make empty instances on the same kind of database as ``app``: a new instance folder and,
    on PostgreSQL, a new empty database on the same server."""
    url = sa.make_url(app.config["DATABASE_URL"])
    made: list = []

    def make(name: str = "restored"):
        folder = tmp_path / f"{name}-{len(made)}"
        if url.get_backend_name() == "sqlite":
            target = f"sqlite:///{folder / 'rfp_portal.db'}"
            database = None
        else:
            database = f"rfp_restore_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
            target = url.set(database=database).render_as_string(hide_password=False)
        instance = create_app(
            {
                "DATABASE_URL": target,
                "SECRET_KEY": "test-secret",
                "INSTANCE_PATH": str(folder),
                "TESTING": True,
                "RFPS_PER_PAGE": 5,
            }
        )
        made.append((instance, database))
        return instance

    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    yield make
    for instance, database in made:
        instance.extensions["rfp_db"]["engine"].dispose()
        if database:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE "{database}" WITH (FORCE)'))
    admin.dispose()


def add_plot(app, author_id: int, rfp_id: int, data: bytes) -> Plot:
    """Store an example plot the way the upload view does: put, flush, commit, release."""
    from rfp_portal.models import Rfp

    with app.app_context():
        session, store = get_session(), get_store()
        plot = add_example_plot(
            session,
            store,
            rfp=session.get(Rfp, rfp_id),
            actor=session.get(User, author_id),
            data=data,
            caption="A plot",
            alt_text="A plot",
        )
        session.commit()
        store.release()
        session.refresh(plot)
        session.expunge(plot)
        return plot


# -- the round trip --------------------------------------------------------------------------


@pytest.fixture
def populated(app, web, make):
    """Two people, two RFPs, an uploaded example plot and a sketch, a comment; schema stamped."""
    owner = make.user("owner")
    make.user("reader")
    rfp_id = make.rfp(
        owner,
        title="When does grokking begin?",
        summary="Plot validation accuracy against steps for modular arithmetic.",
    )
    make.rfp(owner)
    web.login("owner")
    assert upload(web, rfp_id, images.png(700, 500)).status_code == 302
    assert post_sketch(web, rfp_id, hand_drawn="").status_code == 302
    web.logout()
    web.login("reader")
    assert comment(web, rfp_id, "I would **love** to see this.").status_code == 302
    stamp_head(app)
    return rfp_id


def anonymous_page(app, url: str) -> str:
    html = app.test_client().get(url).get_data(as_text=True)
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1…", html)


def test_backup_then_restore_into_an_empty_instance_gives_back_the_same_portal(
    app, populated, new_instance
):
    rfp_id = populated
    result = invoke(app, "backup")
    assert result.exit_code == 0, result.output
    (archive,) = Path(app.instance_path, "backups").glob("rfp-portal-*.tar.gz")
    assert re.fullmatch(r"rfp-portal-\d{8}T\d{6}Z\.tar\.gz", archive.name)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert str(archive) in result.output

    source = facts(app)
    manifest = manifest_of(archive)
    dialect = sa.make_url(app.config["DATABASE_URL"]).get_backend_name()
    assert manifest["format_version"] == 1 and manifest["dialect"] == dialect
    assert manifest["created_at"].endswith("Z")
    assert manifest["alembic_revision"] == head_revision(app)
    assert manifest["tables"] == source.tables
    assert {t: source.tables[t] for t in ("users", "rfps", "plots", "comments")} == {
        "users": 2,
        "rfps": 2,
        "plots": 2,
        "comments": 1,
    }
    assert {u["key"] for u in manifest["uploads"]} == set(source.keys) != set()
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    database_member = "database.sqlite3" if dialect == "sqlite" else "database.dump"
    assert names == {"manifest.json", database_member} | {u["path"] for u in manifest["uploads"]}

    restored = new_instance()
    result = invoke(restored, "restore", archive)
    assert result.exit_code == 0, result.output
    assert (
        "Upload files: " in result.output
        and f"Database is at {head_revision(app)}" in result.output
    )

    assert facts(restored).tables == source.tables
    assert anonymous_page(restored, f"/rfps/{rfp_id}") == anonymous_page(app, f"/rfps/{rfp_id}")
    original, copy = app.test_client(), restored.test_client()
    plot_ids = [plot.id for plot in _plots(app)]
    assert len(plot_ids) == 2
    for plot_id in plot_ids:
        for part in ("image", "thumb"):
            mine = original.get(f"/plots/{plot_id}/{part}")
            theirs = copy.get(f"/plots/{plot_id}/{part}")
            assert theirs.status_code == 200 and theirs.data == mine.data
            assert theirs.content_type == mine.content_type
    assert Web(restored.test_client()).login("owner").status_code == 302
    link = f'href="/rfps/{rfp_id}"'
    assert link in original.get("/rfps?q=grokking").get_data(as_text=True)
    assert link in copy.get("/rfps?q=grokking").get_data(as_text=True)
    assert link not in copy.get("/rfps?q=zebrafish").get_data(as_text=True)


def _plots(app) -> list[Plot]:
    with app.app_context():
        session = get_session()
        plots = session.scalars(sa.select(Plot).order_by(Plot.id)).all()
        for plot in plots:
            session.expunge(plot)
        return plots


def test_a_backup_fails_loudly_when_a_file_a_plot_uses_is_missing(app, make, tmp_path):
    owner = make.user("owner")
    plot = add_plot(app, owner.id, make.rfp(owner), images.png(60, 40, (1, 2, 3)))
    Path(app.config["UPLOAD_FOLDER"], plot.image_key[:2], plot.image_key).unlink()
    result = invoke(app, "backup", tmp_path / "b.tar.gz")
    assert result.exit_code != 0
    assert plot.image_key in result.output and "missing" in result.output
    assert not list(tmp_path.glob("*b.tar.gz*"))  # no archive, not even a partial one
    assert not list(Path(app.config["UPLOAD_FOLDER"]).glob(".backup-*"))


def test_an_older_backup_comes_up_to_the_current_schema(tmp_path):
    def instance(name):
        folder = tmp_path / name
        return create_app(
            {
                "INSTANCE_PATH": str(folder),
                "DATABASE_URL": f"sqlite:///{folder / 'rfp_portal.db'}",
                "SECRET_KEY": "x",
            }
        )

    old, new = instance("old"), instance("new")
    assert invoke(old, "db", "upgrade", "0005").exit_code == 0
    result = invoke(old, "backup", tmp_path / "old.tar.gz")
    assert result.exit_code == 0, result.output
    assert manifest_of(tmp_path / "old.tar.gz")["alembic_revision"] == "0005"
    result = invoke(new, "restore", tmp_path / "old.tar.gz")
    assert result.exit_code == 0, result.output
    assert facts(new).revision == head_revision(new) != "0005"
    assert new.test_client().get("/rfps").status_code == 200


# -- a backup while the portal keeps writing ----------------------------------------------------


def test_a_backup_taken_while_the_portal_writes_is_consistent(
    app, make, new_instance, tmp_path, monkeypatch
):
    """A writer keeps adding RFPs with plots; between the snapshot and the gathering of the
    files it deletes a plot the snapshot holds, and its files go as soon as the store lets it."""
    owner = make.user("owner")
    stamp_head(app)
    stop, written, errors = threading.Event(), [0], []
    delete_one, deleted = threading.Event(), threading.Event()
    raced: list = []  # (plot id, its keys)

    def writer():
        plots: list[int] = []
        try:
            while not stop.is_set():
                n = written[0] + 1
                with app.app_context():
                    session, store = get_session(), get_store()
                    author = session.get(User, owner.id)
                    rfp = submit_rfp(session, author=author, draft=_draft(n), no_plot_yet=True)
                    plot = add_example_plot(
                        session,
                        store,
                        rfp=rfp,
                        actor=author,
                        data=images.png(40, 30, (n % 256, n // 256, 99)),
                        caption=f"Plot {n}",
                        alt_text="A plot",
                    )
                    session.commit()
                    store.release()
                    plots.append(plot.id)
                    if delete_one.is_set():  # as the delete view does: commit, then collect
                        delete_one.clear()
                        victim = session.get(Plot, plots.pop(0))
                        keys = delete_plot(session, plot=victim, actor=author)
                        session.commit()
                        raced.append((victim.id, keys))
                        deleted.set()
                        collect_unreferenced(session, store, keys)
                written[0] = n
        except Exception as error:  # reported by the test below
            errors.append(error)

    stage = backup.create._stage_uploads

    def stage_after_a_deletion(*args):
        # The snapshot is taken: have the writer delete one of its plots, then gather the files.
        delete_one.set()
        assert deleted.wait(20), "the writer deleted nothing"
        time.sleep(0.2)  # time enough for its files to go, were the store not held
        stage(*args)

    monkeypatch.setattr(backup.create, "_stage_uploads", stage_after_a_deletion)
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        _wait_for(lambda: written[0] >= 4)
        result = invoke(app, "backup", tmp_path / "live.tar.gz")
        ((raced_plot, raced_keys),) = raced
        at_backup = written[0]
        _wait_for(lambda: written[0] >= at_backup + 4)
    finally:
        stop.set()
        thread.join(30)
    assert not errors, errors
    assert result.exit_code == 0, result.output
    assert not set(raced_keys) & set(upload_files(app))  # removed once the backup let go

    manifest = manifest_of(tmp_path / "live.tar.gz")
    assert manifest["tables"]["rfps"] < facts(app).tables["rfps"]  # writing went on after it
    restored = new_instance()
    result = invoke(restored, "restore", tmp_path / "live.tar.gz")
    assert result.exit_code == 0, result.output
    after = facts(restored)
    assert after.tables == manifest["tables"]
    files = upload_files(restored)
    assert set(after.keys) == {u["key"] for u in manifest["uploads"]} <= set(files)
    for key in after.keys:
        assert hashlib.sha256(files[key]).hexdigest() == key.split(".")[0]
    # The plot deleted after the snapshot is in the backup, and so are its files.
    assert set(raced_keys) <= set(files)
    assert restored.test_client().get(f"/plots/{raced_plot}/image").status_code == 200


def _draft(n: int) -> RfpDraft:
    return RfpDraft(
        title=f"Written while backing up {n}",
        summary="s",
        big_picture="b",
        first_plot="f",
        tags=["live"],
        difficulty=Difficulty.BEGINNER,
        compute=Compute.LAPTOP,
        claim_cap=None,
    )


def _wait_for(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the writer made no progress"
        time.sleep(0.01)


# -- what restore refuses --------------------------------------------------------------------


def _member(name: str, kind: bytes = tarfile.REGTYPE, size: int = 1, link: str = ""):
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size if kind == tarfile.REGTYPE else 0, link
    return info


def test_restore_refuses_a_non_empty_instance_a_tampered_archive_and_unsafe_members(
    app, make, new_instance, tmp_path
):
    owner = make.user("owner")
    plot = add_plot(app, owner.id, make.rfp(owner), images.png(60, 40, (5, 6, 7)))
    stamp_head(app)
    archive = tmp_path / "good.tar.gz"
    assert invoke(app, "backup", archive).exit_code == 0

    refused = invoke(app, "restore", archive)
    assert refused.exit_code != 0
    assert "not empty" in refused.output and "empty database" in refused.output

    target = new_instance()

    def flip(name: str, data: bytes) -> bytes:
        if name.endswith(plot.image_key):
            return data[:-1] + bytes([data[-1] ^ 1])
        return data

    unsafe = {
        "tampered": rewrite(archive, tmp_path / "tampered.tar.gz", flip),
        "traversal": rewrite(archive, tmp_path / "up.tar.gz", extra=[_member("../escaped.txt")]),
        "absolute": rewrite(archive, tmp_path / "abs.tar.gz", extra=[_member("/tmp/abs.txt")]),
        "symlink": rewrite(
            archive,
            tmp_path / "link.tar.gz",
            extra=[_member(f"uploads/ab/{'ab' * 32}.png", tarfile.SYMTYPE, link="/etc/passwd")],
        ),
        "device": rewrite(
            archive, tmp_path / "dev.tar.gz", extra=[_member("dev", tarfile.CHRTYPE)]
        ),
        "unexpected": rewrite(archive, tmp_path / "x.tar.gz", extra=[_member("uploads/evil.sh")]),
    }
    for name, bad in unsafe.items():
        refused = invoke(target, "restore", bad)
        assert refused.exit_code != 0, name
        assert (
            "does not match its manifest" if name == "tampered" else "refusing"
        ) in refused.output
        assert facts(target).tables.get("users", 0) == 0, name
        assert upload_files(target) == {}, name
    assert not Path(target.instance_path, "escaped.txt").exists()
    assert not Path(target.instance_path).parent.joinpath("escaped.txt").exists()

    # The refusals left the instance empty; one with the schema and no rows counts as empty too.
    assert invoke(target, "db", "upgrade").exit_code == 0
    good = invoke(target, "restore", archive)
    assert good.exit_code == 0, good.output
    assert target.test_client().get(f"/plots/{plot.id}/image").status_code == 200


# -- uploads clean ---------------------------------------------------------------------------


def _age(app, key: str, seconds: float) -> Path:
    path = Path(app.config["UPLOAD_FOLDER"], key[:2], key)
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def test_uploads_clean_removes_old_orphans_and_never_a_file_a_plot_uses(app, make):
    owner = make.user("owner")
    plot = add_plot(app, owner.id, make.rfp(owner), images.png(700, 500))
    store = FileStore(app.config["UPLOAD_FOLDER"])  # as a script would: no request, no lock kept
    old_orphan = store.put(images.png(50, 50, (1, 2, 3)), "png")
    young_orphan = store.put(images.png(50, 50, (4, 5, 6)), "png")
    for key in (plot.image_key, plot.thumb_key, old_orphan):
        _age(app, key, 2 * HOUR)  # the plot's files are old too: kept because they are used
    leftover = Path(app.config["UPLOAD_FOLDER"], old_orphan[:2], ".incoming-crashed")
    leftover.write_bytes(b"half an image")
    os.utime(leftover, (time.time() - 2 * HOUR,) * 2)
    image = app.test_client().get(f"/plots/{plot.id}/image").data
    root = Path(app.config["UPLOAD_FOLDER"])
    dead_backup, live_backup = root / ".backup-dead", root / ".backup-live"
    for folder in (dead_backup, live_backup):  # hard links of a crashed and a running backup
        folder.mkdir()
        (folder / ".lock").touch()
        os.utime(folder, (time.time() - 2 * HOUR,) * 2)
    running = os.open(live_backup / ".lock", os.O_RDWR)
    fcntl.flock(running, fcntl.LOCK_EX)

    dry = invoke(app, "uploads", "clean", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"Would remove {old_orphan}" in dry.output and young_orphan not in dry.output
    assert plot.image_key not in dry.output and leftover.exists()
    assert ".backup-dead" in dry.output and ".backup-live" not in dry.output
    assert old_orphan in upload_files(app)

    done = invoke(app, "uploads", "clean", "--min-age", HOUR)
    assert done.exit_code == 0, done.output
    assert f"Removed {old_orphan}" in done.output and "Removed 1 unreferenced" in done.output
    left = upload_files(app)
    assert old_orphan not in left and not leftover.exists()
    assert not dead_backup.exists() and live_backup.exists()
    os.close(running)
    assert {young_orphan, plot.image_key, plot.thumb_key} <= set(left)

    done = invoke(app, "uploads", "clean", "--min-age", 0)
    assert done.exit_code == 0, done.output
    assert set(upload_files(app)) == {plot.image_key, plot.thumb_key}
    assert app.test_client().get(f"/plots/{plot.id}/image").data == image


def test_uploads_clean_waits_for_a_request_still_in_flight_and_keeps_its_file(app, make):
    owner = make.user("owner")
    rfp_id = make.rfp(owner)
    stored, committed, plot_keys = threading.Event(), threading.Event(), []

    def request():
        from rfp_portal.models import Rfp

        with app.app_context():
            session, store = get_session(), get_store()
            plot = add_example_plot(
                session,
                store,
                rfp=session.get(Rfp, rfp_id),
                actor=session.get(User, owner.id),
                data=images.png(64, 48, (9, 8, 7)),
                caption="In flight",
                alt_text="A plot",
            )
            plot_keys.extend([plot.image_key, plot.thumb_key])
            stored.set()  # the file is on disk, the plot not yet committed
            time.sleep(0.3)
            session.commit()
            committed.set()
            store.release()

    thread = threading.Thread(target=request)
    thread.start()
    assert stored.wait(20)
    result = invoke(app, "uploads", "clean", "--min-age", 0)  # waits on the request's lock
    thread.join(20)
    assert result.exit_code == 0, result.output
    assert committed.is_set()
    assert set(plot_keys) <= set(upload_files(app))
    assert "Removed 0 unreferenced" in result.output


# -- PostgreSQL's tools ------------------------------------------------------------------------


def test_the_database_password_goes_to_pg_dump_in_the_environment_not_the_command_line():
    url = sa.make_url("postgresql+psycopg://rfp:s3cr%27t@db.internal:5433/rfp?sslmode=require")
    conninfo, env = pg_connection(url)
    assert conninfo == "host='db.internal' port='5433' user='rfp' dbname='rfp' sslmode='require'"
    assert env["PGPASSWORD"] == "s3cr't" and "s3cr" not in conninfo


def test_the_newest_pg_dump_at_least_as_new_as_the_server_is_chosen():
    if not list(Path("/usr/lib/postgresql").glob("*/bin/pg_dump")) and not shutil.which("pg_dump"):
        pytest.skip("no pg_dump on this machine")
    chosen = find_pg_tool("pg_dump", 10)
    assert chosen.name == "pg_dump"
    with pytest.raises(BackupError, match="pg_dump 99 or newer is needed"):
        find_pg_tool("pg_dump", 99)
