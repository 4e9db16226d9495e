"""The local provider: all-MiniLM-L6-v2 on onnxruntime, mean-pooled and L2-normalised."""

from __future__ import annotations

import numpy as np

from embedding_service.providers import LocalProvider, Task

DOC = Task.RETRIEVAL_DOCUMENT


async def test_vectors_are_384_dims_unit_norm(local_provider: LocalProvider) -> None:
    """Each text gets one float32 row of 384 values with unit length."""
    vectors = await local_provider.embed(["hello there", "how was your day?"], DOC)
    assert vectors.shape == (2, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


async def test_semantic_sanity(local_provider: LocalProvider) -> None:
    """A puppy sentence is closer to a dog sentence than to one about the tax office."""
    puppy, dog, tax = await local_provider.embed(
        ["I adopted a puppy", "my new dog is great", "the tax office closed early"], DOC
    )
    assert float(puppy @ dog) > float(puppy @ tax) + 0.2


async def test_same_text_same_vector(local_provider: LocalProvider) -> None:
    """Embedding the same text twice gives the identical vector."""
    first = await local_provider.embed(["I like long walks by the river"], DOC)
    second = await local_provider.embed(["I like long walks by the river"], DOC)
    assert np.array_equal(first, second)


async def test_padding_in_a_batch_does_not_change_a_vector(local_provider: LocalProvider) -> None:
    """A short text batched with a long one gets (almost exactly) the vector it gets alone."""
    alone = await local_provider.embed(["short"], DOC)
    batched = await local_provider.embed(["short", "a much longer sentence " * 20], DOC)
    np.testing.assert_allclose(batched[0], alone[0], atol=1e-5)


async def test_texts_beyond_256_tokens_are_truncated(local_provider: LocalProvider) -> None:
    """Words past the model's 256-token window do not change the vector (and do not fail)."""
    long_text = " ".join(f"word{i}" for i in range(400))
    base, extended = await local_provider.embed([long_text, long_text + " and one more thing"], DOC)
    np.testing.assert_allclose(base, extended, atol=1e-6)
