"""The vendor stream loop, written once: send the request through the SDK, read SSE lines.

Each adapter (openai.py, anthropic.py) says only how to build its request body and how to
read one `data:` payload (a `Decoder`); opening the stream, mapping the SDK's errors, the
line loop, draining the connection back to the pool and the "ended too early" error live
here. The loop stays hand-written rather than the SDKs' typed event iterators: their
pydantic model per chunk costs several times the CPU (figures in openai.py).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx2

from porch.providers.base import StreamEvent
from porch.providers.wire import bad_stream, drain, load_event, status_error, transport_error


class Decoder(Protocol):
    """Reads one vendor's events; `done` once the event that ends the reply was read."""

    done: bool

    def feed(self, data: str) -> StreamEvent | None:
        """One `data:` payload (parse it with wire.load_event) to at most one event."""
        ...

    def whole(self, reply: dict[str, Any]) -> list[StreamEvent]:
        """A complete, non-streamed reply to its events (some servers ignore `stream`)."""
        ...


@dataclass(frozen=True, slots=True)
class Sdk:
    """What the loop needs of a vendor SDK: its stream class and its two error types."""

    stream_cls: Any
    status_error: type[Exception]
    api_error: type[Exception]
    # The attribute of a status error that names its kind (OpenAI `code`, Anthropic `type`).
    kind_attribute: str
    # What the final event is called, for the error when the stream ends without it.
    end_marker: str


async def stream_events(
    client: Any,
    path: str,
    body: dict[str, Any],
    sdk: Sdk,
    provider: str,
    decoder: Decoder,
) -> AsyncGenerator[StreamEvent, None]:
    """POST `body` to `path` as a stream and yield what `decoder` makes of each event."""
    try:
        response = await client.post(
            path, body=body, cast_to=object, stream=True, stream_cls=sdk.stream_cls
        )
    except sdk.status_error as exc:
        raise status_error(
            exc.status_code,  # type: ignore[attr-defined]
            exc.message,  # type: ignore[attr-defined]
            exc.response.headers,  # type: ignore[attr-defined]
            getattr(exc, sdk.kind_attribute, None),
        ) from exc
    except sdk.api_error as exc:
        raise transport_error(exc, provider) from exc
    async with response:
        # Some OpenAI-compatible servers answer tool requests in one JSON body whatever
        # `stream` says; that reply is read whole, to the same events.
        if response.response.headers.get("content-type", "").startswith("application/json"):
            try:
                raw: bytes = await response.response.aread()
            except httpx2.HTTPError as exc:
                raise transport_error(exc, provider) from exc
            for event in decoder.whole(load_event(raw.decode("utf-8", "replace"), provider)):
                yield event
            return
        lines = response.response.aiter_lines()
        try:
            async for line in lines:
                # Blank lines end events; `event:` lines, `:` comments and other fields
                # carry nothing the payload does not.
                if not line.startswith("data:"):
                    continue
                item = decoder.feed(line[5:].strip())
                if item is not None:
                    yield item
                if decoder.done:
                    await drain(lines)
                    return
        except httpx2.HTTPError as exc:
            raise transport_error(exc, provider) from exc
    raise bad_stream(provider, f"it ended before {sdk.end_marker}")
