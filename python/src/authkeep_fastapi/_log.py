"""Logging for the package: one logger tree (``authkeep_fastapi``), and throttled warnings for outages."""

from __future__ import annotations

import logging
import time

logger = logging.getLogger("authkeep_fastapi")


class Throttled:
    """Logs a warning at most once per ``interval`` seconds.

    While the database or the auth server is down every request fails the same way; one line per
    request would bury the cause under thousands of copies. Callers must never pass a credential.
    """

    def __init__(self, log: logging.Logger, interval: float = 10.0) -> None:
        self.log = log
        self.interval = interval
        self._last = float("-inf")
        self._suppressed = 0

    def warning(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            self._suppressed += 1
            return
        if self._suppressed:
            message += " (%d similar failures not logged)"
            args = (*args, self._suppressed)
        self._last = now
        self._suppressed = 0
        self.log.warning(message, *args)
