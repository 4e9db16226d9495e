"""The semantic layer: nearest neighbours of a message among attack and benign exemplars.

The bank is the hand-picked exemplars (``exemplars.py``) and the project's corpus (``corpus.py``: attack
ideas in many framings, encodings and languages, and the benign look-alikes beside them), about 3,900 texts
written for this project. It is embedded once by the embedding service (whose cache keeps the vectors, so a
restart costs one cache read per text) and kept in memory as two matrices; a message costs one embedding
(measured apart from detection) and two matrix products. The raw signal is the *margin*: mean cosine to the
k nearest attack exemplars minus the same to the k nearest benign ones. Its scale depends on the embedding
model, so the bank calibrates it against itself: each exemplar's margin without its own group (a corpus
idea's variants are one group, so a variant never vouches for its sibling) is computed at build time, and a
one-dimensional logistic regression maps a margin to a probability of attack.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gateway.integrations.embedding import EmbeddingClient, EmbeddingServiceError, EmbeddingSpace
from gateway.security import corpus, exemplars
from gateway.security.schemas import ThreatKind

logger = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]
NEIGHBOURS = 3
EMBED_CHARS = 2000  # the local model reads 256 tokens; more text only costs time
EMBED_REQUEST_TEXTS = 100  # the embedding service's batch limit
# The kind a corpus family's attacks stand for (the semantic layer names the kind of the nearest attacks).
KIND_OF_FAMILY = {
    "override": ThreatKind.INSTRUCTION_INJECTION,
    "indirect": ThreatKind.INSTRUCTION_INJECTION,
    "template": ThreatKind.INSTRUCTION_INJECTION,
    "authority": ThreatKind.INSTRUCTION_INJECTION,
    "splitting": ThreatKind.INSTRUCTION_INJECTION,
    "exfiltration": ThreatKind.INSTRUCTION_INJECTION,
    "obfuscated": ThreatKind.INSTRUCTION_INJECTION,
    "multilingual": ThreatKind.INSTRUCTION_INJECTION,
    "extraction": ThreatKind.SYSTEM_PROMPT_EXTRACTION,
    "user_data": ThreatKind.SYSTEM_PROMPT_EXTRACTION,
    "persona": ThreatKind.ROLE_PLAYING,
    "fiction": ThreatKind.ROLE_PLAYING,
    "refusal": ThreatKind.BOUNDARY_VIOLATION,
    "suffix": ThreatKind.BOUNDARY_VIOLATION,
    "technique": ThreatKind.BOUNDARY_VIOLATION,
    "memory": ThreatKind.MEMORY_POISONING,
}


# Banks built in this process, by embedding model (the same texts give the same vectors; a bank never changes).
_BUILT: dict[EmbeddingSpace, SemanticBank] = {}


@dataclass(frozen=True)
class BankText:
    text: str
    attack: bool
    group: str  # texts of one group are never each other's evidence
    kind: ThreatKind | None = None


def bank_texts() -> list[BankText]:
    """Every text of the bank: the exemplars (each its own group), then the corpus (grouped by idea)."""
    texts = [
        BankText(text, True, f"exemplar/{i}", kind) for i, (text, kind) in enumerate(exemplars.attack_bank())
    ]
    texts += [BankText(text, False, f"exemplar/benign/{i}") for i, text in enumerate(exemplars.BENIGN)]
    for row in corpus.rows():
        kind = KIND_OF_FAMILY[row.group.split("/")[1]] if row.attack else None
        texts.append(BankText(row.text, row.attack, row.group, kind))
    return texts


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
        attack_groups: list[str] | None = None,
        benign_groups: list[str] | None = None,
    ) -> None:
        self.space = space
        self.attacks = _unit(np.asarray(attack_vectors, dtype=np.float32))
        self.benign = _unit(np.asarray(benign_vectors, dtype=np.float32))
        self.kinds = attack_kinds
        # Groups as integers (comparing them is the calibration's inner loop); without groups, each its own.
        names = (attack_groups or [f"a{i}" for i in range(len(self.attacks))]) + (
            benign_groups or [f"b{i}" for i in range(len(self.benign))]
        )
        self._group_ids = {name: i for i, name in enumerate(dict.fromkeys(names))}
        ids = np.array([self._group_ids[name] for name in names], dtype=np.int32)
        self.attack_groups, self.benign_groups = ids[: len(self.attacks)], ids[len(self.attacks) :]
        self.slope, self.intercept = self._calibrate()

    @classmethod
    async def build(cls, embedding: EmbeddingClient) -> SemanticBank:
        """Embed the bank (raises EmbeddingServiceError when the service is down). A process builds it once
        per embedding model: the first batch names the model, and a bank already built in it is reused."""
        bank_rows = bank_texts()
        texts = [row.text for row in bank_rows]
        first = await embedding.embed_documents(texts[:EMBED_REQUEST_TEXTS])
        assert first is not None  # never an empty batch
        space = first.space
        built = _BUILT.get(space)
        if built is not None:
            return built
        rows: list[list[float]] = list(first.vectors)
        for start in range(EMBED_REQUEST_TEXTS, len(texts), EMBED_REQUEST_TEXTS):
            embedded = await embedding.embed_documents(texts[start : start + EMBED_REQUEST_TEXTS])
            assert embedded is not None
            if embedded.space != space:
                raise EmbeddingServiceError("the embedding model changed while the bank was embedded", 503)
            rows.extend(embedded.vectors)
        vectors = np.asarray(rows, dtype=np.float32)
        attack = np.array([row.attack for row in bank_rows])
        bank = cls(
            space,
            vectors[attack],
            [row.kind or ThreatKind.INSTRUCTION_INJECTION for row in bank_rows if row.attack],
            vectors[~attack],
            [row.group for row in bank_rows if row.attack],
            [row.group for row in bank_rows if not row.attack],
        )
        _BUILT[space] = bank
        logger.info(
            "security exemplar bank embedded",
            extra={"model": bank.space.model, "attacks": int(attack.sum()), "benign": int((~attack).sum())},
        )
        return bank

    def _calibrate(self) -> tuple[float, float]:
        """Margins of the exemplars themselves, each without its own group -> logistic calibration."""
        margins = []
        for vectors, groups in ((self.attacks, self.attack_groups), (self.benign, self.benign_groups)):
            to_attacks = vectors @ self.attacks.T
            to_attacks[groups[:, None] == self.attack_groups[None, :]] = -1.0
            to_benign = vectors @ self.benign.T
            to_benign[groups[:, None] == self.benign_groups[None, :]] = -1.0
            margins.append(_top_mean(to_attacks, NEIGHBOURS) - _top_mean(to_benign, NEIGHBOURS))
        x = np.concatenate(margins).astype(np.float64)
        y = np.concatenate([np.ones(len(margins[0])), np.zeros(len(margins[1]))])
        return _fit_logistic(x, y)

    def score(
        self, vector: npt.NDArray[np.floating] | list[float], *, without_group: str | None = None
    ) -> SemanticScore:
        """The margin's probability of attack for ``vector``. ``without_group``: score as if that group of the
        bank were not in it (the training command scores the corpus's own texts so, never by themselves)."""
        query = _unit(np.asarray(vector, dtype=np.float32).reshape(-1))
        to_attacks = self.attacks @ query
        to_benign = self.benign @ query
        group = self._group_ids.get(without_group, -1) if without_group is not None else -1
        if group >= 0:
            to_attacks[self.attack_groups == group] = -1.0
            to_benign[self.benign_groups == group] = -1.0
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
