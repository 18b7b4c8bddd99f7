"""Prometheus metrics, on a registry per app so that tests and workers never share globals."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_LLM = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "porch_http_requests",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "porch_http_request_duration_seconds",
            "Time to the response's first byte.",
            ["method", "route"],
            buckets=_LATENCY,
            registry=r,
        )
        self.llm_first_token = Histogram(
            "porch_llm_time_to_first_token_seconds",
            "From the request to the model's first token.",
            ["provider", "model"],
            buckets=_LLM,
            registry=r,
        )
        self.llm_duration = Histogram(
            "porch_llm_duration_seconds",
            "A model's whole reply.",
            ["provider", "model"],
            buckets=_LLM,
            registry=r,
        )
        self.llm_tokens = Counter(
            "porch_llm_tokens",
            "Tokens used, by kind (prompt or completion).",
            ["provider", "model", "kind"],
            registry=r,
        )
        self.llm_errors = Counter(
            "porch_llm_errors",
            "Provider failures by code.",
            ["provider", "model", "code"],
            registry=r,
        )
        self.breaker_state = Gauge(
            "porch_llm_breaker_state",
            "Circuit breaker: 0 closed, 1 half-open, 2 open.",
            ["provider", "model"],
            registry=r,
        )
        self.messages = Counter(
            "porch_chat_messages",
            "Assistant replies by outcome (complete, fallback, failed).",
            ["status"],
            registry=r,
        )
        self.action_calls = Counter(
            "porch_action_calls",
            "Action calls by trigger, outcome and failure class (none when it succeeded).",
            ["trigger", "state", "error_class"],
            registry=r,
        )
        self.action_claims_blocked = Counter(
            "porch_action_claims_blocked",
            "Model replies that claimed an action was done when no call did it (claim replaced).",
            ["provider"],
            registry=r,
        )
        self.rate_limited = Counter(
            "porch_rate_limited",
            "Requests refused by a limit.",
            ["limit"],
            registry=r,
        )
        self.open_streams = Gauge(
            "porch_open_streams",
            "Answer streams in flight.",
            registry=r,
        )
        self.budget_events = Counter(
            "porch_budget_events",
            "Budgets crossing their warning threshold or running out, by scope and budget.",
            ["scope", "budget", "kind"],
            registry=r,
        )
        self.jobs_queue_depth = Gauge(
            "porch_jobs_queue_depth",
            "Background jobs waiting in the queue (read when metrics are scraped).",
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
