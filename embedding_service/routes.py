"""The HTTP routes: /embed, /embed_query, OpenAI-compatible /v1/embeddings, DELETE /cache/{namespace}, /health."""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from redis.exceptions import RedisError

from embedding_service.config import Settings
from embedding_service.context import ServiceContext
from embedding_service.errors import ServiceError
from embedding_service.providers import Task
from embedding_service.schemas import (
    NAMESPACE_PATTERN,
    CacheForgotten,
    EmbedQueryRequest,
    EmbedQueryResponse,
    EmbedRequest,
    EmbedResponse,
    Health,
    OpenAIEmbedding,
    OpenAIEmbeddingRequest,
    OpenAIEmbeddingResponse,
    OpenAIUsage,
)

router = APIRouter()


def get_context(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.context
    return context


Context = Annotated[ServiceContext, Depends(get_context)]


def _invalid(loc: tuple[str | int, ...], message: str) -> RequestValidationError:
    """A 422 in FastAPI's usual shape, for limits that come from settings."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", *loc), "msg": message, "input": None}]
    )


def check_texts(texts: Sequence[str], settings: Settings, field: str) -> None:
    """Reject more than EMBEDDING_MAX_BATCH texts, a blank text, or one over EMBEDDING_MAX_TEXT_CHARS."""
    if not texts:
        raise _invalid((field,), "at least 1 text is required")
    if len(texts) > settings.max_batch:
        raise _invalid((field,), f"at most {settings.max_batch} texts per request (got {len(texts)})")
    for index, text in enumerate(texts):
        check_text(text, settings, (field, index), f"text {index}")


def check_text(text: str, settings: Settings, loc: tuple[str | int, ...], label: str = "text") -> None:
    if not text.strip():
        raise _invalid(loc, f"{label} is empty or only whitespace")
    if len(text) > settings.max_text_chars:
        raise _invalid(loc, f"{label} is longer than {settings.max_text_chars} characters (got {len(text)})")


@router.post("/embed", response_model=EmbedResponse)
async def embed(body: EmbedRequest, context: Context) -> dict[str, Any]:
    """Embed documents (task RETRIEVAL_DOCUMENT); ``cached[i]`` says whether text i came from the cache."""
    check_texts(body.texts, context.settings, "texts")
    result = await context.embedder.embed(body.texts, Task.RETRIEVAL_DOCUMENT, body.namespace)
    return {"embeddings": result.vectors.tolist(), "cached": result.cached, **_model_info(context)}


@router.post("/embed_query", response_model=EmbedQueryResponse)
async def embed_query(body: EmbedQueryRequest, context: Context) -> dict[str, Any]:
    """Embed one search query (task RETRIEVAL_QUERY)."""
    check_text(body.text, context.settings, ("text",))
    result = await context.embedder.embed([body.text], Task.RETRIEVAL_QUERY, body.namespace)
    return {"embedding": result.vectors[0].tolist(), "cached": result.cached[0], **_model_info(context)}


@router.post("/v1/embeddings", response_model=OpenAIEmbeddingResponse)
async def openai_embeddings(body: OpenAIEmbeddingRequest, context: Context) -> OpenAIEmbeddingResponse:
    """OpenAI-compatible embeddings (for Letta); ``model`` is accepted but this service's model is used."""
    provider = context.embedder.provider
    if body.dimensions is not None and body.dimensions != provider.dimensions:
        raise _invalid(
            ("dimensions",), f"dimensions must be {provider.dimensions} (this service's EMBEDDING_DIMENSIONS)"
        )
    texts = body.texts
    if isinstance(body.input, str):
        check_text(body.input, context.settings, ("input",))
    else:
        check_texts(texts, context.settings, "input")
    # The caller does not say whether a text is a query or a passage, and Letta compares these vectors only
    # with each other: the symmetric task fits.
    result = await context.embedder.embed(texts, Task.SEMANTIC_SIMILARITY, body.namespace)
    data = [
        OpenAIEmbedding(
            index=index,
            embedding=base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
            if body.encoding_format == "base64"
            else vector.tolist(),
        )
        for index, vector in enumerate(result.vectors)
    ]
    tokens = sum(estimate_tokens(text) for text in texts)
    return OpenAIEmbeddingResponse(
        data=data, model=provider.model, usage=OpenAIUsage(prompt_tokens=tokens, total_tokens=tokens)
    )


class CacheUnavailableError(ServiceError):
    """Redis could not be reached, so nothing was deleted; the caller retries."""

    status_code = 503


@router.delete("/cache/{namespace}", response_model=CacheForgotten)
async def forget_namespace(
    namespace: Annotated[str, Path(pattern=NAMESPACE_PATTERN)], context: Context
) -> CacheForgotten:
    """Delete every vector cached under ``namespace`` (the gateway calls it when it deletes a user).
    503 when Redis is unreachable: the deletion did not happen and must be retried."""
    try:
        deleted = await context.cache.forget(namespace)
    except (RedisError, OSError) as exc:
        raise CacheUnavailableError(f"the cache could not be reached, nothing was deleted: {exc}") from exc
    return CacheForgotten(namespace=namespace, deleted=deleted)


def estimate_tokens(text: str) -> int:
    """About four characters per token: usage is informational here, nobody is billed."""
    return max(1, math.ceil(len(text) / 4))


@router.get("/health", response_model=Health)
async def health(context: Context) -> dict[str, Any]:
    """Liveness with the model served; Redis being down is reported, not fatal (the cache is bypassed)."""
    cache_ok = await context.cache.ping()
    return {"status": "healthy", "cache": "ok" if cache_ok else "unavailable", **_model_info(context)}


def _model_info(context: ServiceContext) -> dict[str, Any]:
    provider = context.embedder.provider
    return {"model": provider.model, "dimensions": provider.dimensions, "provider": provider.name}
