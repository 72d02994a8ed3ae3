"""Profiles: editing one's own at /account/profile, the person page that shows it, and the
listing of RFPs whose authors are open to mentoring."""

from __future__ import annotations

import html as html_lib
import re

import pytest
import sqlalchemy as sa

from rfp_portal.db import get_session
from rfp_portal.models import Claim, ClaimStatus, Rfp, RfpState, User
from rfp_portal.models.user import BIO_MAX
from rfp_portal.services import DomainError
from rfp_portal.services.profiles import (
    ProfileDraft,
    read_discord,
    read_github,
    read_scholar,
    read_website,
    update_profile,
)
from tests.conftest import START

URL = "/account/profile"
SCHOLAR_ID = "AbCdEf12_-Xy"
PROFILE = {
    "display_name": "Ada Lovelace",
    "bio": "I work on **optimisation**; see [my notes](https://example.org/notes).",
    "website": "https://example.org/ada",
    "github": "ada-l",
    "scholar": f"https://scholar.google.co.uk/citations?user={SCHOLAR_ID}&hl=en",
    "discord": "Ada.Lovelace",
    "open_to_mentoring": "y",
}


def user_row(app, username: str) -> User:
    with app.app_context():
        session = get_session()
        user = session.scalar(sa.select(User).where(User.username == username))
        session.expunge(user)
        return user


def card_titles(html: str) -> list[str]:
    return re.findall(r'class="rfp-card-title"><a href="/rfps/\d+">([^<]+)</a>', html)


# -- saving ------------------------------------------------------------------------------------


def test_a_member_saves_their_profile_and_sees_it_on_their_page(web, app, make):
    make.user("ada")
    web.login("ada")
    form = web.get(URL)
    assert form.status_code == 200 and 'value="Person ada"' in form.get_data(as_text=True)
    response = web.post(URL, PROFILE, form_url=URL)
    assert response.status_code == 302 and response.headers["Location"] == "/users/ada"
    ada = user_row(app, "ada")
    assert ada.display_name == "Ada Lovelace"
    assert ada.bio_md == PROFILE["bio"]
    assert "<strong>optimisation</strong>" in ada.bio_html
    assert ada.website_url == "https://example.org/ada"
    assert ada.github_username == "ada-l"
    assert ada.scholar_id == SCHOLAR_ID  # only the id is kept; the portal builds the link
    assert ada.discord_handle == "ada.lovelace"
    assert ada.open_to_mentoring and not ada.looking_for_mentor
    page = web.get("/users/ada").get_data(as_text=True)
    assert "Your profile is saved." in page
    assert "<h1>Ada Lovelace</h1>" in page and "<strong>optimisation</strong>" in page
    assert '<li class="pill mentor">Open to mentoring</li>' in page
    assert "Looking for a mentor" not in page
    for href in (
        "https://example.org/ada",
        "https://github.com/ada-l",
        f"https://scholar.google.com/citations?user={SCHOLAR_ID}",
    ):
        assert f'<a href="{href}" rel="nofollow ugc noopener">' in page, href
    assert 'href="https://example.org/notes" rel="nofollow ugc noopener"' in page  # in the bio
    assert "Discord: <span" in page and "ada.lovelace" in page
    # the form shows what is saved, ready to change again; unticking clears a flag
    again = web.get(URL).get_data(as_text=True)
    assert 'value="ada-l"' in again and "**optimisation**" in again
    assert "checked" in re.search(r'<input[^>]*id="open_to_mentoring"[^>]*>', again).group(0)
    changed = {**PROFILE, "looking_for_mentor": "y"}
    del changed["open_to_mentoring"]
    assert web.post(URL, changed).status_code == 302
    ada = user_row(app, "ada")
    assert ada.looking_for_mentor and not ada.open_to_mentoring
    page = web.get("/users/ada").get_data(as_text=True)
    assert "Looking for a mentor" in page and "Open to mentoring" not in page


