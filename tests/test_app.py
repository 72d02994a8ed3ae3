"""The app as a whole: configuration, error pages, health, migrations, demo data, packaging."""

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import abort

from rfp_portal import create_app, migrate
from rfp_portal.config import normalise_database_url
from rfp_portal.db import Base, get_session
from rfp_portal.models import Rfp, User
from rfp_portal.search import is_search_table

ROOT = Path(__file__).resolve().parent.parent


def test_secret_key_is_made_once_and_readable_by_the_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    instance = tmp_path / "instance"
    config = {"INSTANCE_PATH": str(instance), "DATABASE_URL": "sqlite://"}
    first = create_app(dict(config))
    key_file = instance / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.secret_key) >= 32
    assert create_app(dict(config)).secret_key == first.secret_key


def test_defaults_need_no_set_up(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "SECRET_KEY", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'rfp_portal.db'}"
    assert app.debug is False
    assert app.config["WTF_CSRF_ENABLED"] is not False


def test_environment_configures_the_app(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example/rfp")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("SECURE_COOKIES", "true")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["DATABASE_URL"] == "postgresql+psycopg://u:p@db.example/rfp"
    assert app.secret_key == "from-env"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://a@b/c", "postgresql+psycopg://a@b/c"),
        ("postgres://a@b/c", "postgresql+psycopg://a@b/c"),
        ("postgresql+psycopg://a@b/c", "postgresql+psycopg://a@b/c"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_urls_use_psycopg_3(given, expected):
    assert normalise_database_url(given) == expected


def test_healthz_answers_when_the_database_does(web):
    response = web.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_healthz_is_503_when_the_database_does_not(tmp_path):
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "x",
            "DATABASE_URL": f"sqlite:///{tmp_path}/no/such/dir/db",
        }
    )
    assert app.test_client().get("/healthz").status_code == 503


@pytest.mark.engine_independent  # error pages
def test_error_pages_never_show_a_stack_trace(app, web):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # behave as in production, not as under test

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    @app.route("/forbidden")
    def forbidden():
        abort(403)

    for url, code in (("/boom", 500), ("/forbidden", 403), ("/no/such/page", 404)):
        response = web.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == code
        assert "Traceback" not in html and "secret internals" not in html
        assert f"Error {code}" in html and "<h1>" in html and "Browse RFPs" in html


@pytest.mark.engine_independent  # error pages
def test_405_and_400_pages(web):
    response = web.client.put("/rfps")
    assert response.status_code == 405 and "Error 405" in response.get_data(as_text=True)
    response = web.client.post("/login", data={"login": "x"})
    assert response.status_code == 400 and "Error 400" in response.get_data(as_text=True)


@pytest.mark.engine_independent  # refused before any query
def test_a_huge_request_body_gets_the_413_page(web, make):
    make.user("ada")
    web.login("ada")
    token = web.csrf_token("/rfps/new")
    response = web.client.post(
        "/rfps/new", data={"csrf_token": token, "title": "T" * (9 * 1024 * 1024)}
    )
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


@pytest.mark.engine_independent  # response headers
def test_security_headers(web):
    response = web.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert (
        "default-src 'self'" in csp
        and "object-src 'none'" in csp
        and "frame-ancestors 'none'" in csp
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


# -- migrations ---------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request, tmp_path):
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield engine
        engine.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"migrations_{os.getpid()}_{abs(hash(tmp_path)) % 10**6}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = sa.create_engine(sa.make_url(url).set(database=name))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}"'))
    admin.dispose()


def test_migrations_produce_exactly_the_models_schema(empty_engine):
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_name": lambda name, type_, parents: (
                    not (type_ == "table" and is_search_table(name))
                ),
            },
        )
        assert compare_metadata(context, Base.metadata) == []


def test_migrations_go_down_and_up_again(empty_engine):
    migrate.upgrade(empty_engine)
    migrate.downgrade(empty_engine, "base")
    assert set(sa.inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(empty_engine)
    assert {"users", "rfps", "tags", "rfp_tags"} <= set(sa.inspect(empty_engine).get_table_names())


def test_db_upgrade_command(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "rfps" in sa.inspect(sa.create_engine(app.config["DATABASE_URL"])).get_table_names()


# -- demo data ----------------------------------------------------------------------------------


def test_demo_data_fills_an_empty_database_and_refuses_one_with_data(app, web):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        session = get_session()
        assert session.scalar(sa.select(sa.func.count()).select_from(Rfp)) >= 6
        people = session.scalar(sa.select(sa.func.count()).select_from(User))
    again = runner.invoke(args=["demo-data"])
    assert again.exit_code != 0 and "already has data" in again.output
    assert runner.invoke(args=["demo-data", "--if-empty"]).exit_code == 0
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(User)) == people
    assert runner.invoke(args=["demo-data", "--replace"]).exit_code == 0
    html = web.get("/rfps").get_data(as_text=True)
    assert "Where does linear learning-rate scaling break down?" in html
    assert web.login("ada", "open-collab-demo").status_code == 302


# -- packaging ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    return next(out.glob("rfp_portal-*.whl"))


def test_the_wheel_carries_templates_static_and_migrations(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for expected in (
        "rfp_portal/templates/base.html",
        "rfp_portal/static/portal.css",
        "rfp_portal/migrations/env.py",
        "rfp_portal/migrations/versions/0001_first_schema.py",
    ):
        assert expected in names


def test_an_installed_wheel_serves_pages_from_its_own_folders(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    script = """
import os
import rfp_portal
from rfp_portal import migrate
from rfp_portal.db import get_engine
from rfp_portal.paths import resource_dir

assert str(resource_dir("templates")).startswith(os.environ["TARGET"]), resource_dir("templates")
app = rfp_portal.create_app({"INSTANCE_PATH": os.environ["INST"], "SECRET_KEY": "x"})
with app.app_context():
    migrate.upgrade(get_engine())
response = app.test_client().get("/rfps")
assert response.status_code == 200 and b"Requests for Plot" in response.data, response.status_code
assert app.test_client().get("/static/portal.css").status_code == 200
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={
            **os.environ,
            "PYTHONPATH": str(target),
            "TARGET": str(target),
            "INST": str(tmp_path / "inst"),
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "ok", result.stderr
