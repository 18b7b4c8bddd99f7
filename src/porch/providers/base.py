"""The one interface every answerer implements, and the errors it may raise."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk as the answerer sees it; `ref` is the id the prompt cites ([1], [2]…)."""

    ref: int
    chunk_id: str
    source_id: str
    title: str
    url: str | None
    text: str
    score: float


@dataclass(frozen=True, slots=True)
class Turn:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """What the pipeline asks of a model: a built prompt, plus the parts it was built from.

    `system` and `turns` are the prompt for chat models (turns end with the visitor's
    question); `question` and `passages` let the extractive answerer work without a model.
    `model` is informational: a ChatModel always answers with the model it was built for.
    """

    model: str
    system: str
    turns: Sequence[Turn]
    question: str
    passages: Sequence[Passage] = ()
    temperature: float = 0.2
    max_tokens: int = 512


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class Grounding:
    """Whether the reply is grounded in the passages; sent first, by the extractive answerer only.

    `answered=False` means the text is a polite "I don't know that yet." and the caller
    should add the widget's fallback message and count the question as unanswered.
    Chat models never send it: their grounding is up to the prompt.
    """

    answered: bool


StreamEvent = TextDelta | Usage | Grounding


class ChatModel(Protocol):
    """A provider's model: streams text deltas, then at most one Usage.

    The extractive answerer sends one Grounding before its text. `stream` is an async
    generator so that consumers can close it when they stop early
    (`async with contextlib.aclosing(model.stream(request)) as events:`): the HTTP
    request ends then, not when the garbage collector gets to it.
    """

    @property
    def provider(self) -> str: ...

    @property
    def model(self) -> str: ...

    def stream(self, request: CompletionRequest) -> AsyncGenerator[StreamEvent, None]: ...


@dataclass
class ProviderError(Exception):
    """A failure talking to a provider. `retryable` says whether trying again may help."""

    code: str
    message: str
    retryable: bool = True
    retry_after: float | None = None
    status: int | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ProviderUnavailable(Exception):
    """The model gave no first token: retries spent, breaker open, or a non-retryable error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class StreamInterrupted(Exception):
    """The model failed after its first token; the text so far is the partial reply."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class BreakerSnapshot:
    provider: str
    model: str
    state: Literal["closed", "open", "half_open"]
    failures: int
    opened_at: float | None = None
    extra: dict[str, str] = field(default_factory=dict)
