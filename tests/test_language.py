"""The one stemmer and stop list (porch/language.py) against the databases' own stemming."""

from __future__ import annotations

import re
import sqlite3

import pytest
from bench.retrieval_questions import QUESTIONS
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from porch.knowledge.search.query import terms
from porch.language import STOP_WORDS, content_terms, stem

# Words of the retrieval benchmark's visitor questions: real support vocabulary.
CORPUS = sorted(
    {
        w
        for question, _ in QUESTIONS
        for w in re.findall(r"[a-z]+", question.lower())
        if w not in STOP_WORDS and len(w) > 2
    }
)


@pytest.mark.parametrize(
    "forms",
    [
        ("reset", "resets", "resetting"),
        ("password", "passwords"),
        ("ship", "shipped", "shipping", "ships"),
        ("policy", "policies"),
        ("configure", "configured", "configuration", "configuring"),
        ("box", "boxes"),
        ("bill", "billing", "bills"),
    ],
)
def test_word_forms_meet(forms: tuple[str, ...]) -> None:
    assert len({stem(w) for w in forms}) == 1


def test_content_terms_drop_filler_and_stem() -> None:
    assert content_terms("Hi! I want to know how I can reset my passwords, thanks") == [
        stem("reset"),
        stem("passwords"),
    ]


def test_keyword_query_uses_the_same_stop_list() -> None:
    assert terms("hello, what is the refund policy?") == ["refund", "policy"]


def test_sqlite_porter_mostly_agrees() -> None:
    """FTS5's `porter` is the original Porter algorithm; Snowball English refines a few
    endings, so most words of real questions stem the same in both."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'porter unicode61')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'row')")
    same = 0
    for word in CORPUS:
        db.execute("DELETE FROM t")
        db.execute("INSERT INTO t VALUES (?)", (word,))
        (porter,) = db.execute("SELECT term FROM v").fetchone()
        same += porter == stem(word)
    assert len(CORPUS) > 100
    assert same / len(CORPUS) > 0.9


@pytest.mark.postgres
async def test_postgres_english_stems_exactly_alike(pg_url: str) -> None:
    """PostgreSQL's `english` configuration is Snowball English: every word agrees."""
    engine = create_async_engine(pg_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT w, ts_lexize('english_stem', w) FROM unnest(CAST(:words AS text[])) w"
                ),
                {"words": CORPUS},
            )
            theirs = {row[0]: row[1] for row in rows}
    finally:
        await engine.dispose()
    differ = {w: (theirs[w], stem(w)) for w in CORPUS if theirs[w] and theirs[w] != [stem(w)]}
    assert differ == {}
    assert sum(1 for w in CORPUS if theirs[w]) > 100
