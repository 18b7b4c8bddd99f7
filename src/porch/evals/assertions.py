"""Checking one assertion against a case's simulated replies: passed, failed or skipped,
with the evidence a person reads to see why.

Skipped is never passed: a judge without a configured model, and the action assertions of
a widget whose vendor model would choose actions by tool calls (not simulated, acting.py),
are reported as skipped.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Any

from porch.evals.schemas import AssertionResult
from porch.evals.simulate import Reply

Judge = Callable[[str, Reply], Awaitable[AssertionResult]]
_CLIP = 160


def _clip(text: str) -> str:
    return text if len(text) <= _CLIP else text[: _CLIP - 1] + "…"


@lru_cache(maxsize=1)
def _identifier() -> Any:
    import py3langid

    return py3langid


def detect_language(text: str) -> str:
    lang: str = _identifier().classify(text)[0]
    return lang


def _result(kind: str, passed: bool, evidence: str) -> AssertionResult:
    return AssertionResult(type=kind, passed=passed, evidence=evidence)


def _skipped(kind: str, why: str) -> AssertionResult:
    return AssertionResult(type=kind, passed=False, skipped=True, evidence=why)


def _cites(a: dict[str, Any], reply: Reply) -> AssertionResult:
    for s in reply.sources:
        if (
            (a.get("source_id") and str(s.get("source_id")) == a["source_id"])
            or (a.get("url") and s.get("url") == a["url"])
            or (a.get("title") and s.get("title") == a["title"])
        ):
            return _result("cites", True, f"cited {s.get('title') or s.get('url')}")
    shown = ", ".join(str(s.get("title") or s.get("url")) for s in reply.sources) or "nothing"
    return _result("cites", False, f"cited {shown}")


def _text_checks(kind: str, a: dict[str, Any], text: str) -> AssertionResult:
    if kind == "regex":
        found = re.search(a["pattern"], text)
        return _result(
            kind,
            found is not None,
            f"matched {found.group()!r}" if found else f"no match in {_clip(text)!r}",
        )
    value = a["value"] if a.get("case_sensitive") else a["value"].lower()
    haystack = text if a.get("case_sensitive") else text.lower()
    present = value in haystack
    if kind == "contains":
        said = "found" if present else "missing"
        return _result(kind, present, f"{a['value']!r} {said} in {_clip(text)!r}")
    return _result(kind, not present, f"{'found' if present else 'absent'}: {a['value']!r}")


def _sent(m: dict[str, Any]) -> bool:
    # Made (or mocked) calls, failed ones included; not a sign-in refusal or a decline.
    return m["state"] in ("succeeded", "failed") and m.get("error_class") != "config"


def _action(kind: str, a: dict[str, Any], replies: Sequence[Reply]) -> AssertionResult:
    made = [m for r in replies for m in r.actions if m["slug"] == a["slug"] and _sent(m)]
    wanted = a.get("arguments") or {}
    matching = [
        m for m in made if all(str(m["arguments"].get(k)) == str(v) for k, v in wanted.items())
    ]
    if kind == "action_not_called":
        return _result(
            kind,
            not made,
            f"{a['slug']} called with {made[0]['arguments']}"
            if made
            else f"{a['slug']} not called",
        )
    if matching:
        m = matching[0]
        how = "mocked" if m.get("mocked") else m["state"]
        return _result(kind, True, f"{a['slug']} called with {m['arguments']} ({how})")
    seen = "; ".join(str(m["arguments"]) for m in made) or "never"
    return _result(kind, False, f"{a['slug']} called with: {seen}")


async def check(
    a: dict[str, Any], replies: Sequence[Reply], judge: Judge | None, *, acts: bool = True
) -> AssertionResult:
    kind = a["type"]
    index = a.get("turn")
    if index is not None and index >= len(replies):
        return _result(kind, False, f"the case has no turn {index}")
    reply = replies[-1 if index is None else index]
    if kind in ("contains", "not_contains", "regex"):
        return _text_checks(kind, a, reply.text)
    if kind == "cites":
        return _cites(a, reply)
    if kind == "curated":
        applied = (reply.curated or {}).get("applied", [])
        ok = str(a["curated_answer_id"]) in applied
        return _result(kind, ok, f"applied: {', '.join(applied) or 'none'}")
    if kind == "refuses":
        return _result(
            kind,
            not reply.answered,
            "did not know" if not reply.answered else f"answered {_clip(reply.text)!r}",
        )
    if kind == "handoff":
        return _result(kind, reply.handoff is not None, reply.handoff or "no person offered")
    if kind in ("action_called", "action_not_called"):
        if not acts:
            return _skipped(
                kind, "this widget's model chooses actions by tool calls, not simulated yet"
            )
        # Unset turn: anywhere in the case (a write runs on the turn that confirms it).
        return _action(kind, a, replies if index is None else [reply])
    if kind == "language":
        found = await asyncio.to_thread(detect_language, reply.text)
        return _result(kind, found == a["language"], f"detected {found}")
    if kind == "latency":
        ok = reply.latency_ms <= a["max_ms"]
        return _result(kind, ok, f"{reply.latency_ms} ms (bound {a['max_ms']} ms)")
    if kind == "judge":
        if judge is None:
            return _skipped(kind, "no judge model is configured (PORCH_EVAL_JUDGE_MODEL)")
        return await judge(a["rubric"], reply)
    return _skipped(kind, f"unknown assertion type {kind!r}")
