"""Readers' leases on a shared resource that is swapped out while they still read it.

A reload replaces the store's snapshot while answers are half-way through reading the old
one. Each answer holds a lease for its whole length; the old snapshot is retired at the swap
and closed when its last lease ends, never before and never twice.
"""

from __future__ import annotations

from typing import Generic, Self, TypeVar

R = TypeVar("R", bound="Leased")


class Lease(Generic[R]):
    """One reader's hold on a `Leased` resource: counted on entering the `async with`,
    released on leaving it, however it is left. A class rather than an
    `asynccontextmanager`: every answer takes one, and the generator machinery cost more
    than the answer's own lookup."""

    __slots__ = ("resource", "_held")

    def __init__(self, resource: R) -> None:
        self.resource = resource
        self._held = False

    async def __aenter__(self) -> R:
        # Counted before any await, so a swap between taking the resource and leasing it
        # cannot close it under the new reader.
        if self._held:
            raise RuntimeError("a lease is entered once")
        self._held = True
        self.resource._users += 1
        return self.resource

    async def __aexit__(self, *exc: object) -> None:
        await self.resource._release()


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

    def lease(self) -> Lease[Self]:
        """Hold the resource open for the body of the `async with`."""
        return Lease(self)

    async def _release(self) -> None:
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
