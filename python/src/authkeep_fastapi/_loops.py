"""Resources that belong to one asyncio event loop."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    """One ``T`` for each running event loop, made on first use in that loop.

    Sockets, connection pools and locks belong to the loop that created them, but the loop under
    one ``AuthKeep`` can change: every ``TestClient`` runs its own, and an app may be served again
    after its lifespan closed everything. Keyed by loop, each gets fresh resources, and the ones of
    a finished loop go away with it instead of being reused (which hangs or fails).
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._items: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        item = self._items.get(loop)
        if item is None:
            # An item can hold its loop alive (a pooled socket refers to it), which would keep a
            # weak key from ever going away: drop the items of loops that have ended.
            for old in [old for old in self._items if old.is_closed()]:
                del self._items[old]
            item = self._items[loop] = self._factory()
        return item

    def pop(self) -> T | None:
        """The running loop's item, forgotten here so that the next ``get`` makes a new one."""
        return self._items.pop(asyncio.get_running_loop(), None)
