"""/embed, /embed_query, /health and the error shapes, against the local provider and a real Redis."""

from __future__ import annotations

import uuid

import httpx
import numpy as np
import redis.asyncio as aioredis

from embedding_service.cache import cache_key


def unique(text: str) -> str:
    return f"{text} [{uuid.uuid4().hex[:8]}]"


async def test_embed_returns_vectors_and_model(local_client: httpx.AsyncClient) -> None:
    """/embed answers one 384-d unit vector per text, with the model, dims and provider."""
    response = await local_client.post("/embed", json={"texts": [unique("a"), unique("b")]})
    assert response.status_code == 200
    body = response.json()
    assert (body["model"], body["dimensions"], body["provider"]) == ("all-MiniLM-L6-v2", 384, "local")
    vectors = np.asarray(body["embeddings"])
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


async def test_cached_flags_flip_on_repeat(local_client: httpx.AsyncClient) -> None:
    """The first /embed of a text is computed, the second comes from the cache with the same vector."""
    texts = [unique("my cat sleeps all day")]
    first = (await local_client.post("/embed", json={"texts": texts})).json()
    second = (await local_client.post("/embed", json={"texts": texts})).json()
    assert first["cached"] == [False]
    assert second["cached"] == [True]
    assert second["embeddings"] == first["embeddings"]


async def test_cache_entry_has_seven_day_ttl(
    local_client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    """The cache key names provider, model, dims and task, holds float32 bytes and expires in ~7 days."""
    text = unique("remember the milk")
    await local_client.post("/embed", json={"texts": [text]})
    key = cache_key("local", "all-MiniLM-L6-v2", 384, "RETRIEVAL_DOCUMENT", text)
    assert key.startswith("emb:v1:local:all-MiniLM-L6-v2:384:RETRIEVAL_DOCUMENT:")
    assert len(await redis_client.get(key) or b"") == 384 * 4
    assert 7 * 86400 - 60 <= await redis_client.ttl(key) <= 7 * 86400


async def test_mixed_hits_and_misses(local_client: httpx.AsyncClient) -> None:
    """In one request, texts already cached are flagged true and new ones false, in request order."""
    known, new = unique("known"), unique("new")
    await local_client.post("/embed", json={"texts": [known]})
    body = (await local_client.post("/embed", json={"texts": [new, known]})).json()
    assert body["cached"] == [False, True]


async def test_duplicates_in_one_request(local_client: httpx.AsyncClient) -> None:
    """A text repeated in one request is embedded once and answered at every position."""
    text, other = unique("twice"), unique("once")
    body = (await local_client.post("/embed", json={"texts": [text, other, text]})).json()
    assert body["cached"] == [False, False, False]
    assert body["embeddings"][0] == body["embeddings"][2]
    assert body["embeddings"][0] != body["embeddings"][1]


async def test_embed_query(local_client: httpx.AsyncClient) -> None:
    """/embed_query answers one vector, cached on repeat."""
    text = unique("where did I park")
    first = (await local_client.post("/embed_query", json={"text": text})).json()
    second = (await local_client.post("/embed_query", json={"text": text})).json()
    assert len(first["embedding"]) == 384
    assert (first["cached"], second["cached"]) == (False, True)
    assert (first["model"], first["dimensions"], first["provider"]) == ("all-MiniLM-L6-v2", 384, "local")


async def test_empty_text_is_422(local_client: httpx.AsyncClient) -> None:
    """A blank text is refused with a 422 naming which text."""
    response = await local_client.post("/embed", json={"texts": ["fine", "   "]})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "ValidationError"
    assert body["detail"] == "body.texts.1: text 1 is empty or only whitespace"
    assert body["errors"] == [
        {"loc": ["body", "texts", 1], "msg": "text 1 is empty or only whitespace", "type": "value_error"}
    ]


async def test_empty_query_is_422(local_client: httpx.AsyncClient) -> None:
    """A blank query is refused with a 422."""
    response = await local_client.post("/embed_query", json={"text": ""})
    assert response.status_code == 422
    assert response.json()["errors"][0]["msg"] == "text is empty or only whitespace"


async def test_too_many_texts_is_422(local_client: httpx.AsyncClient) -> None:
    """More than EMBEDDING_MAX_BATCH texts is refused, naming the limit."""
    response = await local_client.post("/embed", json={"texts": ["x"] * 101})
    assert response.status_code == 422
    assert "at most 100 texts per request" in response.text


async def test_too_long_text_is_422(local_client: httpx.AsyncClient) -> None:
    """A text over EMBEDDING_MAX_TEXT_CHARS is refused, naming the text and the limit."""
    response = await local_client.post("/embed", json={"texts": ["ok", "ok", "ok", "y" * 8001]})
    assert response.status_code == 422
    assert "text 3 is longer than 8000 characters" in response.text


async def test_empty_list_is_422(local_client: httpx.AsyncClient) -> None:
    """An empty texts list is a validation error."""
    assert (await local_client.post("/embed", json={"texts": []})).status_code == 422


async def test_health(local_client: httpx.AsyncClient) -> None:
    """/health reports the provider, model, dims and a working cache."""
    response = await local_client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "healthy",
        "provider": "local",
        "model": "all-MiniLM-L6-v2",
        "dimensions": 384,
        "cache": "ok",
    }


