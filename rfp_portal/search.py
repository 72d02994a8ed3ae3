"""Full-text search of RFPs with the database's own engine.

SQLite uses an FTS5 table ``rfp_fts`` (rowid = RFP id, Porter stemming); PostgreSQL a table
``rfp_search`` holding a weighted ``tsvector`` per RFP under a GIN index. Both are made by
migration 0005 and kept current by :func:`index_rfp`, which the RFP services call on every write
that changes searchable text. They live outside the ORM metadata because their shape depends on
the database; :func:`is_search_table` tells Alembic to leave them alone.

What a person types is never handed to either engine's query syntax: :func:`parse_query` keeps
only words, "quoted phrases", ``-excluded`` words and a trailing ``*`` for a prefix, and the
engine query is built from those pieces, so no input can be a syntax error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.orm import Session

MAX_TERMS = 12
MAX_WORD = 64
# Weights of title, summary, big picture, first plot and tags for SQLite's bm25(); PostgreSQL
# gets the same order through setweight A (title), B (summary, tags) and D (the Markdown parts).
FTS5_WEIGHTS = (10.0, 4.0, 1.0, 1.0, 4.0)

fts = sa.table("rfp_fts", sa.column("rowid", sa.Integer))
pg_search = sa.table("rfp_search", sa.column("rfp_id", sa.Integer), sa.column("document"))


def is_search_table(name: str | None) -> bool:
    """The search index tables (and FTS5's shadow tables), which the models do not describe."""
    return bool(name) and (name == "rfp_search" or name.startswith("rfp_fts"))


# -- what people type -------------------------------------------------------------------------

WORD = re.compile(r"[^\W_]+")
# PostgreSQL's English stop words (tsearch_data/english.stop, the Snowball list): PostgreSQL
# leaves them out of every document and FTS5 would match nearly every RFP on them, so a term
# made only of stop words is dropped from the query on both engines and the two agree.
_STOP_WORDS_TEXT = """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
    she her hers herself it its itself they them their theirs themselves what which who whom
    this that these those am is are was were be been being have has had having do does did
    doing a an the and but if or because as until while of at by for with about against
    between into through during before after above below to from up down in out on off over
    under again further then once here there when where why how all any both each few more
    most other some such no nor not only own same so than too very s t can will just don
    should now
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
# PostgreSQL's parser reads <…> as a tag and &…; as an entity; documents and queries both lose
# these three characters so raw Markdown like "<EOS>" is searchable as a word.
MARKUP_CHARACTERS = str.maketrans("<>&", "   ")
PIECE = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]
    negated: bool = False
    prefix: bool = False
    # What was typed (for PostgreSQL's phrase parser, which reads "CIFAR-10" as it indexed it).
    text: str = ""


@dataclass(frozen=True)
class SearchQuery:
    terms: tuple[Term, ...] = field(default_factory=tuple)

    @property
    def positive(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if not t.negated)

    @property
    def searchable(self) -> bool:
        """Something to look for: at least one word that is not excluded."""
        return bool(self.positive)

    @property
    def highlight_words(self) -> list[str]:
        return [w for t in self.positive for w in t.words]


def parse_query(text: str) -> SearchQuery:
    """Words, "phrases", -exclusions and word* prefixes from any text; never raises.

    ``AND`` is what happens anyway and is dropped; ``NOT word`` means ``-word``; ``OR`` is
    dropped too (every word must match), so people typing search-engine habits get sensible
    results rather than an error.
    """
    terms: list[Term] = []
    negate_next = False
    for match in PIECE.finditer(text or ""):
        minus, phrase, bare = match.groups()
        if bare is not None:
            if bare in ("AND", "OR"):
                continue
            if bare == "NOT":
                negate_next = True
                continue
            negated = bare.startswith("-") and len(bare) > 1
            typed = bare[1:] if negated else bare
            words = tuple(w.lower()[:MAX_WORD] for w in WORD.findall(typed))
            prefix = typed.endswith("*") and len(words) == 1
            typed = typed.rstrip("*")
        else:
            negated = bool(minus)
            typed = phrase
            words = tuple(w.lower()[:MAX_WORD] for w in WORD.findall(phrase))
            prefix = False
        if not words or all(word in STOP_WORDS for word in words):
            negate_next = False
            continue
        terms.append(
            Term(
                words=words,
                negated=negated or negate_next,
                prefix=prefix,
                text=typed[: MAX_WORD * len(words) * 2].translate(MARKUP_CHARACTERS),
            )
        )
        negate_next = False
        if len(terms) == MAX_TERMS:
            break
    return SearchQuery(terms=tuple(terms))


def fts5_expression(query: SearchQuery) -> str:
    """The FTS5 MATCH string: every term quoted (so nothing in it is syntax)."""

    def quoted(term: Term) -> str:
        return '"' + " ".join(term.words) + '"' + ("*" if term.prefix else "")

    expression = " AND ".join(quoted(t) for t in query.positive)
    for term in query.terms:
        if term.negated:
            expression = f"({expression}) NOT {quoted(term)}"
    return expression


def _pg_tsquery(query: SearchQuery):
    """A tsquery built from the parsed terms with PostgreSQL's forgiving parsers.

    A phrase of stop words gives an empty tsquery, which ``&&`` ignores.
    """
    english = sa.literal_column("'english'::regconfig")

    def piece(term: Term):
        if term.prefix:
            # Only [^\W_] characters reach here, so ':*' is the only syntax in the string.
            return sa.func.to_tsquery(english, sa.literal(term.words[0] + ":*"))
        # phraseto_tsquery has no operators to abuse; given the text as typed, it splits
        # "CIFAR-10" or "GPT-2" the way to_tsvector split them in the documents.
        return sa.func.phraseto_tsquery(english, sa.literal(term.text or " ".join(term.words)))

    positive = [piece(t) for t in query.positive]
    combined = positive[0]
    for part in positive[1:]:
        combined = combined.op("&&")(part)
    for term in query.terms:
        if term.negated:
            combined = combined.op("&&")(sa.func.tsquery_not(piece(term)))
    return combined


# -- the SQL ----------------------------------------------------------------------------------


def apply_search(select: sa.Select, query: SearchQuery, dialect: str, rfp_id_column):
    """Restrict ``select`` to matching RFPs; returns it with a ``rank`` expression (lower first).

    :param rfp_id_column: the RFP id column of ``select``.
    """
    if dialect == "sqlite":
        select = select.join(fts, fts.c.rowid == rfp_id_column).where(
            sa.literal_column("rfp_fts").op("MATCH")(fts5_expression(query))
        )
        rank = sa.func.bm25(sa.literal_column("rfp_fts"), *FTS5_WEIGHTS)
        return select, rank
    tsquery = _pg_tsquery(query)
    select = select.join(pg_search, pg_search.c.rfp_id == rfp_id_column).where(
        pg_search.c.document.op("@@")(tsquery)
    )
    # ts_rank grows with relevance; negate it so both engines sort ascending.
    rank = -sa.func.ts_rank(pg_search.c.document, tsquery)
    return select, rank


_SQLITE_DOCUMENT = """
    SELECT r.id, r.title, r.summary, r.big_picture_md, r.first_plot_md,
           coalesce((SELECT group_concat(t.name, ' ') FROM rfp_tags rt
                     JOIN tags t ON t.id = rt.tag_id WHERE rt.rfp_id = r.id), '')
    FROM rfps r
"""
_PG_DOCUMENT = """
    SELECT r.id,
           setweight(to_tsvector('english', translate(r.title, '<>&', '   ')), 'A')
        || setweight(to_tsvector('english', translate(r.summary, '<>&', '   ')), 'B')
        || setweight(to_tsvector('english', coalesce((SELECT string_agg(t.name, ' ')
                     FROM rfp_tags rt JOIN tags t ON t.id = rt.tag_id
                     WHERE rt.rfp_id = r.id), '')), 'B')
        || setweight(to_tsvector('english',
                     translate(r.big_picture_md || ' ' || r.first_plot_md, '<>&', '   ')), 'D')
    FROM rfps r
"""


def _statements(dialect: str, *, one: bool) -> list[str]:
    """SQL that (re)indexes one RFP (``:id``) or all of them; fixed text, no user input."""
    where = " WHERE r.id = :id" if one else ""
    if dialect == "sqlite":
        return [
            "DELETE FROM rfp_fts WHERE rowid = :id" if one else "DELETE FROM rfp_fts",
            "INSERT INTO rfp_fts (rowid, title, summary, big_picture, first_plot, tags)"
            + _SQLITE_DOCUMENT
            + where,
        ]
    return [
        "INSERT INTO rfp_search (rfp_id, document)"
        + _PG_DOCUMENT
        + where
        + " ON CONFLICT (rfp_id) DO UPDATE SET document = excluded.document"
    ]


def create_tables(connection: sa.Connection) -> None:
    """Make the empty search index for this database (migration 0005; tests after create_all).

    Changing what this makes needs a new migration, not an edit here.
    """
    if connection.dialect.name == "sqlite":
        connection.execute(
            sa.text(
                "CREATE VIRTUAL TABLE rfp_fts USING fts5("
                "title, summary, big_picture, first_plot, tags, "
                "tokenize = 'porter unicode61 remove_diacritics 2')"
            )
        )
    else:
        connection.execute(
            sa.text(
                "CREATE TABLE rfp_search ("
                "rfp_id INTEGER PRIMARY KEY "
                "CONSTRAINT fk_rfp_search_rfp_id_rfps REFERENCES rfps (id) ON DELETE CASCADE, "
                "document TSVECTOR NOT NULL)"
            )
        )
        connection.execute(
            sa.text("CREATE INDEX ix_rfp_search_document ON rfp_search USING gin (document)")
        )


def drop_tables(connection: sa.Connection) -> None:
    table = "rfp_fts" if connection.dialect.name == "sqlite" else "rfp_search"
    connection.execute(sa.text(f"DROP TABLE {table}"))


def clear_index(session: Session) -> None:
    """Empty the search index (when every RFP is deleted at once)."""
    table = "rfp_fts" if session.get_bind().dialect.name == "sqlite" else "rfp_search"
    session.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 - one of two fixed names


def index_rfp(session: Session, rfp_id: int) -> None:
    """Bring the search index up to date with one RFP's saved text and tags (call after flush)."""
    dialect = session.get_bind().dialect.name
    for statement in _statements(dialect, one=True):
        session.execute(sa.text(statement), {"id": rfp_id})


def unindex_rfp(session: Session, rfp_id: int) -> None:
    """Take one RFP out of the index (before it is deleted)."""
    table, column = (
        ("rfp_fts", "rowid")
        if session.get_bind().dialect.name == "sqlite"
        else ("rfp_search", "rfp_id")
    )
    session.execute(sa.text(f"DELETE FROM {table} WHERE {column} = :id"), {"id": rfp_id})  # noqa: S608


def rebuild_index(connection: sa.Connection | Session) -> None:
    """Index every RFP afresh (migrations and bulk loads use this)."""
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    for statement in _statements(bind.dialect.name, one=False):
        connection.execute(sa.text(statement))


# -- showing matches --------------------------------------------------------------------------


def _matcher(words: list[str]) -> re.Pattern | None:
    """Words in text that a search for ``words`` matched: the word itself or a longer form."""
    stems = sorted({_stem(w) for w in words if w}, key=len, reverse=True)
    if not stems:
        return None
    return re.compile(
        r"(?<![^\W_])(?:" + "|".join(re.escape(s) for s in stems) + r")[^\W_]*", re.IGNORECASE
    )


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "ed", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def highlight(text: str, words: list[str]) -> Markup:
    """``text`` escaped, with the words a search matched wrapped in ``<mark>``."""
    pattern = _matcher(words)
    if pattern is None:
        return escape(text)
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(Markup("<mark>%s</mark>") % match.group(0))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


MARKDOWN_NOISE = re.compile(r"\]\([^)\s]*\)|https?://\S+|[#*_`>\[\]()|~$\\]+")
SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:!?])")


def excerpt(text: str, words: list[str], width: int = 90) -> Markup | None:
    """A short passage of ``text`` around its first match, highlighted; None when none matches."""
    pattern = _matcher(words)
    if pattern is None:
        return None
    plain = SPACE_BEFORE_PUNCTUATION.sub(r"\1", " ".join(MARKDOWN_NOISE.sub(" ", text).split()))
    match = pattern.search(plain)
    if match is None:
        return None
    start = max(0, match.start() - width)
    end = min(len(plain), match.end() + width)
    if start:
        start = plain.find(" ", start) + 1 or start
    passage = plain[start:end]
    return (
        (Markup("…") if start else Markup(""))
        + highlight(passage, words)
        + (Markup("…") if end < len(plain) else Markup(""))
    )
