"""The OpenAPI 3.1 description of API v1, served at /api/v1/openapi.json.

Built from the same constants the views check parameters against (:mod:`rfp_portal.api.params`),
so the document and the behaviour cannot drift apart on a limit or an allowed value. Every field
the views send is listed and required (a missing value is an explicit ``null``), and objects
allow no other properties: a client may rely on exactly this shape.
"""

from __future__ import annotations

import copy
from typing import Any

from rfp_portal.api import params
from rfp_portal.models import PlotKind, SlotKind
from rfp_portal.models.event import RESEARCH_JAM, SERIES_SLUG_MAX
from rfp_portal.models.plot import ALT_TEXT_MAX, CAPTION_MAX
from rfp_portal.models.rfp import PUBLISHED, SUMMARY_MAX, TAG_MAX, TITLE_MAX
from rfp_portal.pagination import MAX_PAGE
from rfp_portal.rfps.listing import MAX_QUERY, MAX_TAG_FILTERS

Schema = dict[str, Any]

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """``schema`` or null (OpenAPI 3.1 is JSON Schema: no ``nullable`` keyword, a list of types)."""
    return {**schema, "type": [schema["type"], "null"]}


def obj(description: str, properties: dict[str, Schema]) -> Schema:
    """An object with exactly these properties, all of them always present."""
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def text(description: str | None = None, **limits: Any) -> Schema:
    schema: Schema = {"type": "string", **limits}
    if description:
        schema["description"] = description
    return schema


def count(description: str) -> Schema:
    return {"type": "integer", "minimum": 0, "description": description}


URL = {"type": "string", "format": "uri"}
LINK = text("A link given by a person (http or https).")
TIME = text("A moment in UTC, ISO 8601 (e.g. 2021-08-04T23:00:00Z).", format="date-time")
ID_MAX = 2**31 - 1  # what the "id" URL converter accepts: a 32-bit column
ID = {"type": "integer", "minimum": 1, "maximum": ID_MAX}
PRESENTATION_OF_RFP: dict[str, Schema] = {
    "jam": {**ID, "description": "The Jam's number (#3)."},
    "jam_title": text(),
    "url": {**URL, "description": "The Jam in this API."},
}

SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        "What went wrong.",
        {
            "error": obj(
                "The HTTP status again, and a message meant for people.",
                {"status": {"type": "integer", "minimum": 400, "maximum": 599}, "message": text()},
            )
        },
    ),
    "Person": obj(
        "A member of the portal.",
        {
            "username": text(minLength=1),
            "display_name": text(),
            "url": {**URL, "description": "Their page on the portal."},
        },
    ),
    "Markdown": obj(
        "Text as its author wrote it (Markdown) and as the portal shows it (sanitised HTML).",
        {"markdown": text(), "html": text()},
    ),
    "Links": obj(
        "Absolute URLs of this page and the pages around it, with the same filters.",
        {"self": URL, "next": nullable(URL), "prev": nullable(URL)},
    ),
    "PresentationOfRfp": obj(
        "A Research Jam where the RFP was (or will be) presented.", PRESENTATION_OF_RFP
    ),
    "RfpPresentation": obj(
        "A Research Jam where the RFP was (or will be) presented, with who presents it and links.",
        {
            **PRESENTATION_OF_RFP,
            "starts_at": TIME,
            "presenter": ref("Person"),
            "slides_url": nullable(LINK),
            "recording_url": nullable(LINK),
        },
    ),
    "Plot": obj(
        "An image showing the plot that is asked for: an example upload or a sketch.",
        {
            "id": ID,
            "kind": {"type": "string", "enum": [PlotKind.EXAMPLE.value, PlotKind.SKETCH.value]},
            "caption": text(maxLength=CAPTION_MAX),
            "alt_text": text(maxLength=ALT_TEXT_MAX),
            "width": {"type": "integer", "minimum": 1},
            "height": {"type": "integer", "minimum": 1},
            "image_url": URL,
            "thumbnail_url": URL,
        },
    ),
    "ClaimCounts": obj(
        "How many people claimed this RFP, by where their claims stand.",
        {
            "active": count("Active now (not expired, dropped or delivered)."),
            "delivered": count("Delivered a result (accepted or not)."),
            "accepted": count("Delivered results the author accepted."),
            "total": count("Every claim ever made, dropped and expired ones too."),
        },
    ),
    "Result": obj(
        "A result delivered by someone who claimed the RFP.",
        {
            "claimant": ref("Person"),
            "result_url": nullable(LINK),
            "write_up": ref("Markdown"),
            "image_url": nullable({**URL, "description": "The result plot."}),
            "delivered_at": TIME,
            "accepted_at": nullable(TIME),
        },
    ),
}

