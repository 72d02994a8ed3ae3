"""Finding RFPs: full-text search, filters and sorts, "I want this plot too", tags, home, Atom."""

from __future__ import annotations

import itertools
import random
import re
from datetime import timedelta

import feedparser
import pytest
import sqlalchemy as sa

from rfp_portal import search
from rfp_portal.db import get_session
from rfp_portal.models import (
    Claim,
    ClaimStatus,
    Comment,
    Compute,
    Difficulty,
    Jam,
    Presentation,
    Rfp,
    RfpState,
    User,
)
from rfp_portal.rfps.listing import SORTS, STATES, Listing
from rfp_portal.search import parse_query
from rfp_portal.services.wants import set_want
from tests.conftest import START

CARD = re.compile(r'class="rfp-card-title"><a href="/rfps/(\d+)">')


def card_ids(html: str) -> list[int]:
    return [int(n) for n in CARD.findall(html)]


# -- search -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, text",
    [
        ("title", "Quokka populations under distribution shift"),
        ("summary", "How quokka losses move when the data shifts"),
        ("big_picture", "A long paragraph.\n\nThe quokka question matters because…"),
        ("first_plot", "On the x axis the quokka count; on the y axis the loss."),
        ("tags", ["quokka"]),
    ],
)
def test_search_finds_an_rfp_by_each_field(app, web, make, field, text):
    author = make.user()
    wanted = make.rfp(author, **{field: text})
    make.rfp(author, title="Something else entirely")
    assert card_ids(web.get("/rfps?q=quokka").get_data(as_text=True)) == [wanted]
    # Stemming: the plural finds the singular, on both engines.
    assert card_ids(web.get("/rfps?q=quokkas").get_data(as_text=True)) == [wanted]


def test_a_title_match_ranks_above_a_body_match(app, web, make):
    author = make.user()
    body = make.rfp(author, title="Loss curves", big_picture="We mention grokking once here.")
    summary = make.rfp(author, title="Weight decay", summary="When does grokking happen?")
    title = make.rfp(author, title="Grokking on modular arithmetic")
    newest = make.rfp(author, title="Unrelated and newest")
    html = web.get("/rfps?q=grokking").get_data(as_text=True)
    assert card_ids(html) == [title, summary, body]
    assert newest not in card_ids(html)
    assert "sorted by best match" in html
    # An explicit sort wins over relevance, and keeps the search.
    assert card_ids(web.get("/rfps?q=grokking&sort=new").get_data(as_text=True)) == sorted(
        [title, summary, body], reverse=True
    )


def test_matching_words_are_highlighted_and_escaped(app, web, make):
    author = make.user()
    make.rfp(
        author,
        title="Scaling <b>laws</b> for sparse models",
        summary="Does scaling hold?",
        first_plot="Plot the scaling exponent against sparsity, please.",
    )
    html = web.get("/rfps?q=scaling").get_data(as_text=True)
    assert "<mark>Scaling</mark> &lt;b&gt;laws&lt;/b&gt; for sparse models" in html
    assert "Does <mark>scaling</mark> hold?" in html
    assert re.search(r'class="excerpt">[^<]*Plot the <mark>scaling</mark> exponent', html)
    assert "<b>laws</b>" not in html


AWKWARD_QUERIES = [
    '"',
    '""',
    '"unbalanced phrase',
    "(",
    "((a)",
    ")",
    "a AND",
    "AND",
    "OR OR",
    "NOT",
    "NOT NOT x",
    "-",
    "--",
    "-x",
    "*",
    "a*",
    "**",
    "*a",
    "a:b",
    "title:foo",
    "NEAR(a b)",
    "a + b",
    "^",
    "'",
    "it's",
    "C++",
    "x OR y",
    "a & b | !c",
    "a <-> b",
    "\\",
    "%",
    "_",
    "%_%",
    "' OR 1=1 --",
    "; DROP TABLE rfps; --",
    "🙂",
    "🙂 scaling 🚀",
    "数据 缩放",
    "naïve café",
    "Ünïcödé",
    "x" * 200,
    "word " * 60,
    "the",
    "a an the of",
    "$\\frac{1}{2}$",
    "<script>alert(1)</script>",
    "\t\n",
    "   ",
    "\u200b",
    "\ufeff",
]


