"""Every store outside Postgres that keeps something of a user, by name: the one list that deleting a user,
the admin reset and the retry of failed deletions all walk, so they can never disagree.

The lifespan (``gateway/app.py``) builds it from what this gateway runs (the vector index, the Letta agents
when the letta runtime is on, the embedding service's cache, Redis); the names are what ``pending_deletions``
records and what a deletion reports in ``removed``/``pending``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping

logger = logging.getLogger(__name__)

Forget = Callable[[str], Awaitable[object]]


class UnknownStoreError(LookupError):
    """A pending deletion names a store this gateway does not run (e.g. Letta turned off since)."""


class UserDataStores:
    def __init__(self, stores: Mapping[str, Forget]) -> None:
        self._stores = dict(stores)

    def __iter__(self) -> Iterator[str]:
        return iter(self._stores)

    def __contains__(self, name: object) -> bool:
        return name in self._stores

    async def forget(self, name: str, user_id: str) -> None:
        """Delete the user from the store ``name``; raises what the store raises, UnknownStoreError when this
        gateway has no such store."""
        try:
            forget = self._stores[name]
        except KeyError:
            raise UnknownStoreError(f"no {name} configured on this gateway") from None
        await forget(user_id)

    async def forget_everywhere(
        self, user_id: str, *, skip: frozenset[str] = frozenset()
    ) -> tuple[list[str], list[str]]:
        """Delete the user from every store (but ``skip``), in order; a store that fails does not stop the
        others. Returns (removed, failed) store names."""
        removed: list[str] = []
        failed: list[str] = []
        for name in self._stores:
            if name in skip:
                continue
            try:
                await self.forget(name, user_id)
                removed.append(name)
            except Exception as exc:  # recorded by the caller and retried by the jobs
                logger.warning("deleting %s from %s failed: %s", user_id, name, exc)
                failed.append(name)
        return removed, failed
