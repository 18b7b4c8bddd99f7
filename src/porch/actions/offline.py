"""Actions without a model: which action a visitor's words ask for, and its parameters in them.

An action matches when the content words of one of its example phrasings (or its title)
are mostly in the message. Parameters come from per-parameter rules: a regex (its first
group, or the whole match), enum synonyms, the enum values themselves, or the parameter's
own pattern searched in the text. What is still missing is asked for, one at a time, in
the words of the parameter's `ask` or description.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from porch.actions.arguments import model_parameters, required
from porch.actions.definition import Definition

MATCH_AT = 0.6
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "i",
        "me",
        "my",
        "mine",
        "you",
        "your",
        "we",
        "our",
        "it",
        "its",
        "this",
        "that",
        "of",
        "to",
        "for",
        "in",
        "on",
        "at",
        "by",
        "with",
        "from",
        "and",
        "or",
        "please",
        "can",
        "could",
        "would",
        "will",
        "do",
        "does",
        "did",
        "what",
        "where",
        "when",
        "how",
        "why",
        "who",
        "which",
        "there",
        "here",
        "just",
        "want",
        "need",
        "like",
        "know",
        "tell",
        "about",
        "some",
        "any",
    ]
)
_YES = frozenset({"yes", "y", "yep", "yeah", "confirm", "confirmed", "ok", "okay", "sure", "go"})
_NO = frozenset({"no", "n", "nope", "cancel", "stop", "decline", "dont", "don't", "abort"})


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def content_words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP}


def score(action: Definition, words: set[str]) -> float:
    best = 0.0
    for phrase in (*action.examples, action.title):
        wanted = content_words(phrase)
        if wanted:
            best = max(best, len(wanted & words) / len(wanted))
    return best


def match(actions: Sequence[Definition], message: str) -> Definition | None:
    """The action the message asks for, or None when none is asked for clearly enough."""
    words = content_words(message)
    if not words:
        return None
    ranked = sorted(((score(a, words), i) for i, a in enumerate(actions)), reverse=True)
    if not ranked or ranked[0][0] < MATCH_AT:
        return None
    return actions[ranked[0][1]]


def decision(message: str) -> str | None:
    """`confirm` or `decline` for a short typed answer to a confirmation, else None."""
    words = _WORD.findall(message.lower().replace("'", ""))
    if not words or len(words) > 4:
        return None
    if words[0] in _NO or "not" in words:
        return "decline"
    return "confirm" if words[0] in _YES else None


def _unanchored(pattern: str) -> str:
    core = pattern.removeprefix("^").removesuffix("$")
    return rf"(?<![\w-])(?:{core})(?![\w-])"


def _find(schema: Mapping[str, Any], rule: Mapping[str, Any], text: str) -> Any:
    if rule.get("regex"):
        found = re.search(str(rule["regex"]), text, re.IGNORECASE)
        if found:
            return found.group(1) if found.groups() else found.group(0)
    lowered = text.lower()
    for value, words in (rule.get("synonyms") or {}).items():
        if any(re.search(rf"\b{re.escape(w.lower())}\b", lowered) for w in words):
            return value
    for value in schema.get("enum") or []:
        if re.search(rf"\b{re.escape(str(value).lower())}\b", lowered):
            return value
    if schema.get("pattern") and not rule.get("regex"):
        try:
            found = re.search(_unanchored(str(schema["pattern"])), text)
        except re.error:
            found = None
        if found:
            return found.group(0)
    return None


def extract(action: Definition, text: str, only: Iterable[str] | None = None) -> dict[str, Any]:
    """Parameter values found in `text` (model-sourced parameters only)."""
    params = model_parameters(action.as_mapping())
    names = list(only) if only is not None else list(params)
    found: dict[str, Any] = {}
    for name in names:
        if name in params:
            value = _find(params[name], action.extract.get(name) or {}, text)
            if value is not None:
                found[name] = value
    return found


def answer_to(action: Definition, name: str, text: str) -> Any:
    """The visitor's answer to "what is your <name>?": a rule's find, else the whole reply."""
    params = model_parameters(action.as_mapping())
    found = _find(params.get(name) or {}, action.extract.get(name) or {}, text)
    if found is not None:
        return found
    return text.strip().strip(".!?").strip() or None


def question_for(action: Definition, name: str, problem: str | None = None) -> str:
    rule = action.extract.get(name) or {}
    schema = model_parameters(action.as_mapping()).get(name) or {}
    ask = rule.get("ask")
    if not ask:
        what = schema.get("description") or name.replace("_", " ")
        ask = f"What is {what}?" if schema.get("description") else f"What is the {what}?"
    if schema.get("enum"):
        ask += " (" + ", ".join(str(v) for v in schema["enum"]) + ")"
    return f"That doesn't look right ({name} {problem}). {ask}" if problem else str(ask)


def first_missing(action: Definition, values: Mapping[str, Any]) -> str | None:
    for name in required(action.as_mapping()):
        if name in model_parameters(action.as_mapping()) and name not in values:
            return name
    return None