@pytest.mark.parametrize("query", AWKWARD_QUERIES)
def test_any_text_is_a_valid_search(app, web, make, query):
    make.rfp(make.user(), title="Scaling laws", summary="It's about C++ and café data")
    response = web.get("/rfps", query_string={"q": query})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    feed = web.get("/rfps.atom", query_string={"q": query})
    assert feed.status_code == 200


def test_search_syntax_words_phrases_exclusions_and_prefixes(app, web, make):
    author = make.user()
    both = make.rfp(author, title="Sparse attention at scale", summary="Long context plots")
    only_sparse = make.rfp(author, title="Sparse autoencoders", summary="Features by size")
    phrase = make.rfp(author, title="Attention sinks", summary="Where sparse heads look")

    def ids(q):
        return set(card_ids(web.get("/rfps", query_string={"q": q}).get_data(as_text=True)))

    assert ids("sparse attention") == {both, phrase}
    assert ids('"sparse attention"') == {both}
    assert ids("sparse -attention") == {only_sparse}
    assert ids("sparse NOT attention") == {only_sparse}
    assert ids("sparse AND attention") == {both, phrase}
    assert ids("autoenc*") == {only_sparse}
    assert ids("-sparse") == set()  # nothing to look for: an empty result, not every RFP


def test_a_search_with_no_words_says_so(app, web, make):
    make.rfp(make.user())
    html = web.get("/rfps?q=%F0%9F%99%82").get_data(as_text=True)
    assert card_ids(html) == []
    assert "Your search has no words to look for" in html


def test_parse_query_keeps_only_words():
    def terms(text):
        return [(t.words, t.negated, t.prefix) for t in parse_query(text).terms]

    assert terms('Sparse "long  context" -x NOT heads* AND OR ((') == [
        (("sparse",), False, False),
        (("long", "context"), False, False),
        (("x",), True, False),
        (("heads",), True, True),
    ]
    # An unbalanced quote runs to the end; punctuation inside words splits them.
    assert terms('x "b c') == [(("x",), False, False), (("b", "c"), False, False)]
    assert terms("foo_bar:baz") == [(("foo", "bar", "baz"), False, False)]
    assert not parse_query("-only -exclusions").searchable
    assert not parse_query("🙂 * ( )").searchable
    assert len(parse_query("w " * 100).terms) == 12


def test_search_index_follows_edits(app, web, make):
    author = make.user()
    rfp = make.rfp(author, title="Old words", tags=["oldtag"])
    web.login(author.username)
    page = web.get(f"/rfps/{rfp}/edit").get_data(as_text=True)
    assert "Old words" in page
    response = web.post(
        f"/rfps/{rfp}/edit",
        {
            "title": "Fresh wombat title",
            "summary": "s",
            "big_picture": "b",
            "first_plot": "f",
            "tags": "newtag",
            "difficulty": "beginner",
            "compute": "laptop",
            "claim_cap": "",
        },
        form_url=f"/rfps/{rfp}/edit",
    )
    assert response.status_code == 302
    assert card_ids(web.get("/rfps?q=wombat").get_data(as_text=True)) == [rfp]
    assert card_ids(web.get("/rfps?q=old").get_data(as_text=True)) == []
    assert card_ids(web.get("/rfps?q=oldtag").get_data(as_text=True)) == []
    assert card_ids(web.get("/rfps?q=newtag").get_data(as_text=True)) == [rfp]


# -- filters and sorts on a generated community ------------------------------------------------

WORDS = ["quokka", "lemur", "narwhal", "axolotl"]
TAGS = ["vision", "nlp", "theory", "scaling"]


