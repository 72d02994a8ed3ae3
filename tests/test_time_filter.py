"""Times of things read "3 hours ago" while recent and as a date once a day old.

The rule is ``relative_time`` (rfp_portal/web/filters.py), written into ``<time>`` elements by the
``time`` filter with the exact time as their title; static/localtime.js applies the same rule in
the browser (tests/browser/test_header_and_focus.py checks it there).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rfp_portal.web.filters import relative_time, time_tag

NOW = datetime(2021, 8, 5, 18, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (timedelta(0), "just now"),
        (timedelta(seconds=59), "just now"),
        (timedelta(seconds=-20), "just now"),  # a clock a little ahead is not "in the future"
        (timedelta(minutes=1), "1 minute ago"),
        (timedelta(minutes=5, seconds=40), "5 minutes ago"),
        (timedelta(minutes=59, seconds=59), "59 minutes ago"),
        (timedelta(hours=1), "1 hour ago"),
        (timedelta(hours=3, minutes=50), "3 hours ago"),
        (timedelta(hours=23, minutes=59), "23 hours ago"),
        (timedelta(minutes=-5), "in 5 minutes"),  # e.g. a message waiting to be sent
        (timedelta(hours=-2), "in 2 hours"),
    ],
)
def test_a_recent_time_reads_as_how_long_ago(ago, text):
    assert relative_time(NOW - ago, NOW) == text


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (timedelta(days=1), "4 Aug 2021"),  # 18:30 UTC the day before is 11:30 in Pacific time
        (timedelta(days=1, hours=16), "3 Aug 2021"),  # 02:30 UTC on the 4th: the 3rd in Pacific
        (timedelta(days=400), "1 Jul 2020"),
        (timedelta(days=-3), "8 Aug 2021"),
    ],
)
def test_a_time_a_day_or_more_away_reads_as_its_date(ago, text):
    assert relative_time(NOW - ago, NOW) == text


def test_the_date_is_the_community_s_date():
    """01:00 UTC on 5 Aug is still 4 Aug in Pacific time, where the community announces."""
    late_evening = datetime(2021, 8, 5, 1, 0, tzinfo=UTC)
    assert relative_time(late_evening, late_evening + timedelta(days=2)) == "4 Aug 2021"
    assert relative_time(late_evening, late_evening + timedelta(days=2), "UTC") == "5 Aug 2021"


def test_the_element_carries_the_exact_time():
    html = str(time_tag(NOW - timedelta(hours=3), now=NOW))
    assert html == (
        '<time class="local-time relative-time" datetime="2021-08-05T15:30:00+00:00"'
        ' title="2021-08-05 08:30 PDT / 15:30 UTC">3 hours ago</time>'
    )
    assert str(time_tag(None)) == ""


def test_pages_show_the_rule(clock, web, make):
    """An RFP submitted three hours ago, commented on just now; and one from last month."""
    author = make.user("author")
    old_id = make.rfp(author)
    clock.advance(days=30)
    rfp_id = make.rfp(author)
    clock.advance(hours=3)
    web.login("author")
    web.post(f"/rfps/{rfp_id}/comments", {"body": "A first note."}, form_url=f"/rfps/{rfp_id}")
    page = web.get(f"/rfps/{rfp_id}").get_data(as_text=True)
    assert '<dd><time class="local-time relative-time"' in page
    assert 'title="2026-03-31 05:00 PDT / 12:00 UTC">3 hours ago</time>' in page
    assert ">just now</time>" in page
    listing = web.get("/rfps").get_data(as_text=True)
    assert ">3 hours ago</time>" in listing and ">1 Mar 2026</time>" in listing
    assert f'href="/rfps/{old_id}"' in listing
