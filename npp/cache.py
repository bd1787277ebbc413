"""A small thread-safe LRU cache: the app keeps per-photo and per-(photo, QP) results so that
moving the QP slider only redoes what depends on the QP."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

V = TypeVar("V")


class LRUCache(Generic[V]):
    """At most `maxsize` entries; the least recently used one is dropped first.

    `get_or_compute` holds a per-key lock while computing, so two requests for the same key
    compute it once; different keys compute concurrently."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = int(maxsize)
        self._data: "OrderedDict[Hashable, V]" = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._data

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
            return None

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def get_or_compute(self, key: Hashable, compute: Callable[[], V]) -> tuple[V, bool]:
        """(value, True) from the cache, or (compute(), False) after storing it."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key], True
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            hit = self.get(key)
            if hit is not None:
                return hit, True
            value = compute()
            self.put(key, value)
        with self._lock:
            self._key_locks.pop(key, None)
        return value, False
