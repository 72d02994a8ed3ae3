"""The benchmark data generator (benchmarks/generate.py): a tiny community on each database,
checked through the portal itself."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from rfp_portal.rendering.markdown import render_markdown

GENERATOR = Path(__file__).resolve().parent.parent / "benchmarks" / "generate.py"
SIZES = {
    "rfps": 200,
    "members": 60,
    "comments": 600,
    "claims": 100,
    "jams": 100,
    "wants": 400,
    "presentations": 20,
}


def _load_generator():
    spec = importlib.util.spec_from_file_location("benchmarks_generate", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


generate = _load_generator()


@pytest.fixture
def generated(app, database_url, tmp_path) -> dict:
    """The generator's command line run on the (empty) test database; returns its summary."""
    summary_path = tmp_path / "dataset.json"
    sizes = [arg for name, value in SIZES.items() for arg in (f"--{name}", str(value))]
    status = generate.main(
        [
            "--database-url",
            database_url,
            *sizes,
            "--seed",
            "7",
            "--upload-folder",
            app.config["UPLOAD_FOLDER"],
            "--summary",
            str(summary_path),
        ]
    )
    assert status == 0
    return json.loads(summary_path.read_text())


def _engine(database_url: str) -> sa.Engine:
    return sa.create_engine(database_url)


def test_the_generated_community_is_as_asked_and_the_portal_serves_it(generated, database_url, web):
    # One test, because generating is most of its time (the whole file must stay fast).
    counts = generated["counts"]
    assert counts["rfps"] == SIZES["rfps"]
    assert counts["users"] == SIZES["members"]
    assert counts["comments"] == SIZES["comments"]
    assert counts["claims"] == SIZES["claims"]
    assert counts["jams"] == SIZES["jams"]
    assert counts["wants"] == SIZES["wants"]
    assert counts["presentations"] == SIZES["presentations"]
    assert 100 <= counts["tags"] <= 300
    assert counts["plots"] > 0 and counts["progress_updates"] > 0

    engine = _engine(database_url)
    with engine.connect() as conn:
        # The counter the "most wanted" sort uses agrees with the rows, for every RFP.
        disagreeing = conn.scalar(
            sa.text(
                "SELECT count(*) FROM rfps r WHERE r.want_count <> "
                "(SELECT count(*) FROM wants w WHERE w.rfp_id = r.id)"
            )
        )
        assert disagreeing == 0
        assert conn.scalar(sa.text("SELECT count(*) FROM wants w JOIN rfps r ON r.id = w.rfp_id "
                                   "WHERE r.author_id = w.user_id")) == 0  # fmt: skip

        special = generated["rfp_with_50_comments"]
        visible, total = conn.execute(
            sa.text(
                "SELECT count(*) FILTER (WHERE deleted_at IS NULL AND hidden_at IS NULL), "
                "count(*) FROM comments WHERE rfp_id = :id"
            ),
            {"id": special},
        ).one()
        assert (visible, total) == (50, 50)

        states = dict(
            conn.execute(sa.text("SELECT state, count(*) FROM rfps GROUP BY state")).all()
        )
        assert states["open"] > states.get("withdrawn", 0)
        assert conn.scalar(sa.text("SELECT count(*) FROM rfps WHERE updated_at < created_at")) == 0
        shortest, longest = conn.execute(
            sa.text(
                "SELECT min(length(big_picture_md) + length(first_plot_md)), "
                "max(length(big_picture_md) + length(first_plot_md)) FROM rfps"
            )
        ).one()
        assert shortest >= 300 and longest <= 3_000
        # Nobody holds more than 3 claims that still count, and nobody claims one RFP twice.
        assert not conn.execute(
            sa.text(
                "SELECT rfp_id, claimant_id FROM claims GROUP BY rfp_id, claimant_id "
                "HAVING count(*) > 1"
            )
        ).all()
        statuses = set(conn.scalars(sa.text("SELECT DISTINCT status FROM claims")))
        assert statuses == {"active", "delivered", "dropped"}

        # The stored HTML is what the portal's renderer makes of the stored Markdown.
        sample = conn.execute(
            sa.text(
                "SELECT big_picture_md, big_picture_html, first_plot_md, first_plot_html "
                "FROM rfps ORDER BY id LIMIT 3"
            )
        ).all()
        for big_md, big_html, first_md, first_html in sample:
            assert render_markdown(big_md) == big_html
            assert render_markdown(first_md) == first_html

    # Through the portal.
    special = generated["rfp_with_50_comments"]
    for path in ("/", "/rfps", f"/rfps/{special}", "/api/v1/rfps", "/rfps.atom", "/jams"):
        assert web.get(path).status_code == 200, path
    assert web.get("/plots/1/thumb").status_code == 200  # the one image is in the upload folder

    # Search finds the common word and the rare word, and not a word nobody wrote.
    for key in ("common_word", "rare_word"):
        word = generated[key]
        assert word and generated[f"{key}_rfps"] >= 1
        page = web.get(f"/rfps?q={word}").get_data(as_text=True)
        assert 'class="rfp-card' in page, word
    assert 'class="rfp-card' not in web.get("/rfps?q=zyzzyvaquux").get_data(as_text=True)
    assert generated["common_word_rfps"] > 3 * generated["rare_word_rfps"]

    # The known member logs in with the published password, and can write (ids continue).
    response = web.login(generated["username"], generated["password"])
    assert response.status_code == 302
    assert "Log out" in web.get("/").get_data(as_text=True)
    posted = web.post(
        f"/rfps/{special}/comments", {"body": "Generated, then commented."}, form_url="/"
    )
    assert posted.status_code == 302
    with engine.connect() as conn:
        comments = sa.text("SELECT count(*) FROM comments WHERE rfp_id = :id")
        assert conn.scalar(comments, {"id": special}) == 51
    engine.dispose()


def test_a_database_with_data_is_refused_unless_replaced(database_url, tmp_path):
    engine = _engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO tags (id, name) VALUES (1, 'precious')"))

    def run(**options):
        generate.generate(
            database_url,
            generate.Sizes(**{**SIZES, "rfps": 30, "comments": 60, "claims": 10, "wants": 20}),
            upload_folder=str(tmp_path / "uploads"),
            summary_path=tmp_path / "dataset.json",
            log=lambda line: None,
            **options,
        )

    with pytest.raises(SystemExit, match="--replace"):
        run()
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT name FROM tags")) == "precious"
    run(replace=True)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM tags WHERE name = 'precious'")) == 0
        assert conn.scalar(sa.text("SELECT count(*) FROM rfps")) == 30
    engine.dispose()