RFP_SUMMARY_PROPERTIES: dict[str, Schema] = {
    "id": ID,
    "title": text(maxLength=TITLE_MAX),
    "summary": text(maxLength=SUMMARY_MAX),
    "state": {"type": "string", "enum": [s.value for s in PUBLISHED]},
    "difficulty": {"type": "string", "enum": list(params.DIFFICULTY_VALUES)},
    "compute": {"type": "string", "enum": list(params.COMPUTE_VALUES)},
    "tags": {"type": "array", "items": text(maxLength=TAG_MAX), "uniqueItems": True},
    "author": ref("Person"),
    "created_at": TIME,
    "updated_at": TIME,
    "want_count": count("How many members said “I want this plot too”."),
    "active_claims": count("How many people are working on it now."),
    "comments": count("Visible comments."),
    "claimed": {"type": "boolean", "description": "Someone is working on it now."},
    "presentations": {"type": "array", "items": ref("PresentationOfRfp")},
    "url": {**URL, "description": "The RFP's page."},
    "api_url": {**URL, "description": "The RFP in this API."},
    "thumbnail_url": nullable({**URL, "description": "The first plot's thumbnail."}),
}
SCHEMAS["RfpSummary"] = obj("A Request for Plot as a listing shows it.", RFP_SUMMARY_PROPERTIES)
SCHEMAS["Rfp"] = obj(
    "A Request for Plot with everything on its page.",
    {
        **RFP_SUMMARY_PROPERTIES,
        "big_picture": ref("Markdown"),
        "first_plot": ref("Markdown"),
        "claim_cap": nullable(
            {"type": "integer", "minimum": 1, "description": "At most this many active claims."}
        ),
        "plots": {"type": "array", "items": ref("Plot")},
        "claims": ref("ClaimCounts"),
        "results": {"type": "array", "items": ref("Result")},
        "presentations": {"type": "array", "items": ref("RfpPresentation")},
    },
)

JAM_SUMMARY_PROPERTIES: dict[str, Schema] = {
    "number": {**ID, "description": "Research Jam #number."},
    "title": text(),
    "starts_at": TIME,
    "ends_at": TIME,
    "timezone": text("The IANA time zone it was announced in, e.g. America/Los_Angeles."),
    "duration_minutes": {"type": "integer", "minimum": 1},
    "upcoming": {"type": "boolean", "description": "It has not ended yet."},
    "join_url": nullable(text("Where to join; null once the Jam is over.")),
    "url": {**URL, "description": "The Jam's page."},
    "api_url": {**URL, "description": "The Jam in this API."},
    "ical_url": {**URL, "description": "The Jam as an iCalendar event."},
}
SCHEMAS["Jam"] = obj("A Research Jam, the community's open lab meeting.", JAM_SUMMARY_PROPERTIES)
SCHEMAS["JamPresentation"] = obj(
    "An RFP presented (or to be presented) at the Jam.",
    {
        "rfp": {**ID, "description": "The RFP's id."},
        "title": text(maxLength=TITLE_MAX),
        "state": {"type": "string", "enum": [s.value for s in PUBLISHED]},
        "url": {**URL, "description": "The RFP's page."},
        "api_url": {**URL, "description": "The RFP in this API."},
        "presenter": ref("Person"),
        "slides_url": nullable(LINK),
        "recording_url": nullable(LINK),
    },
)
SCHEMAS["AgendaSlot"] = obj(
    "A slot on a Research Jam's agenda: an RFP presented, or a small update. Only accepted slots "
    "are listed, in the order they are held.",
    {
        "position": {"type": "integer", "minimum": 0, "description": "Its place, from 0."},
        "kind": {"type": "string", "enum": [k.value for k in SlotKind]},
        "title": text(
            "The update's title, or the RFP's; an RFP not yet published is called "
            "“An RFP (to be published)”."
        ),
        "line": nullable(text("What an update is about, in a line; null for an RFP.")),
        "link_url": nullable(LINK),
        "minutes": {"type": "integer", "minimum": 1},
        "starts_at": nullable(TIME),
        "ends_at": nullable(TIME),
        "presenter": ref("Person"),
        "rfp": nullable(
            obj(
                "The RFP presented; null for an update, and for an RFP not yet published.",
                {
                    "id": {**ID, "description": "The RFP's id."},
                    "url": {**URL, "description": "The RFP's page."},
                    "api_url": {**URL, "description": "The RFP in this API."},
                },
            )
        ),
        "slides_url": nullable(LINK),
        "recording_url": nullable(LINK),
    },
)
SCHEMAS["JamDetail"] = obj(
    "A Research Jam with its description and agenda.",
    {
        **JAM_SUMMARY_PROPERTIES,
        "description": ref("Markdown"),
        "presentations": {"type": "array", "items": ref("JamPresentation")},
        "agenda": {"type": "array", "items": ref("AgendaSlot")},
    },
)
SERIES_SLUG = text(
    "A series' address: research-jam for the Research Jams, e.g. openclubhouse for another.",
    minLength=1,
    maxLength=SERIES_SLUG_MAX,
    pattern=params.SERIES_SLUG_PATTERN,
)
SCHEMAS["CalendarEvent"] = obj(
    "An event on the community calendar: a Research Jam, or an event of another series.",
    {
        "series": SERIES_SLUG,
        "series_name": text(),
        "name": text("What it is called: “Research Jam #3”, “ICLR 2021 Social”."),
        "title": text(),
        "number": nullable(
            {"type": "integer", "description": "Its number in a numbered series; else null."}
        ),
        "conference": nullable(text("The conference it is held at.")),
        "link_url": nullable({**LINK, "description": "The conference's page."}),
        "starts_at": TIME,
        "ends_at": TIME,
        "timezone": text("The IANA time zone it was announced in, e.g. America/Los_Angeles."),
        "duration_minutes": {"type": "integer", "minimum": 1},
        "upcoming": {"type": "boolean", "description": "It has not ended yet."},
        "join_url": nullable(text("Where to join; null once it is over.")),
        "description_html": text("Its description, as the portal shows it (sanitised HTML)."),
        "url": {**URL, "description": "Its page."},
        "api_url": nullable({**URL, "description": "A Research Jam in this API; else null."}),
        "ical_url": {**URL, "description": "It as an iCalendar event."},
    },
)