def generate_community(app, seed: int = 7, size: int = 36) -> None:
    """RFPs with every state, difficulty, compute, tag mix, Jam, claim kind, comments and wants."""
    rng = random.Random(seed)
    with app.app_context():
        session = get_session()
        people = [
            User(
                username=f"gen{n}",
                email=f"gen{n}@example.org",
                display_name=f"Gen {n}",
                password_hash="x",
            )
            for n in range(8)
        ]
        session.add_all(people)
        jams = [
            Jam(number=n, title=f"Jam {n}", starts_at=START - timedelta(days=40 * n))
            for n in (1, 2, 3)
        ]
        session.add_all(jams)
        session.flush()
        from rfp_portal.services.rfps import RfpDraft, submit_rfp

        for n in range(size):
            words = rng.sample(WORDS, rng.randint(0, 2))
            where = rng.choice(["title", "summary", "big_picture", "first_plot"])
            text = {k: f"{k} {n}" for k in ("title", "summary", "big_picture", "first_plot")}
            text[where] += " " + " ".join(words)
            rfp = submit_rfp(
                session,
                author=people[n % 4],
                draft=RfpDraft(
                    **text,
                    tags=rng.sample(TAGS, rng.randint(0, 3)),
                    difficulty=rng.choice(list(Difficulty)),
                    compute=rng.choice(list(Compute)),
                    claim_cap=None,
                ),
                no_plot_yet=True,
            )
            rfp.created_at = START - timedelta(hours=rng.randint(0, 2000))
            rfp.updated_at = rfp.created_at + timedelta(hours=rng.randint(0, 500))
            rfp.state = rng.choice([RfpState.OPEN] * 3 + [RfpState.COMPLETED, RfpState.WITHDRAWN])
            for jam in rng.sample(jams, rng.choice([0, 0, 1, 2])):
                session.add(Presentation(rfp=rfp, jam=jam, presenter_id=rfp.author_id))
            for person in rng.sample(people[4:], rng.randint(0, 3)):
                age = rng.choice([1, 10, 25, 45])  # active, active, check-in due, expired
                status = rng.choice([ClaimStatus.ACTIVE] * 3 + [ClaimStatus.DROPPED])
                session.add(
                    Claim(
                        rfp=rfp,
                        claimant=person,
                        status=status,
                        created_at=START - timedelta(days=age),
                        last_activity_at=START - timedelta(days=age),
                    )
                )
            for k in range(rng.randint(0, 4)):
                session.add(
                    Comment(
                        rfp=rfp,
                        author=rng.choice(people),
                        body_md="c",
                        body_html="<p>c</p>",
                        created_at=START,
                        deleted_at=START if k == 3 else None,
                        hidden_at=START if k == 2 and rng.random() < 0.5 else None,
                    )
                )
            session.flush()
            if rfp.state is not RfpState.WITHDRAWN:
                for person in rng.sample(people, rng.randint(0, 5)):
                    if person.id != rfp.author_id:
                        set_want(session, rfp=rfp, user=person, want=True)
        session.commit()


def snapshot(app) -> list[dict]:
    """Each RFP's facts as plain values, read back once with plain ORM loads."""
    expire_before = START - timedelta(days=30)
    with app.app_context():
        out = []
        for rfp in get_session().scalars(sa.select(Rfp)):
            tags = {t.name for t in rfp.tags}
            out.append(
                {
                    "id": rfp.id,
                    "state": rfp.state,
                    "created": rfp.created_at,
                    "updated": rfp.updated_at,
                    "wanted": rfp.want_count,
                    "difficulty": rfp.difficulty,
                    "compute": rfp.compute,
                    "tags": tags,
                    "jams": {p.jam.number for p in rfp.presentations},
                    "words": set(
                        " ".join(
                            [rfp.title, rfp.summary, rfp.big_picture_md, rfp.first_plot_md, *tags]
                        ).split()
                    ),
                    "claims": sum(
                        1
                        for c in rfp.claims
                        if c.status is ClaimStatus.ACTIVE and c.last_activity_at >= expire_before
                    ),
                    "comments": sum(
                        1 for c in rfp.comments if not c.deleted_at and not c.hidden_at
                    ),
                }
            )
        return out


