"""The gemini provider through the real google-genai SDK, against the local fake of the Gemini API."""

from __future__ import annotations

import uuid

import httpx
import numpy as np

from scripts.localstack import free_port
from tests.embedding_service.conftest import AppFactory
from tests.fakes.gemini import FakeGemini, fake_vector


def unique(text: str) -> str:
    return f"{text} [{uuid.uuid4().hex[:8]}]"


async def test_documents_request_shape(gemini_client: httpx.AsyncClient, gemini_fake: FakeGemini) -> None:
    """/embed sends one batchEmbedContents call: the API key, model, RETRIEVAL_DOCUMENT and 1536 dims."""
    texts = [unique("one"), unique("two")]
    response = await gemini_client.post("/embed", json={"texts": texts})
    assert response.status_code == 200
    assert (response.json()["provider"], response.json()["model"]) == ("gemini", "gemini-embedding-001")
    [call] = gemini_fake.calls
    assert (call.version, call.model, call.api_key) == ("v1beta", "gemini-embedding-001", gemini_fake.api_key)
    assert call.texts == texts
    assert call.task_types == {"RETRIEVAL_DOCUMENT"}
    assert call.dimensions == {1536}
    assert {r["model"] for r in call.requests} == {"models/gemini-embedding-001"}


async def test_query_task_type(gemini_client: httpx.AsyncClient, gemini_fake: FakeGemini) -> None:
    """/embed_query asks for RETRIEVAL_QUERY."""
    response = await gemini_client.post("/embed_query", json={"text": unique("where is my key")})
    assert response.status_code == 200
    assert len(response.json()["embedding"]) == 1536
    [call] = gemini_fake.calls
    assert call.task_types == {"RETRIEVAL_QUERY"}


async def test_vectors_are_normalised(gemini_client: httpx.AsyncClient, gemini_fake: FakeGemini) -> None:
    """Gemini's non-unit vectors come back L2-normalised, pointing the same way."""
    text = unique("normalise me")
    body = (await gemini_client.post("/embed", json={"texts": [text]})).json()
    vector = np.asarray(body["embeddings"][0])
    raw = np.asarray(fake_vector(text, 1536))
    assert abs(np.linalg.norm(raw) - 1.0) > 1.0  # the fake's values really are not unit length
    np.testing.assert_allclose(np.linalg.norm(vector), 1.0, atol=1e-5)
    np.testing.assert_allclose(vector, raw / np.linalg.norm(raw), atol=1e-6)


async def test_more_than_100_texts_are_split(
    gemini_client: httpx.AsyncClient, gemini_fake: FakeGemini
) -> None:
    """250 texts go out as calls of 100, 100 and 50, and come back in order."""
    texts = [unique(f"text {i}") for i in range(250)]
    body = (await gemini_client.post("/embed", json={"texts": texts})).json()
    assert [len(call.requests) for call in gemini_fake.calls] == [100, 100, 50]
    assert [t for call in gemini_fake.calls for t in call.texts] == texts
    expected = np.asarray(fake_vector(texts[137], 1536))
    np.testing.assert_allclose(body["embeddings"][137], expected / np.linalg.norm(expected), atol=1e-6)


async def test_cached_texts_are_not_sent(gemini_client: httpx.AsyncClient, gemini_fake: FakeGemini) -> None:
    """Only cache misses reach Gemini."""
    known, new = unique("known"), unique("new")
    await gemini_client.post("/embed", json={"texts": [known]})
    body = (await gemini_client.post("/embed", json={"texts": [known, new]})).json()
    assert body["cached"] == [True, False]
    assert [call.texts for call in gemini_fake.calls] == [[known], [new]]


async def test_retries_after_429(gemini_client: httpx.AsyncClient, gemini_fake: FakeGemini) -> None:
    """A 429 is retried and the request then succeeds."""
    gemini_fake.fail_next(1, status=429)
    response = await gemini_client.post("/embed", json={"texts": [unique("rate limited")]})
    assert response.status_code == 200
    assert [call.status for call in gemini_fake.calls] == [429, 200]


async def test_persistent_500_is_502(gemini_client: httpx.AsyncClient, gemini_fake: FakeGemini) -> None:
    """After three 500s the service gives up with a 502 ProviderError."""
    gemini_fake.fail_next(10, status=500)
    response = await gemini_client.post("/embed", json={"texts": [unique("doomed")]})
    assert response.status_code == 502
    assert response.json()["error"] == "ProviderError"
    assert "500" in response.json()["detail"]
    assert [call.status for call in gemini_fake.calls] == [500, 500, 500]


async def test_bad_api_key_is_not_retried(gemini_client: httpx.AsyncClient, gemini_fake: FakeGemini) -> None:
    """A refused key fails at once with a 502 (retrying would not help)."""
    gemini_fake.api_key = "a-different-key"
    response = await gemini_client.post("/embed", json={"texts": [unique("who am I")]})
    assert response.status_code == 502
    assert "API key not valid" in response.json()["detail"]
    assert [call.status for call in gemini_fake.calls] == [400]


async def test_gemini_unreachable_is_502(app_factory: AppFactory, redis_url: str) -> None:
    """A Gemini endpoint that refuses connections ends in a 502 after the retries."""
    async with app_factory(
        redis_url,
        provider="gemini",
        gemini_api_key="k",
        gemini_base_url=f"http://127.0.0.1:{free_port()}",
        retry_base_delay_seconds=0.01,
    ) as client:
        response = await client.post("/embed", json={"texts": [unique("nobody home")]})
    assert response.status_code == 502
    assert "unreachable" in response.json()["detail"]


async def test_health_names_gemini(gemini_client: httpx.AsyncClient) -> None:
    """/health reports the gemini provider and its 1536 dims without calling Gemini."""
    assert (await gemini_client.get("/health")).json()["dimensions"] == 1536


async def test_a_query_and_a_document_of_one_text_are_two_gemini_calls(
    gemini_client: httpx.AsyncClient, gemini_fake: FakeGemini
) -> None:
    """Gemini's vectors depend on the task, so a text embedded as a document is embedded again as a query."""
    text = unique("what is my dog called")
    await gemini_client.post("/embed", json={"texts": [text], "namespace": "user-1"})
    query = (await gemini_client.post("/embed_query", json={"text": text, "namespace": "user-1"})).json()
    assert query["cached"] is False
    assert len(gemini_fake.calls) == 2
