"""Embedding with the cache in front: look up every distinct text once, embed only the misses, store them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from embedding_service.cache import EmbeddingCache, cache_key
from embedding_service.providers import EmbeddingProvider, Task, Vectors


@dataclass(frozen=True)
class EmbedResult:
    vectors: Vectors  # (n, dims), L2-normalised, in request order
    cached: list[bool]  # per input text: served from the cache


if TYPE_CHECKING:
    from embedding_service.metrics import Metrics


class Embedder:
    def __init__(
        self, provider: EmbeddingProvider, cache: EmbeddingCache, metrics: Metrics | None = None
    ) -> None:
        self.provider = provider
        self.cache = cache
        self.metrics = metrics

    def key(self, text: str, task: Task, namespace: str | None = None) -> str:
        """The cache key; a provider whose vectors do not depend on the task files every task as a document."""
        p = self.provider
        stored = task if p.task_aware else Task.RETRIEVAL_DOCUMENT
        return cache_key(p.name, p.model, p.dimensions, stored.value, text, namespace)

    async def embed(self, texts: Sequence[str], task: Task, namespace: str | None = None) -> EmbedResult:
        """Vectors for ``texts``; duplicates are embedded once and cache misses are written back (under
        ``namespace`` when given: the user the texts belong to)."""
        unique = list(dict.fromkeys(texts))
        keys = [self.key(text, task, namespace) for text in unique]
        found = await self.cache.get_many(keys)

        missing = [i for i, vector in enumerate(found) if vector is None]
        vectors = np.empty((len(unique), self.provider.dimensions), dtype=np.float32)
        if self.metrics is not None:
            self.metrics.texts.labels(task=task.value, source="cache").inc(len(unique) - len(missing))
            self.metrics.texts.labels(task=task.value, source="model").inc(len(missing))
        if missing:
            started = time.perf_counter()
            fresh = await self.provider.embed([unique[i] for i in missing], task)
            if self.metrics is not None:
                self.metrics.model_seconds.observe(time.perf_counter() - started)
            vectors[missing] = fresh
            await self.cache.set_many({keys[i]: fresh[row] for row, i in enumerate(missing)})
        from_cache: dict[str, bool] = {}
        for i, (text, vector) in enumerate(zip(unique, found, strict=True)):
            if vector is not None:
                vectors[i] = vector
            from_cache[text] = vector is not None

        position = {text: i for i, text in enumerate(unique)}
        order = [position[text] for text in texts]
        return EmbedResult(vectors=vectors[order], cached=[from_cache[text] for text in texts])
