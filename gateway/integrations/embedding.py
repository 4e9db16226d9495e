"""Client of the embedding service (``embedding_service/``): documents, queries and its health.

Every failure (unreachable, timeout, non-2xx, malformed answer) raises EmbeddingServiceError, so callers
can fall back (full-text retrieval, queue the memory for embedding) with one ``except``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from gateway.errors import CompanionError


@dataclass(frozen=True)
class EmbeddingSpace:
    """The model that made a vector; vectors of two spaces are never compared."""

    model: str
    dims: int


@dataclass(frozen=True)
class DocumentEmbeddings:
    vectors: list[list[float]]
    space: EmbeddingSpace


@dataclass(frozen=True)
class QueryEmbedding:
    vector: list[float]
    space: EmbeddingSpace


class EmbeddingServiceError(CompanionError):
    """The embedding service could not embed: it is down, slow, or refused the request."""

    status_code = 503

    def __init__(
        self, message: str, status_code: int | None = None, upstream_status: int | None = None
    ) -> None:
        super().__init__(message, status_code)
        self.upstream_status = upstream_status  # the service's HTTP status, when it answered at all


class EmbeddingClient:
    """Talks to the embedding service over HTTP.

    A caller-supplied ``http_client`` is shared, not owned: ``aclose()`` leaves it open.
    """

    def __init__(self, base_url: str, timeout: float, http_client: httpx.AsyncClient | None = None) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._owns_client = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=timeout, limits=httpx.Limits(max_connections=10, max_keepalive_connections=3)
        )

    async def embed_documents(
        self, texts: list[str], *, user_id: str | None = None
    ) -> DocumentEmbeddings | None:
        """One vector per text (task RETRIEVAL_DOCUMENT), in order, tagged with the model that made them.

        ``user_id``: whose texts these are; the service caches their vectors under that user's namespace,
        which ``forget_user`` deletes. None (shared texts such as the security exemplars): a shared cache.
        An empty list costs no request and answers None.
        """
        if not texts:
            return None
        body = await self._request("POST", "/embed", json=_namespaced({"texts": texts}, user_id))
        embeddings = body.get("embeddings")
        if not isinstance(embeddings, list) or len(embeddings) != len(texts):
            raise EmbeddingServiceError(
                f"embedding service returned {_count(embeddings)} embeddings for {len(texts)} texts", 502
            )
        vectors = [[float(x) for x in vector] for vector in embeddings]
        return DocumentEmbeddings(vectors, _space(body, len(vectors[0])))

    async def embed_query(self, text: str, *, user_id: str | None = None) -> QueryEmbedding:
        """The vector of a search query (task RETRIEVAL_QUERY), tagged with its model; ``user_id`` as for
        ``embed_documents``."""
        body = await self._request("POST", "/embed_query", json=_namespaced({"text": text}, user_id))
        embedding = body.get("embedding")
        if not isinstance(embedding, list) or not embedding:
            raise EmbeddingServiceError("embedding service returned no embedding for the query", 502)
        vector = [float(x) for x in embedding]
        return QueryEmbedding(vector, _space(body, len(vector)))

    async def forget_user(self, user_id: str) -> int:
        """Delete every vector the service cached for the user's texts; returns how many went. Raises
        EmbeddingServiceError when it could not (the deletion is then retried from ``pending_deletions``)."""
        body = await self._request("DELETE", f"/cache/{user_id}")
        deleted = body.get("deleted")
        if not isinstance(deleted, int):
            raise EmbeddingServiceError(
                "embedding service did not say how many cached vectors it deleted", 502
            )
        return deleted

    async def health(self) -> dict[str, Any]:
        """The service's /health answer: provider, model, dimensions and whether its cache is up."""
        return await self._request("GET", "/health")

    async def aclose(self) -> None:
        if self._owns_client:
            await self._http.aclose()

    async def _request(self, method: str, path: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
        url = self._base_url + path
        try:
            response = await self._http.request(method, url, json=json, timeout=self._timeout)
        except httpx.TimeoutException as exc:
            raise EmbeddingServiceError(
                f"embedding service timed out on {path} after {self._timeout} s", 504
            ) from exc
        except httpx.HTTPError as exc:
            raise EmbeddingServiceError(f"embedding service unreachable on {path}: {exc!r}", 503) from exc
        if response.is_error:
            raise EmbeddingServiceError(
                f"embedding service answered {response.status_code} on {path}: {_detail(response)}",
                # A 4xx means we sent something it refuses: our bug, not an outage.
                502 if response.status_code >= 500 else 500,
                upstream_status=response.status_code,
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise EmbeddingServiceError(f"embedding service sent non-JSON on {path}", 502) from exc
        if not isinstance(body, dict):
            raise EmbeddingServiceError(f"embedding service sent a {type(body).__name__}, not an object", 502)
        return body


def _namespaced(body: dict[str, Any], user_id: str | None) -> dict[str, Any]:
    return body if user_id is None else {**body, "namespace": user_id}


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        if isinstance(detail, list):  # FastAPI's 422: a list of {loc, msg, ...}
            return "; ".join(
                str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail
            )
        return str(detail)
    return str(body)[:300]


def _space(body: dict[str, Any], length: int) -> EmbeddingSpace:
    model, dims = body.get("model"), body.get("dimensions")
    if not isinstance(model, str) or not model or dims != length:
        raise EmbeddingServiceError("embedding service did not say which model made its vectors", 502)
    return EmbeddingSpace(model, length)


def _count(value: object) -> int:
    return len(value) if isinstance(value, list) else 0
