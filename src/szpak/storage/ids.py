"""Time-ordered 64-bit ids, like Mastodon's: milliseconds since the epoch in the high
48 bits, a per-process sequence plus random bits in the low 16.

Ids sort by creation time, so ``max_id``/``since_id``/``min_id`` pagination is plain
integer comparison, and an id can be made for any moment (``id_for_time``) to page by date.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone

_lock = threading.Lock()
_last_ms = 0
_seq = 0
# Mix in the pid so that two worker processes minting ids in the same millisecond differ.
_salt = (os.getpid() & 0x3F) << 10


def new_id(now_ms: int | None = None) -> int:
    """Return a fresh id, strictly increasing within this process."""
    global _last_ms, _seq
    with _lock:
        ms = int(time.time() * 1000) if now_ms is None else now_ms
        if ms <= _last_ms:
            ms = _last_ms
            _seq += 1
            if _seq >= 1024:  # 1024 ids in one ms: borrow the next millisecond
                ms += 1
                _seq = 0
        else:
            _seq = 0
        _last_ms = ms
        return (ms << 16) | _salt | _seq


def id_for_time(moment: datetime) -> int:
    """The smallest id that could have been minted at ``moment``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000) << 16


def time_of(id_: int) -> datetime:
    return datetime.fromtimestamp((id_ >> 16) / 1000, tz=timezone.utc)
