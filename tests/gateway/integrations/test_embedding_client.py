"""The gateway's EmbeddingClient against the real embedding service on a loopback port, and faults."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from gateway.errors import CompanionError
from gateway.integrations.embedding import EmbeddingClient, EmbeddingServiceError, EmbeddingSpace
from scripts.localstack import free_port


@pytest.fixture
async def embedding(embedding_service_url: str) -> AsyncIterator[EmbeddingClient]:
    client = EmbeddingClient(embedding_service_url, timeout=10.0)
    try:
        yield client
    finally:
        await client.aclose()


@asynccontextmanager
async def scripted(handler: Callable[[httpx.Request], httpx.Response]) -> AsyncIterator[EmbeddingClient]:
    """A client whose every request is answered by ``handler`` instead of the network."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        yield EmbeddingClient("http://embedding.test", timeout=1.0, http_client=http)


async def test_embed_documents(embedding: EmbeddingClient) -> None:
    """Documents come back as one 384-float list per text, in order, tagged with the model."""
    texts = [f"I adopted a puppy {uuid.uuid4()}", f"the tax office closed early {uuid.uuid4()}"]
    result = await embedding.embed_documents(texts)
    assert result is not None
    vectors = result.vectors
    assert [len(v) for v in vectors] == [384, 384]
    assert all(isinstance(x, float) for x in vectors[0])
    assert vectors[0] != vectors[1]
    assert result.space == EmbeddingSpace("all-MiniLM-L6-v2", 384)
    again = await embedding.embed_documents(list(reversed(texts)))
    assert again is not None
    assert again.vectors == list(reversed(vectors))


async def test_embed_query(embedding: EmbeddingClient) -> None:
    """A query comes back as one 384-float list tagged with its model."""
    result = await embedding.embed_query("what did I say about my dog?")
    assert len(result.vector) == 384
    assert result.space == EmbeddingSpace("all-MiniLM-L6-v2", 384)


async def test_health(embedding: EmbeddingClient) -> None:
    """health() returns the service's answer: provider, model, dims and cache state."""
    assert await embedding.health() == {
        "status": "healthy",
        "provider": "local",
        "model": "all-MiniLM-L6-v2",
        "dimensions": 384,
        "cache": "ok",
    }


async def test_empty_document_list_sends_nothing() -> None:
    """embed_documents([]) answers [] without a request."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"unexpected request {request.url}")

    async with scripted(handler) as client:
        assert await client.embed_documents([]) is None


async def test_refused_request_raises(embedding: EmbeddingClient) -> None:
    """A 422 from the service becomes an EmbeddingServiceError carrying the service's message."""
    with pytest.raises(EmbeddingServiceError) as caught:
        await embedding.embed_query("   ")
    assert isinstance(caught.value, CompanionError)
    assert caught.value.upstream_status == 422
    assert "empty or only whitespace" in caught.value.message


async def test_service_5xx_is_502() -> None:
    """A 502 from the service (its provider failed) becomes an EmbeddingServiceError with status 502."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, json={"error": "ProviderError", "detail": "gemini answered 500 INTERNAL"})

    async with scripted(handler) as client:
        with pytest.raises(EmbeddingServiceError) as caught:
            await client.embed_documents(["x"])
        assert caught.value.status_code == 502
        assert "gemini answered 500 INTERNAL" in caught.value.message


async def test_unreachable_is_503() -> None:
    """A closed port becomes an EmbeddingServiceError with status 503."""
    client = EmbeddingClient(f"http://127.0.0.1:{free_port()}", timeout=2.0)
    try:
        with pytest.raises(EmbeddingServiceError) as caught:
            await client.embed_query("hello?")
    finally:
        await client.aclose()
    assert caught.value.status_code == 503


async def test_timeout_is_504() -> None:
    """A timeout becomes an EmbeddingServiceError with status 504."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with scripted(handler) as client:
        with pytest.raises(EmbeddingServiceError) as caught:
            await client.health()
        assert caught.value.status_code == 504


async def test_wrong_count_is_an_error() -> None:
    """An answer with fewer vectors than texts is refused rather than misaligned."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"embeddings": [[0.1, 0.2]], "cached": [False]})

    async with scripted(handler) as client:
        with pytest.raises(EmbeddingServiceError, match="1 embeddings for 2 texts"):
            await client.embed_documents(["a", "b"])


async def test_shared_http_client_stays_open() -> None:
    """aclose() leaves a caller-supplied httpx client open."""
    shared = httpx.AsyncClient()
    try:
        await EmbeddingClient("http://embedding.test", timeout=1.0, http_client=shared).aclose()
        assert not shared.is_closed
    finally:
        await shared.aclose()