def expected_ids(rows: list[dict], listing: Listing) -> list[int] | set[int]:
    """What the listing should show, worked out in Python from the snapshot."""
    chosen = []
    for row in rows:
        if row["state"] not in STATES[listing.state][1]:
            continue
        if listing.claimed == "yes" and not row["claims"]:
            continue
        if listing.claimed == "no" and row["claims"]:
            continue
        if not set(listing.tags) <= row["tags"]:
            continue
        if listing.jam and listing.jam not in row["jams"]:
            continue
        if listing.difficulty and row["difficulty"] is not listing.difficulty:
            continue
        if listing.compute and row["compute"] is not listing.compute:
            continue
        if listing.q:
            terms = parse_query(listing.q).terms
            if not all((t.words[0] in row["words"]) != t.negated for t in terms):
                continue
        chosen.append(row)
    sort = listing.effective_sort
    column = {"new": "created", "relevance": "created", "updated": "updated"}.get(sort, sort)
    ordered = [r["id"] for r in sorted(chosen, key=lambda r: (r[column], r["id"]), reverse=True)]
    return set(ordered) if sort == "relevance" else ordered


FILTER_VALUES = {
    "state": list(STATES),
    "claimed": ["", "yes", "no"],
    "tag": [None, "vision", ("nlp", "theory")],
    "jam": [None, 1, 3],
    "difficulty": [None, *Difficulty],
    "compute": [None, *Compute],
    "q": ["", "quokka", "lemur -narwhal"],
}


def _combinations(rng: random.Random):
    """Every value of every filter with every sort, every pair of filters, and random mixes."""
    names = list(FILTER_VALUES)
    sorts = ["", *(s for s in SORTS if s != "relevance")]
    for name in names:
        for value, sort in itertools.product(FILTER_VALUES[name], sorts):
            yield {name: value, "sort": sort}
    for first, second in itertools.combinations(names, 2):
        for a, b in itertools.product(FILTER_VALUES[first], FILTER_VALUES[second]):
            yield {first: a, second: b, "sort": rng.choice(sorts)}
    for _ in range(60):
        yield {name: rng.choice(values) for name, values in FILTER_VALUES.items()} | {
            "sort": rng.choice(sorts)
        }


def _query_string(combo: dict) -> dict:
    args = {}
    for name, value in combo.items():
        if value in (None, ""):
            continue
        if name == "tag" and isinstance(value, tuple):
            args["tag"] = list(value)
        else:
            args[name] = getattr(value, "value", value)
    return args


def test_every_filter_and_sort_combination_on_a_generated_community(app, web, clock):
    generate_community(app)
    rows = snapshot(app)
    app.config["RFPS_PER_PAGE"] = 100
    rng = random.Random(11)
    checked = 0
    nonempty = 0
    for combo in _combinations(rng):
        args = _query_string(combo)
        listing = Listing.from_args(_multidict(args))
        assert listing.problems == ()
        response = web.get("/rfps", query_string=args)
        assert response.status_code == 200, args
        shown = card_ids(response.get_data(as_text=True))
        expected = expected_ids(rows, listing)
        if isinstance(expected, set):
            assert set(shown) == expected and len(shown) == len(expected), args
        else:
            assert shown == expected, args
        checked += 1
        nonempty += bool(shown)
    assert checked > 400 and nonempty > checked // 3  # the data set exercises the filters


def _multidict(args: dict):
    from werkzeug.datastructures import MultiDict

    items = []
    for name, value in args.items():
        for v in value if isinstance(value, list) else [value]:
            items.append((name, str(v)))
    return MultiDict(items)


def test_listing_pages_with_a_total_and_keeps_filters_in_links(app, web, make):
    author = make.user()
    for n in range(7):
        make.rfp(author, title=f"Tagged {n}", tags=["vision"], difficulty=Difficulty.ADVANCED)
    make.rfp(author, title="Other")
    html = web.get("/rfps?tag=vision&difficulty=advanced").get_data(as_text=True)
    assert "7 RFPs, page 1 of 2" in html
    assert 'href="/rfps?tag=vision&amp;difficulty=advanced&amp;page=2"' in html or re.search(
        r'rel="next" href="/rfps\?[^"]*page=2', html
    )
    link = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "tag=vision" in link and "difficulty=advanced" in link
    second = web.get(link).get_data(as_text=True)
    assert len(card_ids(second)) == 2 and "page 2 of 2" in second


