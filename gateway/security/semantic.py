"""The semantic layer: nearest neighbours of a message among attack and benign exemplars.

The bank (``exemplars.py``) is embedded once by the embedding service and kept in memory as two matrices;
a message costs one embedding (measured apart from detection) and two small matrix products. The raw
signal is the *margin*: mean cosine to the k nearest attack exemplars minus the same to the k nearest
benign ones. Its scale depends on the embedding model, so the bank calibrates it against itself: each
exemplar's leave-one-out margin is computed at build time and a one-dimensional logistic regression maps a
margin to a probability of attack.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gateway.integrations.embedding import EmbeddingClient, EmbeddingServiceError, EmbeddingSpace
from gateway.security import exemplars
from gateway.security.schemas import ThreatKind

logger = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]
NEIGHBOURS = 3
EMBED_CHARS = 2000  # the local model reads 256 tokens; more text only costs time
EMBED_REQUEST_TEXTS = 100  # the embedding service's batch limit


@dataclass(frozen=True)
class SemanticScore:
    probability: float  # calibrated probability of attack from the margin alone
    margin: float
    attack_similarity: float
    benign_similarity: float
    kind: ThreatKind  # the kind of the nearest attack exemplars


def _unit(matrix: npt.NDArray[np.floating]) -> Matrix:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    unit: Matrix = (matrix / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


def _top_mean(similarities: Matrix, k: int) -> npt.NDArray[np.float32]:
    k = min(k, similarities.shape[-1])
    top: npt.NDArray[np.float32] = np.partition(similarities, -k, axis=-1)[..., -k:].mean(axis=-1)
    return top


def _fit_logistic(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Slope and intercept of p = sigmoid(a * x + b) by Newton's method with a little ridge."""
    a, b = 1.0, 0.0
    for _ in range(50):
        z = np.clip(a * x + b, -30, 30)
        p = 1 / (1 + np.exp(-z))
        w = p * (1 - p)
        grad = np.array([((p - y) * x).sum() + 1e-3 * a, (p - y).sum()])
        hess = np.array([[(w * x * x).sum() + 1e-3, (w * x).sum()], [(w * x).sum(), w.sum() + 1e-9]])
        step = np.linalg.solve(hess, grad)
        a, b = a - float(step[0]), b - float(step[1])
        if abs(step).max() < 1e-6:
            break
    return a, b


class SemanticBank:
    """Exemplar vectors of one embedding space, with the calibration fitted on them."""

    def __init__(
        self,
        space: EmbeddingSpace,
        attack_vectors: npt.NDArray[np.floating],
        attack_kinds: list[ThreatKind],
        benign_vectors: npt.NDArray[np.floating],
    ) -> None:
        self.space = space
        self.attacks = _unit(np.asarray(attack_vectors, dtype=np.float32))
        self.benign = _unit(np.asarray(benign_vectors, dtype=np.float32))
        self.kinds = attack_kinds
        self.slope, self.intercept = self._calibrate()

    @classmethod
    async def build(cls, embedding: EmbeddingClient) -> SemanticBank:
        """Embed the exemplar bank (raises EmbeddingServiceError when the service is down)."""
        attack_bank = exemplars.attack_bank()
        texts = [text for text, _ in attack_bank] + list(exemplars.BENIGN)
        rows: list[list[float]] = []
        space: EmbeddingSpace | None = None
        for start in range(0, len(texts), EMBED_REQUEST_TEXTS):
            embedded = await embedding.embed_documents(texts[start : start + EMBED_REQUEST_TEXTS])
            assert embedded is not None  # never an empty batch
            if space is not None and embedded.space != space:
                raise EmbeddingServiceError("the embedding model changed while the bank was embedded", 503)
            space = embedded.space
            rows.extend(embedded.vectors)
        assert space is not None
        vectors = np.asarray(rows, dtype=np.float32)
        split = len(attack_bank)
        bank = cls(space, vectors[:split], [kind for _, kind in attack_bank], vectors[split:])
        logger.info(
            "security exemplar bank embedded",
            extra={"model": bank.space.model, "attacks": split, "benign": len(texts) - split},
        )
        return bank

    def _calibrate(self) -> tuple[float, float]:
        """Leave-one-out margins of the exemplars themselves -> logistic calibration of the margin."""
        aa = self.attacks @ self.attacks.T
        np.fill_diagonal(aa, -1.0)
        bb = self.benign @ self.benign.T
        np.fill_diagonal(bb, -1.0)
        attack_margin = _top_mean(aa, NEIGHBOURS) - _top_mean(self.attacks @ self.benign.T, NEIGHBOURS)
        benign_margin = _top_mean(self.benign @ self.attacks.T, NEIGHBOURS) - _top_mean(bb, NEIGHBOURS)
        x = np.concatenate([attack_margin, benign_margin]).astype(np.float64)
        y = np.concatenate([np.ones(len(attack_margin)), np.zeros(len(benign_margin))])
        return _fit_logistic(x, y)

    def score(self, vector: npt.NDArray[np.floating] | list[float]) -> SemanticScore:
        query = _unit(np.asarray(vector, dtype=np.float32).reshape(-1))
        to_attacks = self.attacks @ query
        to_benign = self.benign @ query
        attack_similarity = float(_top_mean(to_attacks, NEIGHBOURS))
        benign_similarity = float(_top_mean(to_benign, NEIGHBOURS))
        margin = attack_similarity - benign_similarity
        probability = float(1 / (1 + np.exp(-np.clip(self.slope * margin + self.intercept, -30, 30))))
        nearest = np.argsort(to_attacks)[-NEIGHBOURS:]
        votes: dict[ThreatKind, float] = {}
        for index in nearest:
            kind = self.kinds[int(index)]
            votes[kind] = votes.get(kind, 0.0) + float(to_attacks[int(index)])
        kind = max(votes, key=lambda k: votes[k])
        return SemanticScore(probability, margin, attack_similarity, benign_similarity, kind)
