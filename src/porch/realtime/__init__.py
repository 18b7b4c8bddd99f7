"""Realtime: durable events with resumable ids, the broker, WebSockets for visitors and agents."""
