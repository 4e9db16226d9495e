"""The OpenAI-compatible /v1/embeddings route that Letta 0.6.8 (openai 1.59) calls."""

from __future__ import annotations

import base64
import uuid

import httpx
import numpy as np


async def test_float_encoding(local_client: httpx.AsyncClient) -> None:
    """A list input answers an OpenAI list object with one float embedding per text, indexed."""
    response = await local_client.post(
        "/v1/embeddings", json={"input": ["first", "second"], "model": "text-embedding-ada-002"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    assert body["model"] == "all-MiniLM-L6-v2"
    assert [(d["object"], d["index"], len(d["embedding"])) for d in body["data"]] == [
        ("embedding", 0, 384),
        ("embedding", 1, 384),
    ]
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 0


async def test_string_input(local_client: httpx.AsyncClient) -> None:
    """A single string input answers a single embedding."""
    body = (await local_client.post("/v1/embeddings", json={"input": "just one", "model": "m"})).json()
    assert len(body["data"]) == 1


async def test_base64_encoding_decodes_to_the_float_vector(local_client: httpx.AsyncClient) -> None:
    """base64 carries the same vector as little-endian float32 bytes, as the openai client decodes it."""
    text = f"base64 please {uuid.uuid4().hex}"
    as_float = (await local_client.post("/v1/embeddings", json={"input": [text], "model": "m"})).json()
    as_b64 = (
        await local_client.post(
            "/v1/embeddings", json={"input": [text], "model": "m", "encoding_format": "base64"}
        )
    ).json()
    decoded = np.frombuffer(base64.b64decode(as_b64["data"][0]["embedding"]), dtype="<f4")
    assert decoded.shape == (384,)
    np.testing.assert_array_equal(decoded, np.asarray(as_float["data"][0]["embedding"], dtype=np.float32))


async def test_token_arrays_are_422(local_client: httpx.AsyncClient) -> None:
    """Token-id inputs are refused with a message saying to send text."""
    for token_input in ([1, 2, 3], [[1, 2], [3, 4]]):
        response = await local_client.post("/v1/embeddings", json={"input": token_input, "model": "m"})
        assert response.status_code == 422
        assert "token-array input is not supported" in response.text


async def test_matching_dimensions_accepted(local_client: httpx.AsyncClient) -> None:
    """dimensions equal to the configured size is accepted."""
    response = await local_client.post("/v1/embeddings", json={"input": "x", "model": "m", "dimensions": 384})
    assert response.status_code == 200


async def test_other_dimensions_are_422(local_client: httpx.AsyncClient) -> None:
    """dimensions other than the configured size is refused, naming the size."""
    response = await local_client.post(
        "/v1/embeddings", json={"input": "x", "model": "m", "dimensions": 1536}
    )
    assert response.status_code == 422
    assert "dimensions must be 384" in response.text


async def test_limits_apply(local_client: httpx.AsyncClient) -> None:
    """The batch and text limits of /embed apply here too."""
    response = await local_client.post("/v1/embeddings", json={"input": ["x"] * 101, "model": "m"})
    assert response.status_code == 422
    assert "at most 100 texts per request" in response.text