def test_active_filters_are_shown_and_each_can_be_removed(app, web, make):
    author = make.user()
    make.rfp(author, tags=["vision"])
    html = web.get("/rfps?q=number&tag=vision&difficulty=beginner&sort=wanted").get_data(
        as_text=True
    )
    removals = dict(
        re.findall(r'<li><span>([^<]+)</span> <a href="([^"]+)" aria-label="Remove filter', html)
    )
    assert set(removals) == {"Search: “number”", "Tag: vision", "Difficulty: beginner"}
    assert removals["Tag: vision"] == "/rfps?q=number&amp;sort=wanted&amp;difficulty=beginner"
    assert "tag=" not in removals["Tag: vision"]
    assert "q=" not in removals["Search: “number”"]


@pytest.mark.engine_independent  # parameter parsing
def test_the_filter_form_lands_on_a_clean_shareable_address(app, web):
    response = web.get("/rfps?q=&state=open&claimed=&difficulty=&compute=laptop&jam=&sort=")
    assert response.status_code == 302
    assert response.headers["Location"] == "/rfps?state=open&compute=laptop"


def test_unknown_filter_values_are_ignored_with_a_message(app, web, make):
    make.rfp(make.user())
    response = web.get("/rfps?difficulty=expert&jam=abc&sort=random&state=gone&tag=" + "x" * 40)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "is not a difficulty this listing knows" in html
    assert "is not a Research Jam number" in html
    assert len(card_ids(html)) == 1


@pytest.mark.parametrize("page", ["0", "-3", "abc", "99999999999999999999", "1e9"])
def test_odd_page_numbers_do_not_break_the_listing(app, web, page):
    response = web.get(f"/rfps?page={page}&q=x&tag=vision", follow_redirects=True)
    assert response.status_code == 200


def test_the_listing_with_every_filter_costs_a_fixed_number_of_queries(
    app, web, make, count_queries
):
    app.config["RFPS_PER_PAGE"] = 50
    url = (
        "/rfps?q=quokka&state=open&claimed=no&tag=vision&tag=nlp&jam=1"
        "&difficulty=beginner&compute=laptop"
    )
    author = make.user()
    with app.app_context():
        session = get_session()
        session.add(Jam(number=1, title="Jam", starts_at=START))
        session.commit()

    def add(n):
        for _ in range(n):
            rfp_id = make.rfp(author, title="quokka", tags=["vision", "nlp"])
            with app.app_context():
                session = get_session()
                jam = session.scalar(sa.select(Jam))
                session.add(Presentation(rfp_id=rfp_id, jam=jam, presenter_id=author.id))
                session.commit()

    counts = {}
    for sort in [
        "",
        "&sort=new",
        "&sort=updated",
        "&sort=wanted",
        "&sort=claims",
        "&sort=comments",
    ]:
        counts[sort] = []
    add(1)
    for sort in counts:
        with count_queries() as q:
            html = web.get(url + sort).get_data(as_text=True)
        assert len(card_ids(html)) == 1
        counts[sort].append(q.count)
    add(14)
    for sort in counts:
        with count_queries() as q:
            html = web.get(url + sort).get_data(as_text=True)
        assert len(card_ids(html)) == 15
        counts[sort].append(q.count)
    for sort, (one, many) in counts.items():
        assert one == many, (sort, one, many)


# -- "I want this plot too" ---------------------------------------------------------------------


