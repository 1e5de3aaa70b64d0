"""Readers' leases on a shared resource that is swapped out while they still read it.

A reload replaces the store's snapshot while answers are half-way through reading the old
one. Each answer holds a lease for its whole length; the old snapshot is retired at the swap
and closed when its last lease ends, never before and never twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Self


class Leased:
    """A resource that counts its readers and closes once it is retired and unread.

    Subclasses implement `close`. Only this class changes the count and the retired flag:
    through `lease` (one reader, for the length of an `async with`) and `retire`.
    """

    def __init__(self) -> None:
        self._users = 0
        self._retired = False

    @property
    def users(self) -> int:
        """How many leases are open now."""
        return self._users

    @property
    def retired(self) -> bool:
        """True once something newer serves instead: no new reader should come here."""
        return self._retired

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[Self]:
        """Hold the resource open for the body of the `async with`."""
        # Counted before the first await, so a swap between taking the resource and leasing it
        # cannot close it under the new reader.
        self._users += 1
        try:
            yield self
        finally:
            self._users -= 1
            if self._retired and self._users == 0:
                await self.close()

    async def retire(self) -> None:
        """Mark the resource replaced; close it now if nobody reads it, else at the last lease."""
        if self._retired:
            return
        self._retired = True
        if self._users == 0:
            await self.close()

    async def close(self) -> None:
        """Release the resource (called once, by `retire` or the last lease after it)."""
        raise NotImplementedError