async def test_unknown_route_is_json_404(local_client: httpx.AsyncClient) -> None:
    """An unknown route answers the service's JSON error shape."""
    response = await local_client.get("/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "NotFound", "detail": "Not Found"}


async def test_wrong_method_is_json_405(local_client: httpx.AsyncClient) -> None:
    """GET on a POST route answers 405 in the same shape."""
    response = await local_client.get("/embed")
    assert response.status_code == 405
    assert response.json()["error"] == "MethodNotAllowed"


async def test_a_namespace_is_cached_apart_and_forgotten_whole(
    local_client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    """Texts sent with a namespace are cached under it (documents, queries and OpenAI's ``user``: one entry,
    the local model ignoring the task); DELETE /cache/{namespace} removes exactly those, and the next request
    computes them again."""
    namespace, other = uuid.uuid4().hex, uuid.uuid4().hex
    text = unique("my sister lives in Lisbon")
    await local_client.post("/embed", json={"texts": [text], "namespace": namespace})
    await local_client.post("/embed_query", json={"text": text, "namespace": namespace})
    await local_client.post("/v1/embeddings", json={"input": text, "user": namespace})
    await local_client.post("/embed", json={"texts": [text], "namespace": other})
    assert len([k async for k in redis_client.scan_iter(match=f"emb:v1:ns:{namespace}:*")]) == 1
    assert (
        await redis_client.exists(cache_key("local", "all-MiniLM-L6-v2", 384, "RETRIEVAL_DOCUMENT", text))
        == 0
    )

    forgotten = await local_client.delete(f"/cache/{namespace}")
    assert forgotten.status_code == 200, forgotten.text
    assert forgotten.json() == {"namespace": namespace, "deleted": 1}
    assert [k async for k in redis_client.scan_iter(match=f"*{namespace}*")] == []
    assert len([k async for k in redis_client.scan_iter(match=f"emb:v1:ns:{other}:*")]) == 1
    again = await local_client.post("/embed", json={"texts": [text], "namespace": namespace})
    assert again.json()["cached"] == [False]


async def test_a_namespace_with_glob_characters_is_422(local_client: httpx.AsyncClient) -> None:
    """A namespace is letters, digits, ``_`` and ``-`` only: nothing that could widen the forget's SCAN."""
    assert (await local_client.delete("/cache/*")).status_code == 422
    bad = await local_client.post("/embed", json={"texts": ["hi"], "namespace": "a*b"})
    assert bad.status_code == 422


async def test_the_local_model_embeds_a_text_once_for_every_task(local_client: httpx.AsyncClient) -> None:
    """The local model ignores the task, so a message the detector embedded as a document is the memory
    search's query from the cache: one model call per message between them. Another user's cache is apart."""
    text = unique("I got a puppy, his name is Sparky")
    document = (await local_client.post("/embed", json={"texts": [text], "namespace": "user-1"})).json()
    query = (await local_client.post("/embed_query", json={"text": text, "namespace": "user-1"})).json()
    assert document["cached"] == [False] and query["cached"] is True
    assert query["embedding"] == document["embeddings"][0]
    elsewhere = (await local_client.post("/embed_query", json={"text": text, "namespace": "user-2"})).json()
    assert elsewhere["cached"] is False
