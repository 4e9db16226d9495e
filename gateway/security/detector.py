"""The layered injection detector: normalise, rules, semantic neighbours, then (grey zone only) the Groq judge.

``Detector.analyse`` is the synchronous core (rules + semantic with a vector already computed); it is what
the benchmark times. ``Detector.detect`` adds the embedding call and the judge.

Fusion. The layers' signals are combined by a logistic model whose weights were set by hand from what
each signal means and checked on the development split (docs/security.md):

    z = BIAS + W_RULES * rules + W_SHAPE * shape * length + W_ADDRESSED * length * [any prompt cue]
          + W_SEMANTIC * logit(p_semantic) * length + W_OBFUSCATION * obfuscation * [any sign at all]

``rules`` is the noisy-OR of the matched rules' weights; ``shape`` is how much the text reads like a prompt
reprogramming an assistant, which means more in a long text than in a short one (``length`` grows from 0
at 30 characters to 1 at 1,000 characters); a long text that addresses the assistant's behaviour at all is
suspicious in a chat with a friend; ``p_semantic`` is the bank's calibrated probability, trusted more for
longer texts, because one short sentence sits near *some* exemplar by chance. Length alone never counts:
a long diary entry without any cue scores like a short one. Without the semantic layer the same model
runs with its term left out (its average contribution is near zero).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gateway.integrations.embedding import EmbeddingClient, EmbeddingServiceError
from gateway.security import rules as rule_layer
from gateway.security.judge import InjectionJudge
from gateway.security.normalize import NormalizedText, normalize
from gateway.security.schemas import Layer, LayerScore, Severity, ThreatKind, Verdict
from gateway.security.semantic import EMBED_CHARS, SemanticBank, SemanticScore

logger = logging.getLogger(__name__)

BIAS = -2.6
W_RULES = 5.0
W_SHAPE = 2.6
W_ADDRESSED = 5.1
W_SEMANTIC = 0.75
W_OBFUSCATION = 1.5
SEMANTIC_FIRED = 0.7  # the semantic layer "fired" when its own probability reaches this
RULES_DECISIVE = 0.97  # rules this sure make the embedding call unnecessary
BANK_RETRY_SECONDS = 30.0
ALL_LAYERS = frozenset(Layer)


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-max(-40.0, min(40.0, z))))


def _length_factor(chars: int, low: int = 30, high: int = 1000) -> float:
    if chars <= low:
        return 0.0
    return min(1.0, math.log(chars / low) / math.log(high / low))


def severity_of(kind: ThreatKind, confidence: float, obfuscated: bool) -> Severity:
    """Severity grows with confidence; hiding the attack, or going for instructions and secrets, adds to it."""
    if confidence >= 0.95 and (obfuscated or kind is ThreatKind.INSTRUCTION_INJECTION):
        return Severity.CRITICAL
    if confidence >= 0.9:
        return Severity.HIGH
    if confidence >= 0.8:
        return Severity.MEDIUM
    return Severity.LOW


@dataclass(frozen=True)
class LocalAnalysis:
    """Rules and semantic, fused; what the judge may then revise."""

    normalized: NormalizedText
    confidence: float
    kind: ThreatKind | None
    layers: list[LayerScore]
    skipped: list[str]


class Detector:
    """Stateless apart from the exemplar bank; safe to share between requests."""

    def __init__(
        self,
        *,
        threshold: float = 0.7,
        grey_zone_low: float = 0.4,
        embedding: EmbeddingClient | None = None,
        judge: InjectionJudge | None = None,
        bank: SemanticBank | None = None,
    ) -> None:
        self.threshold = threshold
        self.grey_zone_low = grey_zone_low
        self._embedding = embedding
        self._judge = judge
        self._bank = bank
        self._bank_lock = asyncio.Lock()
        self._bank_failed_at = -math.inf

    @property
    def bank(self) -> SemanticBank | None:
        return self._bank

    async def warm_up(self) -> bool:
        """Embed the exemplar bank now; False (logged) when the embedding service cannot."""
        return await self._ensure_bank(force=True) is not None

    async def _ensure_bank(self, force: bool = False) -> SemanticBank | None:
        if self._bank is not None or self._embedding is None:
            return self._bank
        if not force and time.monotonic() - self._bank_failed_at < BANK_RETRY_SECONDS:
            return None
        async with self._bank_lock:
            if self._bank is None:
                try:
                    self._bank = await SemanticBank.build(self._embedding)
                except EmbeddingServiceError as exc:
                    self._bank_failed_at = time.monotonic()
                    logger.warning("semantic layer unavailable (exemplar bank not embedded): %s", exc.message)
        return self._bank

    # --- the synchronous core ---------------------------------------------------------------------------

    def analyse(
        self,
        text: str,
        vector: npt.NDArray[np.floating] | list[float] | None = None,
        *,
        normalized: NormalizedText | None = None,
        use_semantic: bool = True,
    ) -> LocalAnalysis:
        """Rules, plus the semantic layer when ``vector`` (the text's embedding) is given."""
        normalized = normalized or normalize(text)
        skipped: list[str] = []
        layers: list[LayerScore] = []
        if normalized.is_blank:
            layers.append(LayerScore(layer=Layer.RULES, confidence=0.0))
            return LocalAnalysis(normalized, 0.0, None, layers, ["semantic: nothing to read"])

        ruled = rule_layer.evaluate(normalized.analysis_text)
        rule_kind, rule_score = ruled.top
        rules_any = 1.0 - math.prod(1.0 - s for s in ruled.scores.values())
        length = _length_factor(len(normalized.text))
        shape_term = ruled.prompt_shape * length
        addressed = length if ruled.prompt_cues else 0.0
        any_sign = 1.0 if ruled.matched or ruled.prompt_cues else 0.0
        z = BIAS + W_RULES * rules_any + W_SHAPE * shape_term + W_ADDRESSED * addressed
        rules_conf = _sigmoid(z)
        z += W_OBFUSCATION * normalized.obfuscation * any_sign
        layers.append(
            LayerScore(
                layer=Layer.RULES,
                confidence=round(rules_conf, 4),
                kind=rule_kind or (ThreatKind.ROLE_PLAYING if shape_term > 0.3 else None),
                detail=list(ruled.matched) + [f"prompt_shape:{c}" for c in ruled.prompt_cues],
            )
        )

        semantic: SemanticScore | None = None
        bank = self._bank
        if use_semantic and vector is not None and bank is not None:
            semantic = bank.score(vector)
            z += W_SEMANTIC * _logit(semantic.probability) * length
            layers.append(
                LayerScore(
                    layer=Layer.SEMANTIC,
                    confidence=round(semantic.probability, 4),
                    kind=semantic.kind,
                    detail=[f"margin:{semantic.margin:.3f}", f"attack_sim:{semantic.attack_similarity:.3f}"],
                )
            )
        elif use_semantic:
            skipped.append(
                "semantic: no embedding" if bank is not None else "semantic: exemplar bank unavailable"
            )

        confidence = _sigmoid(z)
        kind = rule_kind if rule_score >= 0.3 else None
        if kind is None and semantic is not None and semantic.probability >= 0.5:
            kind = semantic.kind
        if kind is None and shape_term > 0:
            kind = ThreatKind.ROLE_PLAYING
        if kind is None:
            kind = rule_kind
        return LocalAnalysis(normalized, confidence, kind, layers, skipped)

    def verdict(self, analysis: LocalAnalysis) -> Verdict:
        """The verdict from local layers alone (no judge)."""
        return self._finish(analysis, analysis.confidence, analysis.kind, analysis.layers, analysis.skipped)

    def _finish(
        self,
        analysis: LocalAnalysis,
        confidence: float,
        kind: ThreatKind | None,
        layers: list[LayerScore],
        skipped: list[str],
    ) -> Verdict:
        is_threat = confidence >= self.threshold and kind is not None
        fired: list[Layer] = []
        for layer in layers:
            if layer.layer is Layer.RULES and (
                layer.confidence >= self.threshold or (is_threat and layer.detail)
            ):
                fired.append(layer.layer)
            elif layer.layer is Layer.SEMANTIC and layer.confidence >= SEMANTIC_FIRED:
                fired.append(layer.layer)
            elif layer.layer is Layer.LLM and layer.confidence >= self.threshold:
                fired.append(layer.layer)
        if is_threat and not fired:
            fired = [layers[-1].layer]
        obfuscated = analysis.normalized.obfuscation > 0
        return Verdict(
            is_threat=is_threat,
            kind=kind if confidence >= self.grey_zone_low else None,
            confidence=round(confidence, 4),
            severity=severity_of(kind, confidence, obfuscated) if is_threat and kind else None,
            layers_fired=fired,
            layers=layers,
            skipped=skipped,
            transforms=list(analysis.normalized.transforms),
            normalized_text=analysis.normalized.text[:2000],
            threshold=self.threshold,
        )

    # --- the full detector --------------------------------------------------------------------------------

    async def detect(self, text: str, *, layers: frozenset[Layer] = ALL_LAYERS) -> Verdict:
        """Every layer asked for that can run; the verdict says which were skipped and why."""
        normalized = normalize(text)
        vector: list[float] | None = None
        skipped: list[str] = []
        use_semantic = Layer.SEMANTIC in layers
        if use_semantic and not normalized.is_blank:
            quick = self.analyse(text, normalized=normalized, use_semantic=False)
            if quick.confidence < RULES_DECISIVE:
                vector, reason = await self._embed(normalized)
                if reason:
                    skipped.append(reason)
        analysis = self.analyse(
            text, vector, normalized=normalized, use_semantic=use_semantic and vector is not None
        )
        if use_semantic and vector is None and not skipped and not normalized.is_blank:
            skipped.append("semantic: rules were decisive")
        all_skipped = [*skipped, *(s for s in analysis.skipped if not s.startswith("semantic"))]
        if not use_semantic:
            all_skipped.append("semantic: not requested")
        return await self.consult_judge(analysis, layers, all_skipped)

    async def consult_judge(
        self, analysis: LocalAnalysis, layers: frozenset[Layer] = ALL_LAYERS, skipped: list[str] | None = None
    ) -> Verdict:
        """The verdict, after asking the Groq judge when the local confidence is in the grey zone."""
        all_skipped = list(analysis.skipped if skipped is None else skipped)
        confidence, kind, layer_scores = analysis.confidence, analysis.kind, list(analysis.layers)
        in_grey_zone = self.grey_zone_low <= confidence < self.threshold
        if Layer.LLM in layers and in_grey_zone:
            if self._judge is None:
                all_skipped.append("llm: no Groq key configured")
            elif not self._judge.available:
                all_skipped.append("llm: Groq short-circuited")
            else:
                judgement = await self._judge.judge(analysis.normalized.analysis_text)
                if judgement is None:
                    all_skipped.append("llm: no usable answer")
                else:
                    layer_scores.append(
                        LayerScore(
                            layer=Layer.LLM,
                            confidence=round(judgement.probability, 4),
                            kind=judgement.kind,
                            detail=[judgement.reason] + (["cached"] if judgement.cached else []),
                        )
                    )
                    confidence = 0.3 * confidence + 0.7 * judgement.probability
                    kind = judgement.kind or kind
        return self._finish(analysis, confidence, kind, layer_scores, all_skipped)

    async def _embed(self, normalized: NormalizedText) -> tuple[list[float] | None, str | None]:
        bank = await self._ensure_bank()
        if bank is None or self._embedding is None:
            return None, "semantic: exemplar bank unavailable (embedding service down)"
        try:
            embedded = await self._embedding.embed_documents([embedding_input(normalized)])
        except EmbeddingServiceError as exc:
            return None, f"semantic: embedding service unavailable ({exc.status_code})"
        assert embedded is not None
        if embedded.space != bank.space:
            return None, "semantic: the embedding model changed since the bank was built"
        return embedded.vectors[0], None


def embedding_input(normalized: NormalizedText) -> str:
    """What the semantic layer embeds: the text (and a readable decoding, when there is one), bounded."""
    text = normalized.text
    if normalized.decoded:
        text = normalized.decoded[0] + "\n" + text
    return text[:EMBED_CHARS]
