"""Redaction: finding personal data in a text and replacing it, counted per kind.

Pure functions, no model involved, so it works identically offline. Card numbers are
Luhn-checked (12-19 digits) and keep their last four; IBANs are checked with mod 97; an
owner's own patterns run on the `regex` engine with a time limit, so a pattern that
backtracks badly cannot stall the chat path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import regex

KINDS = ("email", "phone", "card", "iban", "regex")
STAGES = ("store", "model", "webhook", "export")
# A custom pattern may spend this long on one text before it is given up (and counted).
REGEX_TIMEOUT = 0.05
PATTERN_MAX = 500

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
# Digits with single spaces or dashes between them; the length is checked after.
# Not inside a word: a UUID's hex groups hold digit runs that can pass Luhn (about one id
# in 500), and every webhook payload carries ids.
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){11,18}(?![\w-])")
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\d(?:[ ().-]{0,2}\d){6,16}(?!\w)")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str
    stages: frozenset[str]
    pattern: str | None = None
    compiled: regex.Pattern[str] | None = field(default=None, compare=False)

    @classmethod
    def of(cls, kind: str, stages: Iterable[str], pattern: str | None = None) -> Rule:
        compiled = compile_pattern(pattern) if kind == "regex" and pattern else None
        return cls(kind, frozenset(stages), pattern, compiled)


# What every workspace has without configuring anything: card numbers never stored.
DEFAULT_RULES = (Rule.of("card", ("store", "model", "webhook", "export")),)


class InvalidPattern(ValueError):
    pass


def compile_pattern(pattern: str) -> regex.Pattern[str]:
    if not pattern or len(pattern) > PATTERN_MAX:
        raise InvalidPattern(f"A pattern is 1 to {PATTERN_MAX} characters.")
    try:
        return regex.compile(pattern)
    except regex.error as exc:
        raise InvalidPattern(f"The pattern does not compile: {exc}.") from None


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    s = text.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


def _card(match: re.Match[str]) -> str | None:
    digits = re.sub(r"\D", "", match.group())
    if not 12 <= len(digits) <= 19 or not luhn(digits):
        return None
    return f"[card ****{digits[-4:]}]"


def _phone(match: re.Match[str]) -> str | None:
    digits = re.sub(r"\D", "", match.group())
    return "[phone]" if 7 <= len(digits) <= 15 else None


def _iban(match: re.Match[str]) -> str | None:
    return "[iban]" if iban_valid(match.group()) else None


def _email(_match: re.Match[str]) -> str | None:
    return "[email]"


_BUILTIN: dict[str, tuple[re.Pattern[str], Callable[[re.Match[str]], str | None]]] = {
    "email": (_EMAIL, _email),
    "card": (_CARD, _card),
    "iban": (_IBAN, _iban),
    "phone": (_PHONE, _phone),
}
# Cards before phones (a card number looks like a long phone number), IBANs before both.
_ORDER = {"email": 0, "iban": 1, "card": 2, "phone": 3, "regex": 4}


def rules_for(rules: Sequence[Rule], stage: str) -> list[Rule]:
    return sorted((r for r in rules if stage in r.stages), key=lambda r: _ORDER[r.kind])


def redact(text: str, rules: Sequence[Rule], stage: str) -> tuple[str, dict[str, int]]:
    """`text` with what the rules of `stage` find replaced, and how many of each kind."""
    counts: dict[str, int] = {}
    for rule in rules_for(rules, stage):
        text, n = _apply(rule, text)
        if n:
            counts[rule.kind] = counts.get(rule.kind, 0) + n
    return text, counts


def _apply(rule: Rule, text: str) -> tuple[str, int]:
    if rule.kind == "regex":
        if rule.compiled is None:
            return text, 0
        try:
            out, n = rule.compiled.subn("[redacted]", text, timeout=REGEX_TIMEOUT)
            return str(out), int(n)
        except TimeoutError:
            # Too slow to decide: the whole text is withheld rather than passed on unchecked.
            return "[redacted]", 1
    pattern, replace = _BUILTIN[rule.kind]
    n = 0

    def sub(match: re.Match[str]) -> str:
        nonlocal n
        out = replace(match)
        if out is None:
            return match.group()
        n += 1
        return out

    return pattern.sub(sub, text), n
