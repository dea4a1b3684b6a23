"""The ledger follower: keeps a ledger database synced with the chain, continuously.

It polls the chain head every ``poll`` seconds and syncs what is new through :meth:`rwaledger.ledger.Ledger.sync`
(resumable and reorg-safe: a replaced branch is rolled back first). A node outage never stops it: the failed step
is retried with exponential backoff (up to ``max_backoff`` seconds) and :meth:`Follower.status` reports the error
and the lag meanwhile. ``rwa ledger follow`` runs it alone; ``rwa serve`` runs it beside the HTTP API.

Several followers may run against one ledger database (several ``rwa serve`` processes, or ``--workers N``):
each is a candidate in a :class:`rwaledger.election.Leadership` election on that database, and only the leader
syncs. A standby still reads the chain head every ``poll`` seconds (so that its status reports the lag of the
shared ledger) and campaigns again each time, so that it takes over within a poll interval or two of the leader
dying. :meth:`Follower.stop` gives the lead up at once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Literal

from .election import Leadership
from .ledger import Ledger, SyncResult

Role = Literal["leader", "standby"]


@dataclass(frozen=True)
class FollowerStatus:
    running: bool
    synced_block: int | None  # the ledger's checkpoint
    head: int | None  # the chain head last seen (None: never reached the node)
    lag: int | None  # head - synced_block
    last_sync_at: float | None  # unix time of the last successful step
    last_error: str | None  # the last step's error, None once a step succeeds again
    failures: int  # consecutive failed steps
    rollbacks: int  # replaced branches rolled back since start
    role: Role = "standby"  # "leader": this process's follower writes the ledger; "standby": another one does

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Follower:
    """Syncs ``ledger`` from ``stack`` in a loop (``run``) or a background thread (``start`` / ``stop``), while it
    leads the election ``leadership`` (default: the one of the ledger's database, :meth:`Leadership.for_engine`).
    ``on_role`` is called with the new role whenever this follower starts or stops leading."""

    def __init__(self, ledger: Ledger, stack: Any, poll: float = 1.0, confirmations: int = 0,
                 max_backoff: float = 30.0, on_sync: Callable[[SyncResult], None] | None = None,
                 leadership: Leadership | None = None, on_role: Callable[[Role], None] | None = None):
        if poll <= 0:
            raise ValueError("poll must be positive")
        self.ledger, self.stack = ledger, stack
        self.poll, self.confirmations, self.max_backoff = poll, confirmations, max_backoff
        self.on_sync, self.on_role = on_sync, on_role
        self.leadership = leadership if leadership is not None else Leadership.for_engine(ledger.engine)
        self._role: Role = "standby"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._head: int | None = None
        self._last_sync_at: float | None = None
        self._last_error: str | None = None
        self._failures = 0
        self._rollbacks = 0

    def step(self) -> SyncResult | None:
        """One round: campaign; the leader reads the head and syncs up to it (minus the confirmations) and returns
        what it did; a standby only reads the head and returns None. Raises what the election, the node or the
        ledger raised."""
        leads = self.leadership.try_acquire()
        self._set_role("leader" if leads else "standby")
        head = self.stack.session.chain.w3.eth.block_number
        with self._lock:
            self._head = head
        if not leads:
            with self._lock:
                self._last_error, self._failures = None, 0
            return None
        result = self.ledger.sync(self.stack, to_block=max(head - self.confirmations, 0))
        with self._lock:
            self._last_sync_at, self._last_error, self._failures = time.time(), None, 0
            self._rollbacks += len(result.rollbacks)
        if self.on_sync:
            self.on_sync(result)
        return result

    def _set_role(self, role: Role) -> None:
        with self._lock:
            changed, self._role = role != self._role, role
        if changed and self.on_role:
            self.on_role(role)

    def run(self) -> None:
        """Step until :meth:`stop`; a failure waits ``poll * 2**failures`` (at most ``max_backoff``) and retries.
        A leader keeps the lead through its failures (nobody else could do better against the same node); the
        lead is given up when the loop ends (:meth:`stop`, Ctrl-C)."""
        try:
            while not self._stop.is_set():
                try:
                    self.step()
                    wait = self.poll
                except Exception as exc:  # the node or database is down, restarting, or answered nonsense
                    with self._lock:
                        self._failures += 1
                        self._last_error = f"{type(exc).__name__}: {exc}"
                        wait = min(self.max_backoff, self.poll * 2 ** self._failures)
                self._stop.wait(wait)
        finally:
            self.leadership.release()
            self._set_role("standby")

    def start(self) -> "Follower":
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self.run, name="rwa-ledger-follower", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and give the lead up, so that a standby takes over at its next try rather than when
        this process exits."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.leadership.release()
        self._set_role("standby")

    def status(self) -> FollowerStatus:
        cp = self.ledger.checkpoint()
        with self._lock:
            synced = cp.block if cp else None
            lag = self._head - synced if self._head is not None and synced is not None else None
            return FollowerStatus(self._thread is not None and self._thread.is_alive(), synced, self._head, lag,
                                  self._last_sync_at, self._last_error, self._failures, self._rollbacks, self._role)