def test_emptying_the_links_removes_them(web, app, make):
    make.user("ada")
    web.login("ada")
    web.post(URL, PROFILE, form_url=URL)
    empty = {"display_name": "Ada", "bio": "", "website": "", "github": "", "scholar": ""}
    assert web.post(URL, {**empty, "discord": "  "}).status_code == 302
    ada = user_row(app, "ada")
    assert (ada.bio_md, ada.bio_html) == ("", "")
    assert ada.website_url is ada.github_username is ada.scholar_id is ada.discord_handle is None
    page = web.get("/users/ada").get_data(as_text=True)
    assert 'aria-label="Links"' not in page and 'id="about-title"' not in page


BAD_INPUT = [
    ("website", "javascript:alert(1)", "starting with https://"),
    ("website", " JaVaScRiPt:alert(document.cookie)", "starting with https://"),
    ("website", "data:text/html,<script>alert(1)</script>", "starting with https://"),
    ("website", "example.org", "starting with https://"),
    ("website", "https://", "starting with https://"),
    ("website", "https://exa mple.org", "starting with https://"),
    ("website", "https://[::1", "starting with https://"),
    ("website", "https://example.org/" + "a" * 300, "at most 300 characters"),
    ("github", "not a name", "GitHub username"),
    ("github", "-leading", "GitHub username"),
    ("github", "double--hyphen", "GitHub username"),
    ("github", "https://evil.example/ada", "GitHub username"),
    ("github", "a" * 40, "GitHub username"),
    ("scholar", "https://evil.example/citations?user=AbCdEf12_-Xy", "Google Scholar"),
    ("scholar", "https://scholar.google.com.evil.example/citations?user=AbCdEf12_-Xy", "Scholar"),
    ("scholar", "javascript:alert(1)//scholar.google.com/citations?user=AbCdEf12_-Xy", "Scholar"),
    ("scholar", "https://scholar.google.com/citations?hl=en", "Google Scholar"),
    ("scholar", "https://scholar.google.com/scholar?q=AbCdEf12_-Xy", "Google Scholar"),
    ("scholar", "short", "Google Scholar"),
    ("discord", "a", "Discord username"),
    ("discord", "two..dots", "Discord username"),
    ("discord", "<script>", "Discord username"),
    ("display_name", "", "Enter the name"),
    ("display_name", "x" * 81, "At most 80 characters"),
    ("bio", "b" * (BIO_MAX + 1), "at most 2,000 characters"),
    ("bio", "nul \x00 byte", "not allowed"),
]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    BAD_INPUT,
    ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(BAD_INPUT)],
)
@pytest.mark.engine_independent  # form validation; saving is tested on both engines above
def test_bad_input_is_refused_beside_its_field_and_kept(web, app, make, field, value, message):
    make.user("ada")
    web.login("ada")
    response = web.post(URL, {**PROFILE, field: value}, form_url=URL)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', page, re.S)
    assert error and message in html_lib.unescape(error.group(1)), page[:3000]
    assert 'aria-invalid="true"' in page
    if "\x00" not in value and len(value) < 100:
        assert html_lib.escape(value.strip(), quote=True) in page  # the input is kept
    assert 'value="https://example.org/ada"' in page or field == "website"  # and the rest
    # nothing was saved
    assert user_row(app, "ada").display_name == "Person ada"
    assert "<script>" not in page.replace("&lt;script&gt;", "")


