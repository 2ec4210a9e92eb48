"""Everything a virtual device printed, kept for the Python API (``output``, ``mark``, ``wait_output``).

The bridge thread appends; test threads read and wait. Positions count every byte since start, so a
``mark()`` stays valid after old output was dropped to keep the last ``cap`` bytes.
"""
from __future__ import annotations

import collections
import re
import threading
import time

from htctl.errors import DeviceError

_LOG_CAP = 1024 * 1024


class Transcript:
    def __init__(self, cap: int = _LOG_CAP) -> None:
        self.cap = cap
        self._chunks: collections.deque[bytes] = collections.deque()
        self._len = 0
        self._dropped = 0
        self._ended = False
        self._cond = threading.Condition()

    def append(self, out: bytes) -> None:
        with self._cond:
            self._chunks.append(out)
            self._len += len(out)
            while self._len > self.cap and len(self._chunks) > 1:
                old = self._chunks.popleft()
                self._len -= len(old)
                self._dropped += len(old)
            self._cond.notify_all()

    def end(self) -> None:
        """No more output will come (the bridge stopped or crashed): waiters give up now."""
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def text(self) -> bytes:
        with self._cond:
            return b"".join(self._chunks)

    def total(self) -> int:
        """Bytes printed since start, including those dropped: a position for :meth:`wait_for`."""
        with self._cond:
            return self._dropped + self._len

    def wait_for(self, regex: re.Pattern[bytes], timeout: float, since: int = 0) -> re.Match[bytes]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                start = max(0, since - self._dropped)
                m = regex.search(b"".join(self._chunks)[start:])
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self._ended:
                    text = b"".join(self._chunks)[start:][-600:].decode("utf-8", "replace")
                    raise DeviceError("virtual device did not print %r within %.0f s" % (regex.pattern, timeout),
                                      hint="last output:\n" + text)
                self._cond.wait(min(left, 0.5))