def test_a_member_wants_a_plot_once_and_can_take_it_back(app, web, make):
    author, fan, other = make.user(), make.user(), make.user()
    rfp = make.rfp(author)
    web.login(fan.username)
    page = web.get(f"/rfps/{rfp}").get_data(as_text=True)
    assert "<strong>0</strong> people want this plot" in page
    assert "I want this plot too" in page
    for _ in range(2):  # resending the form counts once
        response = web.post(f"/rfps/{rfp}/want", {"want": "yes"}, form_url=f"/rfps/{rfp}")
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"/rfps/{rfp}#want")
    page = web.get(f"/rfps/{rfp}").get_data(as_text=True)
    assert "<strong>1</strong> person wants this plot, you among them" in page
    assert "I no longer want this plot" in page
    web.logout()
    web.login(other.username)
    web.post(f"/rfps/{rfp}/want", {"want": "yes"}, form_url=f"/rfps/{rfp}")
    assert "★ 2 want this plot" in web.get("/rfps").get_data(as_text=True)
    web.post(f"/rfps/{rfp}/want", {"want": "no"}, form_url=f"/rfps/{rfp}")
    web.post(f"/rfps/{rfp}/want", {"want": "no"}, form_url=f"/rfps/{rfp}")
    assert "★ 1 wants this plot" in web.get("/rfps").get_data(as_text=True)
    with app.app_context():
        assert get_session().get(Rfp, rfp).want_count == 1


def test_most_wanted_sort_orders_by_the_count(app, web, make):
    author = make.user()
    fans = [make.user() for _ in range(3)]
    low, high, none = make.rfp(author), make.rfp(author), make.rfp(author)
    with app.app_context():
        session = get_session()
        for rfp_id, count in ((low, 1), (high, 3)):
            for fan in fans[:count]:
                set_want(
                    session, rfp=session.get(Rfp, rfp_id), user=session.get(User, fan.id), want=True
                )
        session.commit()
    assert card_ids(web.get("/rfps?sort=wanted").get_data(as_text=True)) == [high, low, none]
    home = web.get("/").get_data(as_text=True)
    wanted_section = home[home.index("Most wanted") :]
    assert card_ids(wanted_section)[:2] == [high, low]