def test_the_bio_is_rendered_once_when_saved_and_sanitised(web, app, make, monkeypatch):
    make.user("ada")
    web.login("ada")
    bio = (
        "Hello <script>alert('x')</script> and <img src=x onerror=alert(1)> "
        "[click](javascript:alert(1)) $x^2$"
    )
    renders = []
    from rfp_portal.services import profiles

    real = profiles.render_field

    def counting(text, *, field):
        renders.append(field)
        return real(text, field=field)

    monkeypatch.setattr(profiles, "render_field", counting)
    assert web.post(URL, {**PROFILE, "bio": bio}, form_url=URL).status_code == 302
    assert renders == ["bio"]
    ada = user_row(app, "ada")
    assert "<script" not in ada.bio_html and "javascript:" not in ada.bio_html
    assert "<img" not in ada.bio_html and "<math" in ada.bio_html
    for viewer in (web, type(web)(app.test_client())):  # its owner and a visitor
        page = viewer.get("/users/ada").get_data(as_text=True)
        assert "<script>alert" not in page
        assert not re.search(r"<[a-z]+[^>]*\son[a-z]+=", page)  # no event handler anywhere
        assert "&lt;script&gt;alert" in page  # written HTML shows as text
    # reading pages and saving an unchanged bio renders nothing again
    assert web.post(URL, {**PROFILE, "bio": bio}).status_code == 302
    assert renders == ["bio"]


def test_the_service_refuses_what_the_form_refuses(app, make):
    ada = make.user("ada")
    with app.app_context():
        session = get_session()
        user = session.get(User, ada.id)
        with pytest.raises(DomainError) as refused:
            update_profile(
                session,
                user=user,
                draft=ProfileDraft(display_name="Ada", website="javascript:alert(1)"),
            )
        assert refused.value.field == "website"
        session.rollback()
        assert session.get(User, ada.id).website_url is None


@pytest.mark.engine_independent  # pure functions
def test_the_link_rules_accept_the_usual_ways_of_writing_them():
    assert read_website(" https://example.org/a?b=c ") == "https://example.org/a?b=c"
    assert read_website("HTTP://Example.org") == "HTTP://Example.org"
    assert read_github("@octocat") == read_github("https://github.com/octocat/") == "octocat"
    for scholar in (
        SCHOLAR_ID,
        f"https://scholar.google.com/citations?user={SCHOLAR_ID}",
        f"scholar.google.de/citations?hl=de&user={SCHOLAR_ID}",
        f"https://scholar.google.com.au/citations?user={SCHOLAR_ID}&view_op=list_works",
    ):
        assert read_scholar(scholar) == SCHOLAR_ID, scholar
    assert read_discord("@Some_One.42") == "some_one.42"
    assert read_discord("Old Name#1234") == "Old Name#1234"
    assert read_website("") is read_github(" ") is read_scholar("") is read_discord("@") is None


# -- who may edit --------------------------------------------------------------------------------


@pytest.mark.engine_independent  # routing and CSRF
def test_visitors_are_sent_to_log_in_and_the_form_needs_its_token(web, app, make):
    response = web.post(URL, PROFILE, csrf=False)
    assert response.status_code in (302, 400)
    assert web.get(URL).status_code == 302
    make.user("ada")
    web.login("ada")
    assert web.post(URL, PROFILE, csrf=False).status_code == 400
    assert user_row(app, "ada").display_name == "Person ada"


def test_the_profile_page_edits_only_the_person_logged_in(web, app, make):
    make.user("ada")
    make.user("mallory")
    web.login("mallory")
    ada_id = user_row(app, "ada").id
    forged = {**PROFILE, "user_id": str(ada_id), "username": "ada", "id": str(ada_id)}
    assert web.post(URL, forged, form_url=URL).status_code == 302
    assert user_row(app, "ada").display_name == "Person ada"
    assert user_row(app, "mallory").display_name == "Ada Lovelace"


# -- the person page ---------------------------------------------------------------------------


def test_the_person_page_shows_delivered_results_with_their_links(web, app, make):
    author = make.user("author")
    ada = make.user("ada")
    rfp_id = make.rfp(author, title="Warmup for small models")
    with app.app_context():
        session = get_session()
        session.add(
            Claim(
                rfp_id=rfp_id,
                claimant_id=ada.id,
                status=ClaimStatus.DELIVERED,
                created_at=START,
                last_activity_at=START,
                ended_at=START,
                result_url="https://github.com/ada/warmup",
                write_up_md="Done.",
                write_up_html="<p>Done.</p>",
            )
        )
        session.commit()
    page = web.get("/users/ada").get_data(as_text=True)
    delivered = page[page.index('id="delivered"') : page.index('id="their-rfps"')]
    assert f'href="/rfps/{rfp_id}#delivery-' in delivered and "Warmup for small models" in delivered
    assert '<a href="https://github.com/ada/warmup" rel="nofollow ugc noopener">' in delivered


