"""The claim guard: a model's reply may not say an action was done when no call did it.

Models say "I've cancelled your order" after a tool call that only opened a confirmation
card, or with no call at all. A sentence that claims a change (a first-person "I've / I have
/ we … cancelled, refunded, updated …", or "… has been / is now cancelled …") in a turn
where no write or destructive call succeeded is replaced by HONEST, once; further claiming
sentences are dropped. A write only ever runs when the visitor confirms it, in a request of
its own, so in a model's turn every such claim is caught.

Text is checked a sentence at a time as it streams: the visitor still sees the reply grow,
and a claim never reaches them. The patterns are plain English and deliberately narrow (no
"shipped" or "sent", which a lookup reports truthfully); a missed paraphrase is possible.
"""

from __future__ import annotations

import re

HONEST = "I could not do that: nothing has been changed yet."
_DONE = (
    r"(?:cancell?ed|refunded|updated|changed|deleted|removed|created|booked|rescheduled|"
    r"scheduled|submitted|processed|placed|reset|unsubscribed|subscribed|activated|"
    r"deactivated|closed|issued|upgraded|downgraded|renewed|paused|resumed|applied)"
)
_ADVERBS = r"(?:(?:just|now|already|successfully|also|gone ahead and|went ahead and)\s+)*"
CLAIM = re.compile(
    rf"\b(?:I|we)(?:['\u2019]ve|\s+have)?\s+{_ADVERBS}{_DONE}\b"
    rf"|\b(?:has|have)\s+{_ADVERBS}been\s+{_ADVERBS}{_DONE}\b"
    rf"|\b(?:is|are)\s+now\s+{_ADVERBS}{_DONE}\b",
    re.IGNORECASE,
)
# After the end of a sentence, or at a line break.
_BOUNDARY = re.compile(r"(?<=[.!?])\s+|\n")


def claims_done(sentence: str) -> bool:
    return CLAIM.search(sentence) is not None


class ClaimGuard:
    """Feeds streamed text through, a sentence at a time; `blocked` counts replaced claims."""

    def __init__(self, *, allowed: bool = False) -> None:
        self._allowed = allowed  # a write succeeded this turn: its claim may be true
        self._pending = ""
        self.blocked = 0

    def feed(self, text: str) -> str:
        """The part of the text that is safe to show now (complete sentences, checked)."""
        self._pending += text
        ends = [m.end() for m in _BOUNDARY.finditer(self._pending)]
        if not ends:
            return ""
        ready, self._pending = self._pending[: ends[-1]], self._pending[ends[-1] :]
        return self._checked(ready)

    def finish(self) -> str:
        rest, self._pending = self._pending, ""
        return self._checked(rest)

    def _checked(self, text: str) -> str:
        if self._allowed or not text:
            return text
        out: list[str] = []
        pos = 0
        for boundary in [*_BOUNDARY.finditer(text), None]:
            end = boundary.end() if boundary else len(text)
            sentence = text[pos:end]
            pos = end
            if not claims_done(sentence):
                out.append(sentence)
                continue
            self.blocked += 1
            if self.blocked == 1:
                gap = sentence[len(sentence.rstrip()) :]
                out.append(HONEST + gap)
        return "".join(out)