def test_wanting_is_refused_to_visitors_the_author_without_csrf_and_on_withdrawn(app, web, make):
    author, fan = make.user(), make.user()
    rfp = make.rfp(author)
    response = web.post(f"/rfps/{rfp}/want", {"want": "yes"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    web.login(author.username)
    assert web.post(f"/rfps/{rfp}/want", {"want": "yes"}).status_code == 403
    assert "I want this plot too" not in web.get(f"/rfps/{rfp}").get_data(as_text=True)
    web.logout()
    web.login(fan.username)
    assert web.post(f"/rfps/{rfp}/want", {"want": "yes"}, csrf=False).status_code == 400
    assert web.post("/rfps/99999/want", {"want": "yes"}).status_code == 404
    with app.app_context():
        session = get_session()
        session.get(Rfp, rfp).state = RfpState.WITHDRAWN
        session.commit()
    assert web.post(f"/rfps/{rfp}/want", {"want": "yes"}).status_code == 403
    with app.app_context():
        assert get_session().get(Rfp, rfp).want_count == 0


# -- tags, home, feed ---------------------------------------------------------------------------


def test_tags_page_counts_rfps_and_links_to_the_filtered_listing(app, web, make):
    author = make.user()
    make.rfp(author, tags=["vision", "nlp"])
    make.rfp(author, tags=["vision"])
    withdrawn = make.rfp(author, tags=["hidden away"])
    with app.app_context():
        session = get_session()
        session.get(Rfp, withdrawn).state = RfpState.WITHDRAWN
        session.commit()
    html = web.get("/tags").get_data(as_text=True)
    assert html.index(">vision <") < html.index(">nlp <")
    assert '<a class="tag" href="/rfps?tag=vision">vision <span class="tag-count">2' in html
    assert "hidden away" not in html
    assert len(card_ids(web.get("/rfps?tag=vision").get_data(as_text=True))) == 2


def test_home_shows_newest_most_wanted_and_recent_results(app, web, make):
    html = web.get("/").get_data(as_text=True)
    assert "Newest open RFPs" in html and "Most wanted" not in html
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo-data", "--replace"]).exit_code == 0
    html = web.get("/").get_data(as_text=True)
    assert "Newest open RFPs" in html
    assert "Most wanted" in html
    assert "Recently delivered results" in html
    results = html[html.index("Recently delivered results") :]
    assert re.search(r'<img src="/plots/\d+/thumb\?v=', results)


def test_the_atom_feed_parses_and_honours_filters(app, web, make):
    author = make.user()
    first = make.rfp(author, title="Vision <one> & more", tags=["vision"], summary="S\x0b1")
    make.rfp(author, title="Language two", tags=["nlp"])
    response = web.get("/rfps.atom?tag=vision")
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert [e.title for e in feed.entries] == ["Vision <one> & more"]
    entry = feed.entries[0]
    assert entry.id == f"http://localhost/rfps/{first}"
    assert entry.link == f"http://localhost/rfps/{first}"
    assert [t.term for t in entry.tags] == ["vision"]
    assert "<h2>The big picture</h2>" in entry.content[0].value
    assert feed.feed.id == "http://localhost/rfps.atom?tag=vision"
    # The same RFP keeps its id in every feed; entries come newest first.
    everything = feedparser.parse(web.get("/rfps.atom").data)
    assert not everything.bozo
    assert [e.title for e in everything.entries] == ["Language two", "Vision <one> & more"]
    assert everything.entries[1].id == entry.id
    assert 'type="application/atom+xml"' in web.get("/rfps?tag=vision").get_data(as_text=True)


@pytest.mark.engine_independent  # feed formatting
def test_the_feed_is_empty_but_valid_with_no_rfps(app, web):
    feed = feedparser.parse(web.get("/rfps.atom?q=nothing").data)
    assert not feed.bozo and feed.entries == []


def _plan(app, args: dict) -> str:
    from werkzeug.datastructures import MultiDict

    from rfp_portal.web.context import claim_policy, now

    with app.test_request_context():
        session = get_session()
        dialect = session.get_bind().dialect
        listing = Listing.from_args(MultiDict(args))
        query = listing.select(now=now(), policy=claim_policy(), dialect=dialect.name).limit(20)
        sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        if dialect.name == "sqlite":
            return "\n".join(
                row[3] for row in session.execute(sa.text("EXPLAIN QUERY PLAN " + sql))
            )
        session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        return "\n".join(row[0] for row in session.execute(sa.text("EXPLAIN " + sql)))


@pytest.mark.parametrize(
    "args, indexes",
    [
        ({}, ["ix_rfps_created_at_id"]),
        ({"sort": "updated"}, ["ix_rfps_updated_at_id"]),
        ({"sort": "wanted"}, ["ix_rfps_want_count_id"]),
        ({"state": "withdrawn"}, ["ix_rfps_state_created_at_id"]),
        ({"state": "open", "sort": "wanted"}, ["ix_rfps_state_want_count_id"]),
        ({"state": "open", "sort": "updated"}, ["ix_rfps_state_updated_at_id"]),
        ({"difficulty": "advanced", "state": "all"}, ["ix_rfps_difficulty"]),
        ({"compute": "cluster", "state": "all"}, ["ix_rfps_compute"]),
        ({"claimed": "yes"}, ["ix_claims_rfp_id_status_last_activity_at", "ix_claims_status_"]),
        ({"tag": "vision"}, ["rfp_tags_1", "pk_rfp_tags", "ix_rfp_tags_tag_id"]),
        ({"jam": "1"}, ["presentations_1", "ix_presentations_jam_id", "ix_presentations_rfp_id"]),
    ],
)
@pytest.mark.fresh_database  # the plan follows statistics that earlier tests would leave
def test_each_sort_and_filter_is_served_by_an_index(app, make, args, indexes):
    make.rfp(make.user())
    plan = _plan(app, args)
    if app.config["DATABASE_URL"].startswith("sqlite"):
        assert any(index in plan for index in indexes), plan
    else:
        # PostgreSQL's choice among usable indexes for a 1-row table is a guess from default
        # statistics, so only demand that one exists and is usable.
        assert "Seq Scan" not in plan, plan
    if set(args) <= {"sort", "state"}:  # the sorts walk their index: no sorting, stop after a page
        assert "TEMP B-TREE FOR ORDER BY" not in plan and "Sort Key" not in plan, plan


@pytest.mark.fresh_database
def test_search_uses_the_full_text_index(app, make):
    make.rfp(make.user(), title="Quokka")
    plan = _plan(app, {"q": "quokka"})
    if app.config["DATABASE_URL"].startswith("sqlite"):
        assert "VIRTUAL TABLE INDEX" in plan and "rfp_fts" in plan, plan
    else:
        assert "ix_rfp_search_document" in plan, plan


@pytest.mark.parametrize(
    "query, found",
    [
        ("CIFAR-10", True),
        ("cifar-10 resnet-18", True),
        ("GPT-2", True),
        ("EOS", True),
        ("the", None),  # a lone stop word: nothing to look for, on both engines
        ("is", None),
        ("a*", None),
        ("scaling -the", True),  # excluding a stop word excludes nothing
        ("scaling -tokens", False),
        ('"of the"', None),
    ],
)
def test_both_engines_agree_on_names_with_digits_markup_and_stop_words(
    app, web, make, query, found
):
    rfp = make.rfp(
        make.user(),
        title="Scaling ResNet-18 on CIFAR-10 versus GPT-2",
        big_picture="Count the <EOS> tokens & more.",
    )
    html = web.get("/rfps", query_string={"q": query}).get_data(as_text=True)
    if found is None:
        assert "Your search has no words to look for" in html
        assert card_ids(html) == []
    else:
        assert card_ids(html) == ([rfp] if found else [])


def test_a_page_past_the_end_leads_to_the_last_page(app, web, make):
    author = make.user()
    for _ in range(6):
        make.rfp(author, title="Quokka")
    response = web.get("/rfps?q=quokka&page=9")
    assert response.status_code == 302
    assert response.headers["Location"] == "/rfps?q=quokka&page=2"


def test_db_reindex_rebuilds_a_lost_index(app, web, make):
    rfp = make.rfp(make.user(), title="Quokka census")
    with app.app_context():
        session = get_session()
        search.clear_index(session)
        session.commit()
    assert card_ids(web.get("/rfps?q=quokka").get_data(as_text=True)) == []
    result = app.test_cli_runner().invoke(args=["db", "reindex"])
    assert result.exit_code == 0 and "1 RFPs" in result.output
    assert card_ids(web.get("/rfps?q=quokka").get_data(as_text=True)) == [rfp]


def test_a_listing_too_long_to_count_says_more_than_and_still_pages_to_the_end(app, web, make):
    """Past LISTING_COUNT_LIMIT the count stops ("More than …"), so it costs the same however
    many match; pages still lead to the last RFP, in the HTML listing and in the API."""
    app.config["LISTING_COUNT_LIMIT"] = 6
    app.config["PAGE_CACHE_ENTRIES"] = 0  # the limit changes below, with no write
    author = make.user()
    for _ in range(12):
        make.rfp(author)
    first = web.get("/rfps").get_data(as_text=True)
    assert "More than 6 RFPs, page 1" in first
    seen, number = [], 1
    while True:
        page = web.get(f"/rfps?page={number}").get_data(as_text=True)
        seen += re.findall(r'href="/rfps/(\d+)"', page)
        if 'rel="next"' not in page:
            break
        number += 1
    assert number == 3 and len(set(seen)) == 12  # 5 a page in the tests
    # Past the end of a listing that was not counted: back to its first page.
    assert web.get("/rfps?page=40").status_code == 302
    api = web.get("/api/v1/rfps?per_page=5").get_json()
    assert api["total"] == 6 and api["total_exact"] is False and api["links"]["next"]
    last = web.get("/api/v1/rfps?per_page=5&page=3").get_json()
    assert len(last["items"]) == 2 and last["links"]["next"] is None
    # Under the limit, the count is exact.
    app.config["LISTING_COUNT_LIMIT"] = 100
    assert "12 RFPs, page 1 of 3" in web.get("/rfps").get_data(as_text=True)
    assert web.get("/api/v1/rfps").get_json()["total_exact"] is True