def test_drafts_are_on_the_person_page_for_their_author_alone(web, app, make):
    author = make.user("author")
    make.user("admin")
    make.rfp(author, title="A published RFP")
    draft_id = make.rfp(author, title="A secret draft")
    with app.app_context():
        session = get_session()
        session.get(Rfp, draft_id).state = RfpState.DRAFT
        session.commit()
    assert "A secret draft" not in web.get("/users/author").get_data(as_text=True)  # visitor
    web.login("admin")
    other = web.get("/users/author").get_data(as_text=True)
    assert "A published RFP" in other and "A secret draft" not in other
    web.logout()
    web.login("author")
    own = web.get("/users/author").get_data(as_text=True)
    assert "A published RFP" in own and "A secret draft" in own


# -- the listing: authors open to mentoring -----------------------------------------------------


def set_flags(app, username: str, **flags) -> None:
    with app.app_context():
        session = get_session()
        user = session.scalar(sa.select(User).where(User.username == username))
        for name, value in flags.items():
            setattr(user, name, value)
        session.commit()


def test_the_listing_filters_to_authors_open_to_mentoring(web, app, make):
    mentor, other, gone = make.user("mentor"), make.user("other"), make.user("gone")
    make.rfp(mentor, title="From a mentor")
    make.rfp(other, title="From someone else")
    make.rfp(gone, title="From a deactivated mentor")
    set_flags(app, "mentor", open_to_mentoring=True)
    set_flags(app, "gone", open_to_mentoring=True, active=False)
    assert len(card_titles(web.get("/rfps").get_data(as_text=True))) == 3
    page = web.get("/rfps?mentoring=yes").get_data(as_text=True)
    assert card_titles(page) == ["From a mentor"]
    # the filter form offers it, and its chip removes it
    assert '<option value="yes" selected>Author open to mentoring</option>' in page
    assert '<li><span>Author open to mentoring</span> <a href="/rfps"' in page
    # it combines with the other filters, reaches the feed and the API, and nonsense is ignored
    assert card_titles(web.get("/rfps?mentoring=yes&claimed=yes").get_data(as_text=True)) == []
    feed = web.get("/rfps.atom?mentoring=yes").get_data(as_text=True)
    assert "From a mentor" in feed and "From someone else" not in feed
    api = web.get("/api/v1/rfps?mentoring=yes").get_json()
    assert [item["title"] for item in api["items"]] == ["From a mentor"]
    assert web.get("/api/v1/rfps?mentoring=maybe").status_code == 400
    lenient = web.get("/rfps?mentoring=maybe").get_data(as_text=True)
    assert "is not a mentoring this listing knows" in lenient and len(card_titles(lenient)) == 3
    assert web.get("/rfps?mentoring=&state=open").headers["Location"] == "/rfps?state=open"


def test_the_mentoring_filter_costs_a_fixed_number_of_queries(web, app, make, count_queries):
    app.config["RFPS_PER_PAGE"] = 50
    url = "/rfps?mentoring=yes&state=open&tag=testing&sort=claims"

    def count(expected: int) -> int:
        with count_queries() as q:
            page = web.get(url).get_data(as_text=True)
        assert len(card_titles(page)) == expected
        return q.count

    first = make.user()
    make.rfp(first)
    set_flags(app, first.username, open_to_mentoring=True)
    one = count(1)
    for _ in range(6):  # more RFPs by more mentors (and some by people who are not)
        mentor, other = make.user(), make.user()
        make.rfp(mentor)
        make.rfp(mentor)
        make.rfp(other)
        set_flags(app, mentor.username, open_to_mentoring=True)
    assert count(13) == one
