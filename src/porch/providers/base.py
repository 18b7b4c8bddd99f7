"""The one interface every answerer implements, and the errors it may raise."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol


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
class Tool:
    """A function the model may call: `parameters` is its arguments' JSON Schema (an object)."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call the model asked for; `arguments` is its JSON text as the vendor sent it."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What porch answers to one ToolCall: JSON text, `is_error` for a refused or failed call."""

    call_id: str
    content: str
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class ToolRound:
    """One round of tool use, replayed to the model after the turns: what it said and asked
    for, and porch's results (one per call, same order)."""

    text: str
    calls: Sequence[ToolCall]
    results: Sequence[ToolResult]


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
    # Offered functions and the rounds of tool use so far; adapters without tool support
    # (the extractive answerer) ignore both.
    tools: Sequence[Tool] = ()
    rounds: Sequence[ToolRound] = ()
    # False: the tools stay declared (the rounds refer to them) but the model must answer
    # in text, e.g. when the last round of tool use is spent.
    may_call_tools: bool = True


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


@dataclass(frozen=True, slots=True)
class ToolCalls:
    """The model ended its message asking for these calls (sent once, before Usage)."""

    calls: tuple[ToolCall, ...]


StreamEvent = TextDelta | Usage | Grounding | ToolCalls


class ChatModel(Protocol):
    """A provider's model: streams text deltas, at most one ToolCalls, then at most one Usage.

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
