"""Request and response bodies. Limits that depend on settings are checked in the routes."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

NAMESPACE_PATTERN = r"^[A-Za-z0-9_-]{1,100}$"
Namespace = Annotated[
    str,
    Field(
        pattern=NAMESPACE_PATTERN,
        description="Whose texts these are (the gateway sends the user id): their cached vectors are kept "
        "under this namespace and deleted with it (`DELETE /cache/{namespace}`). Omitted: shared.",
    ),
]


class EmbedRequest(BaseModel):
    texts: list[str] = Field(min_length=1, description="Documents to embed (task RETRIEVAL_DOCUMENT).")
    namespace: Namespace | None = None


class EmbedResponse(BaseModel):
    embeddings: list[list[float]]
    cached: list[bool]
    model: str
    dimensions: int
    provider: str


class EmbedQueryRequest(BaseModel):
    text: str = Field(description="A search query (task RETRIEVAL_QUERY).")
    namespace: Namespace | None = None


class EmbedQueryResponse(BaseModel):
    embedding: list[float]
    cached: bool
    model: str
    dimensions: int
    provider: str


class OpenAIEmbeddingRequest(BaseModel):
    """OpenAI's ``POST /v1/embeddings`` body, as Letta 0.6.8 (openai 1.59) sends it."""

    input: str | list[str]
    model: str | None = Field(default=None, description="Accepted and ignored: the service's model is used.")
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    user: str | None = Field(
        default=None,
        description="OpenAI's end-user id; one that is a valid namespace (see /embed) is used as the cache "
        "namespace, any other is accepted and ignored.",
    )

    @property
    def namespace(self) -> str | None:
        return self.user if self.user is not None and re.fullmatch(NAMESPACE_PATTERN, self.user) else None

    @model_validator(mode="before")
    @classmethod
    def _no_token_arrays(cls, data: Any) -> Any:
        raw = data.get("input") if isinstance(data, dict) else None
        if isinstance(raw, list) and any(
            isinstance(item, int) or (isinstance(item, list) and any(isinstance(t, int) for t in item))
            for item in raw
        ):
            raise ValueError(
                "token-array input is not supported: send the text itself (a string or a list of strings)"
            )
        return data

    @property
    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


class OpenAIEmbedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class OpenAIUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class OpenAIEmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[OpenAIEmbedding]
    model: str
    usage: OpenAIUsage


class CacheForgotten(BaseModel):
    namespace: str
    deleted: int = Field(description="cached vectors deleted")


class Health(BaseModel):
    status: Literal["healthy"]
    provider: str
    model: str
    dimensions: int
    cache: Literal["ok", "unavailable"]