def page_of(item: str) -> Schema:
    return obj(
        f"One page of {item} items.",
        {
            "items": {"type": "array", "items": ref(item), "maxItems": params.PER_PAGE_MAX},
            "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            "per_page": {"type": "integer", "minimum": 1, "maximum": params.PER_PAGE_MAX},
            "total": count(
                "How many items match, on all pages; with `total_exact` false, the count "
                "stopped there and more match."
            ),
            "total_exact": {
                "type": "boolean",
                "description": "False when more items match than the count went to "
                "(LISTING_COUNT_LIMIT, 10,000 by default): `pages` is then a lower bound, and "
                "`links.next` says whether another page follows.",
            },
            "pages": {"type": "integer", "minimum": 1},
            "links": ref("Links"),
        },
    )


SCHEMAS["RfpPage"] = page_of("RfpSummary")
SCHEMAS["JamPage"] = page_of("Jam")
SCHEMAS["CalendarEventPage"] = page_of("CalendarEvent")


def query(name: str, description: str, schema: Schema, **extra: Any) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        **extra,
    }


def path_id(name: str, description: str) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": ID,
        "example": 1,
    }


PAGING = [
    query(
        "page",
        "Which page, from 1.",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
    ),
    query(
        "per_page",
        "How many items a page holds.",
        {
            "type": "integer",
            "minimum": 1,
            "maximum": params.PER_PAGE_MAX,
            "default": params.PER_PAGE_DEFAULT,
        },
    ),
]

RFP_FILTERS = [
    query(
        "q",
        'Full-text search: words, "phrases", -excluded words and prefix* words.',
        text(maxLength=MAX_QUERY),
    ),
    query(
        "state",
        "Empty (the default): open and completed; `all` includes withdrawn RFPs.",
        {"type": "string", "enum": list(params.STATE_VALUES), "default": ""},
    ),
    query(
        "claimed",
        "`yes`: someone is working on it now; `no`: nobody is.",
        {"type": "string", "enum": list(params.CLAIMED_VALUES)},
    ),
    query(
        "mentoring",
        "`yes`: only RFPs whose authors are open to mentoring.",
        {"type": "string", "enum": list(params.MENTORING_VALUES)},
    ),
    query(
        "tag",
        "RFPs with this tag (any case; spaces squeezed). Repeat for RFPs with all of them.",
        {
            "type": "array",
            "items": text(minLength=1, maxLength=TAG_MAX, pattern=params.TAG_FILTER_PATTERN),
            "maxItems": MAX_TAG_FILTERS,
        },
        style="form",
        explode=True,
    ),
    query("jam", "RFPs presented at Research Jam #jam.", ID),
    query(
        "difficulty",
        "How much research experience it asks for.",
        {"type": "string", "enum": list(params.DIFFICULTY_VALUES)},
    ),
    query("compute", "Compute needed.", {"type": "string", "enum": list(params.COMPUTE_VALUES)}),
    query(
        "sort",
        "`relevance` (the default with `q`; without it, the same as `new`), `new` (the "
        "default), `updated`, `wanted`, `claims` (people working on it now), `comments`.",
        {"type": "string", "enum": list(params.SORT_VALUES)},
    ),
]


