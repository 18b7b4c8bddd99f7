"""Shapes every domain's request schemas share: text that a database can store, bounded days.

PostgreSQL refuses a NUL character in text, and no driver can encode half of a UTF-16
surrogate pair: either one, let through to an INSERT or a LIKE, is a 500 with a traceback.
Other control characters mean nothing in a name, a title or a URL and only hide what a
string says. So every text field of every request says which of two kinds it is:

- `Text`: prose that may span lines (messages, prompts, documents, instructions): tab,
  line feed and carriage return pass, every other control character is refused.
- `Line`: one line (names, titles, e-mail addresses, URLs, ids, globs, search words): no
  control character at all, so none can split a header or a log line either.

A refusal is the usual 400 `validation_error` naming the field. `tests/security/
test_text_fields.py` sends NUL into every string field and query parameter of every route.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator

from porch.errors import BadRequest

# C0 controls and DEL, except tab, LF and CR; and lone surrogates, which cannot be encoded.
_TEXT_REFUSED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_LINE_REFUSED = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def _refusal(char: str, kind: str) -> str:
    if char == "\x00":
        return "must not contain a NUL character"
    if "\ud800" <= char <= "\udfff":
        return "must not contain a lone UTF-16 surrogate"
    return f"must not contain control characters (found U+{ord(char):04X}){kind}"


def check_text(value: str) -> str:
    """`value` if it holds no control character but tab, LF or CR; ValueError otherwise."""
    found = _TEXT_REFUSED.search(value)
    if found:
        raise ValueError(_refusal(found.group(), ""))
    return value


def check_line(value: str) -> str:
    """`value` if it holds no control character at all; ValueError otherwise."""
    found = _LINE_REFUSED.search(value)
    if found:
        raise ValueError(_refusal(found.group(), "; it must be one line"))
    return value


def clean_line(value: str) -> str:
    """`value` with control characters and lone surrogates removed: for labels porch derives
    itself (an uploaded file's name), where refusing would only lose the upload."""
    return _LINE_REFUSED.sub("", value)


def clean_text(value: str) -> str:
    """`value` without NUL, other refused controls and lone surrogates: for text porch did
    not receive from a person (a crawled page, an extracted document)."""
    return _TEXT_REFUSED.sub("", value)


Text = Annotated[str, AfterValidator(check_text)]
Line = Annotated[str, AfterValidator(check_line)]

# Days a date filter may name. Wide enough for any real range, narrow enough that a day
# after the last one, or 30 days before the first, is still a date (9999-12-31 + 1 is not).
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9999, 12, 30)


def check_day(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"must be a day from {FIRST_DAY} to {LAST_DAY}")
    return value


Day = Annotated[date, AfterValidator(check_day)]


def check_days(first: date | None, last: date | None) -> None:
    """A date filter's range, for services that are also called without the query types:
    400 `invalid_range` for a day out of bounds or `from` after `to`."""
    for day in (first, last):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise BadRequest(f"Days run from {FIRST_DAY} to {LAST_DAY}.", code="invalid_range")
    if first is not None and last is not None and first > last:
        raise BadRequest("`from` is after `to`.", code="invalid_range")
