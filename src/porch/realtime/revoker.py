"""Closing this process's sockets whose access ended: pushed, never polled per message.

A revocation (revocation.py) arrives on pub/sub, published by whichever process
ended the access once its transaction committed; every process closes the sockets whose
grant it names, with its code and reason. Sockets are found through two small indexes
(every socket by workspace; agents' also in one set, for sign-outs that name no
workspace), so a revocation touches only the sockets it could concern and a message never
touches this at all.

Time ends access too: a session's expiry and a visitor token's idle expiry are a socket's
`deadline`, timed by the heartbeat (connection.py); at it the grant is re-checked against
the database (realtime/grants.py), since a message may have kept the visitor token alive.

Two gaps are closed as well. A socket admitted while its access was being revoked (the
database read before the revocation committed, the socket registered after the message
arrived) is checked against the revocations of the last RECENT_SECONDS when it registers.
After pub/sub comes back from an outage, whose messages are lost, every agent socket is
re-checked against the database. (Visitor sockets are not: what can revoke them without
pub/sub is time, and a deleted conversation has nothing more to send them.)
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable

import structlog

from porch.pubsub import PubSub
from porch.realtime.connection import Connection, Heartbeat
from porch.realtime.grants import Verdict
from porch.revocation import CHANNEL, CLOSE_SIGNED_OUT, Grant, Revocation

log = structlog.get_logger("porch.realtime")
RECENT_SECONDS = 30.0
# Bounds the memory of a burst (a whole workspace signed out at once); far more than is
# ever received in RECENT_SECONDS otherwise.
RECENT_MAX = 10_000
# A re-check that met a database that is away is tried again this much later.
RETRY_SECONDS = 30.0

Recheck = Callable[[Grant], Awaitable[Verdict]]


class Revoker:
    def __init__(self, pubsub: PubSub, heartbeat: Heartbeat) -> None:
        self._heartbeat = heartbeat
        # Set once the database is there (app.py); without it deadlines close the socket.
        self.recheck: Recheck | None = None
        self._by_workspace: dict[uuid.UUID, set[Connection]] = {}
        self._agents: set[Connection] = set()
        self._recent: deque[tuple[float, Revocation]] = deque(maxlen=RECENT_MAX)
        self._tasks: set[asyncio.Task[None]] = set()
        heartbeat.on_deadline = self._deadline
        pubsub.subscribe(CHANNEL, self._received)
        pubsub.on_reconnect(self._recheck_agents)

    # ---- sockets -------------------------------------------------------------------------
    def add(self, conn: Connection, admitted_since: float) -> None:
        """Register an admitted socket; `admitted_since` is when its credentials were read
        (time.monotonic): a revocation received since then may have missed that read."""
        grant = conn.grant
        self._by_workspace.setdefault(grant.workspace_id, set()).add(conn)
        if grant.via != "visitor_token":
            self._agents.add(conn)
        for received, revocation in self._recent:
            if received >= admitted_since and revocation.matches(grant):
                conn.close(revocation.code, revocation.reason)
                return
        if conn.deadline != float("inf"):
            self._heartbeat.watch_deadline(conn)

    def discard(self, conn: Connection) -> None:
        workspace_id = conn.grant.workspace_id
        group = self._by_workspace.get(workspace_id)
        if group is not None:
            group.discard(conn)
            if not group:
                del self._by_workspace[workspace_id]
        self._agents.discard(conn)

    @property
    def sockets(self) -> int:
        return sum(len(g) for g in self._by_workspace.values())

    # ---- revocations -----------------------------------------------------------------------
    async def _received(self, raw: bytes) -> None:
        try:
            revocation = Revocation.decode(raw)
        except Exception:
            log.warning("realtime_bad_revocation")
            return
        self.apply(revocation)

    def apply(self, revocation: Revocation) -> int:
        """Close this process's sockets that `revocation` names; how many it closed."""
        now = time.monotonic()
        self._recent.append((now, revocation))
        while self._recent and self._recent[0][0] < now - RECENT_SECONDS:
            self._recent.popleft()
        if revocation.workspace_id is not None:
            candidates = self._by_workspace.get(revocation.workspace_id, set())
        else:
            candidates = self._agents  # no workspace named: a session, user or key
        closed = 0
        for conn in list(candidates):
            if conn.closing is None and revocation.matches(conn.grant):
                conn.close(revocation.code, revocation.reason)
                closed += 1
        if closed:
            log.info("sockets_revoked", reason=revocation.reason, closed=closed)
        return closed

    # ---- re-checks against the database -----------------------------------------------------
    def _deadline(self, conn: Connection) -> None:
        self._spawn(self._recheck([conn]))

    async def _recheck_agents(self) -> None:
        if self._agents:
            self._spawn(self._recheck(list(self._agents)))

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _recheck(self, conns: list[Connection]) -> None:
        for conn in conns:
            if conn.closing is not None:
                continue
            if self.recheck is None:
                conn.close(CLOSE_SIGNED_OUT, "access expired")
                continue
            try:
                verdict = await self.recheck(conn.grant)
            except Exception:
                # The database is away: keep the socket, look again a little later.
                log.warning("realtime_recheck_failed", exc_info=True)
                conn.deadline = time.monotonic() + RETRY_SECONDS
                self._heartbeat.watch_deadline(conn)
                continue
            if conn.closing is not None:
                continue
            if verdict.close is not None:
                conn.close(*verdict.close)
            else:
                conn.deadline = verdict.deadline
                self._heartbeat.watch_deadline(conn)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=2)