def error(description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


def ok(description: str, schema: Schema) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


BAD_PARAMETER = error("A parameter has a value this API does not allow; the message says which.")
TOO_LONG = error("The address (path and query) is longer than the 4,096 characters the API reads.")

PATHS: dict[str, Schema] = {
    "/api/v1/rfps": {
        "get": {
            "operationId": "listRfps",
            "tags": ["RFPs"],
            "summary": "Requests for Plot, filtered, searched and sorted like the /rfps listing",
            "parameters": [*RFP_FILTERS, *PAGING],
            "responses": {
                "200": ok("A page of RFPs.", ref("RfpPage")),
                "400": BAD_PARAMETER,
                "414": TOO_LONG,
            },
        }
    },
    "/api/v1/rfps/{rfp_id}": {
        "get": {
            "operationId": "getRfp",
            "tags": ["RFPs"],
            "summary": "One Request for Plot, with plots, claims, results and presentations",
            "parameters": [path_id("rfp_id", "The RFP's id.")],
            "responses": {
                "200": ok("The RFP.", ref("Rfp")),
                "404": error("There is no RFP with that id."),
            },
        }
    },
    "/api/v1/jams": {
        "get": {
            "operationId": "listJams",
            "tags": ["Research Jams"],
            "summary": "Research Jams, newest first",
            "parameters": [
                query(
                    "when",
                    "`upcoming`: not over yet; `past`: over. All of them when left out.",
                    {"type": "string", "enum": list(params.JAM_WHEN)},
                ),
                *PAGING,
            ],
            "responses": {
                "200": ok("A page of Jams.", ref("JamPage")),
                "400": BAD_PARAMETER,
                "414": TOO_LONG,
            },
        }
    },
    "/api/v1/jams/{number}": {
        "get": {
            "operationId": "getJam",
            "tags": ["Research Jams"],
            "summary": "One Research Jam, with what is presented there and its agenda",
            "parameters": [path_id("number", "The Jam's number (#3 is 3).")],
            "responses": {
                "200": ok("The Jam.", ref("JamDetail")),
                "404": error("There is no Research Jam with that number."),
            },
        }
    },
    "/api/v1/events": {
        "get": {
            "operationId": "listEvents",
            "tags": ["Calendar"],
            "summary": "Every event on the calendar (Research Jams and other series'), newest first",
            "parameters": [
                query(
                    "series",
                    f"Only this series' events (`{RESEARCH_JAM.slug}`: the Research Jams). "
                    "All series' when left out.",
                    SERIES_SLUG,
                    example=RESEARCH_JAM.slug,
                ),
                query(
                    "when",
                    "`upcoming`: not over yet; `past`: over. All of them when left out.",
                    {"type": "string", "enum": list(params.EVENT_WHEN)},
                ),
                *PAGING,
            ],
            "responses": {
                "200": ok("A page of events.", ref("CalendarEventPage")),
                "400": BAD_PARAMETER,
                "404": error("There is no event series with that address."),
                "414": TOO_LONG,
            },
        }
    },
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "getOpenApi",
            "tags": ["About"],
            "summary": "This description of the API (OpenAPI 3.1)",
            "responses": {"200": ok("This document.", {"type": "object"})},
        }
    },
}


def openapi_document() -> Schema:
    """The whole document; a new dict each time, so a caller may change its copy."""
    return copy.deepcopy(
        {
            "openapi": OPENAPI_VERSION,
            "info": {
                "title": "RFP Portal API",
                "version": API_VERSION,
                "summary": "Read-only JSON API of the ML Collective's Requests for Plot.",
                "description": (
                    "Requests for Plot (RFPs), the Research Jams where they are presented and "
                    "the community calendar's events. "
                    "Read-only: no log-in, no keys. Lists are paginated (`page`, `per_page`) and "
                    "link to the pages around them. A parameter this document does not allow is "
                    "a 400, never silently ignored; errors are JSON objects (`Error`)."
                ),
            },
            "servers": [{"url": "/"}],
            "tags": [
                {"name": "RFPs", "description": "Requests for Plot."},
                {"name": "Research Jams", "description": "The monthly open lab meeting."},
                {
                    "name": "Calendar",
                    "description": "Research Jams and the events of other series, together.",
                },
                {"name": "About"},
            ],
            "paths": PATHS,
            "components": {"schemas": SCHEMAS},
        }
    )
