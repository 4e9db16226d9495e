"""What the lifespan builds and every route reads (``app.state.context``)."""

from __future__ import annotations

from dataclasses import dataclass

from embedding_service.cache import EmbeddingCache
from embedding_service.config import Settings
from embedding_service.service import Embedder


@dataclass(frozen=True)
class ServiceContext:
    settings: Settings
    cache: EmbeddingCache
    embedder: Embedder
