"""The layered injection detector: normalise, rules, semantic neighbours, then (grey zone only) the Groq judge.

``Detector.analyse`` is the synchronous core (rules + semantic with a vector already computed); it is what
the benchmark times. ``Detector.detect`` adds the embedding call and the judge.

Fusion (``fusion.py``): a logistic model over named features of the rules and the semantic layer, with
non-negative weights, trained and calibrated by ``python -m benchmarks.train_injection`` so its confidence is
a probability judged on sources it never saw. Length alone never counts. A second head, fitted without the
semantic terms, serves while the semantic layer cannot run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gateway.integrations.embedding import EmbeddingClient, EmbeddingServiceError
from gateway.security import rules as rule_layer
from gateway.security.fusion import FEATURES, FUSIONS, Fusion, Fusions, length_factor, logit
from gateway.security.judge import InjectionJudge
from gateway.security.normalize import NormalizedText, normalize, vocabulary
from gateway.security.schemas import Layer, LayerScore, Severity, ThreatKind, Verdict
from gateway.security.semantic import EMBED_CHARS, SemanticBank, SemanticScore

logger = logging.getLogger(__name__)

RULES_EVIDENCE_CAP = 4.0  # -ln(1 - 0.98): beyond that, more matches add nothing
SEMANTIC_FIRED = 0.7  # the semantic layer "fired" when its own probability reaches this
# Corroborating an everyday phrase takes a semantic layer that is sure on its own, not one leaning toward the
# attack side (a game's "god mode" sits at 0.72: near mode-switch exemplars, yet nothing like an attack).
SEMANTIC_CORROBORATES = 0.9
RULES_DECISIVE = 0.97  # rules this sure make the embedding call unnecessary
BANK_RETRY_SECONDS = 30.0
BANK_WAIT_SECONDS = 2.0  # what one message waits for the bank's build
HIDDEN_TEXT_CONFIDENCE = 0.9  # above the flag threshold, below escalation (0.95)
ALL_LAYERS = frozenset(Layer)


def corroborated_elsewhere(normalized: NormalizedText, p_semantic: float | None) -> bool:
    """Signs beyond the rule layer that make an everyday phrase's match count: the semantic layer sure on its
    own, or text that was hidden (the rule layer's own corroboration is ``RuleResult.corroborated``)."""
    return normalized.obfuscation > 0 or (p_semantic is not None and p_semantic >= SEMANTIC_CORROBORATES)


def fusion_features(
    ruled: rule_layer.RuleResult, normalized: NormalizedText, length: float, p_semantic: float | None
) -> list[float]:
    """The fusion's inputs, in the order of ``fusion.FEATURES`` (semantic terms are 0 without the layer)."""
    counted = ruled.evidence(corroborated_elsewhere=corroborated_elsewhere(normalized, p_semantic))
    # Evidence adds up in log-odds: -ln(1 - noisy-OR) is the sum of the matched kinds' -ln(1 - score).
    # A rule's weight is how sure its match alone makes us; below 0.5 it is a hint that never decides alone,
    # so the evidence counts from there.
    evidence = -math.log(max(1e-6, math.prod(1.0 - s for s in counted.values())))
    rules_evidence = min(RULES_EVIDENCE_CAP, max(0.0, evidence - math.log(2.0)))
    any_sign = 1.0 if ruled.matched or ruled.prompt_cues else 0.0
    semantic = logit(p_semantic) if p_semantic is not None else 0.0
    return [
        rules_evidence,
        float(max(0, len(counted) - 1)),
        ruled.prompt_shape * length,
        length * min(1.0, len(ruled.prompt_cues) / 2),
        min(1.0, max(0, len(ruled.prompt_cues) - 2) / 4),
        semantic * length,
        semantic * (1.0 - length),
        normalized.obfuscation * any_sign,
    ]


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
    features: tuple[float, ...] = ()  # the fusion's inputs (fusion.FEATURES), for calibration
    rule_features: tuple[float, ...] = ()  # the same without the semantic layer (the rules-only head's)
    floor: float = 0.0  # the least confidence whatever the fusion says (``confidence_floor``)


def confidence_floor(normalized: NormalizedText) -> float:
    """The least confidence a message gets from what the normaliser saw, whatever the fusion says: text hidden
    from the reader on purpose is there for the model alone, so it is flagged whatever it says, but not
    escalated on that alone (no benign source of dev + extra has any)."""
    return HIDDEN_TEXT_CONFIDENCE if normalized.hidden else 0.0


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
        fusions: Fusions = FUSIONS,
    ) -> None:
        self.threshold = threshold
        self.grey_zone_low = grey_zone_low
        self._embedding = embedding
        self._judge = judge
        self._bank = bank
        self._fusions = fusions
        self._bank_task: asyncio.Task[None] | None = None
        vocabulary()  # built once per process, so no message pays for it
        self._bank_failed_at = -math.inf

    @property
    def bank(self) -> SemanticBank | None:
        return self._bank

    async def warm_up(self) -> bool:
        """Embed the bank now (or wait for the build under way); False (logged) when the embedding service
        cannot."""
        task = self._start_build(force=True)
        if task is not None:
            await asyncio.shield(task)
        return self._bank is not None

    def start_warm_up(self) -> asyncio.Task[None] | None:
        """Start embedding the bank in the background (the build under way, if any); None without one."""
        return self._start_build(force=True)

    async def aclose(self) -> None:
        """Stop a bank build still under way (at shutdown)."""
        task, self._bank_task = self._bank_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _start_build(self, force: bool = False) -> asyncio.Task[None] | None:
        if self._bank is not None or self._embedding is None:
            return None
        if self._bank_task is not None and not self._bank_task.done():
            return self._bank_task
        if not force and time.monotonic() - self._bank_failed_at < BANK_RETRY_SECONDS:
            return None
        self._bank_task = asyncio.create_task(self._build(self._embedding), name="security-bank-build")
        return self._bank_task

    async def _build(self, embedding: EmbeddingClient) -> None:
        try:
            self._bank = await SemanticBank.build(embedding)
        except EmbeddingServiceError as exc:
            self._bank_failed_at = time.monotonic()
            logger.warning("semantic layer unavailable (exemplar bank not embedded): %s", exc.message)

    async def _ensure_bank(self) -> SemanticBank | None:
        """The bank, waiting at most ``BANK_WAIT_SECONDS`` for a build (from the embedding service's cache it
        takes well under that); a message that cannot wait is judged without the semantic layer while the
        build goes on."""
        task = self._start_build()
        if task is not None:
            await asyncio.wait([task], timeout=BANK_WAIT_SECONDS)
        return self._bank

    # --- the synchronous core ---------------------------------------------------------------------------

    def analyse(
        self,
        text: str,
        vector: npt.NDArray[np.floating] | list[float] | None = None,
        *,
        normalized: NormalizedText | None = None,
        use_semantic: bool = True,
        bank_without: str | None = None,
    ) -> LocalAnalysis:
        """Rules, plus the semantic layer when ``vector`` (the text's embedding) is given. ``bank_without``: a
        group of the bank's own texts to leave out (the training command scores the bank's texts without
        themselves)."""
        normalized = normalized or normalize(text)
        skipped: list[str] = []
        layers: list[LayerScore] = []
        if normalized.is_blank:
            layers.append(LayerScore(layer=Layer.RULES, confidence=0.0))
            return LocalAnalysis(
                normalized,
                0.0,
                None,
                layers,
                ["semantic: nothing to read"],
                (0.0,) * len(FEATURES),
                (0.0,) * len(FEATURES),
            )

        ruled = rule_layer.evaluate(normalized.analysis_text)
        rule_kind, rule_score = ruled.top
        length = length_factor(len(normalized.text))
        shape_term = ruled.prompt_shape * length
        rule_features = fusion_features(ruled, normalized, length, None)
        rules_conf = self._fusions.rules_only.confidence(rule_features)
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
        features = rule_features
        if use_semantic and vector is not None and bank is not None:
            semantic = bank.score(vector, without_group=bank_without)
            features = fusion_features(ruled, normalized, length, semantic.probability)
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

        fusion = self._fusions.head(semantic is not None)
        confidence = fusion.confidence(features) if semantic is not None else rules_conf
        p_semantic = semantic.probability if semantic is not None else None
        if ruled.everyday and not (ruled.corroborated or corroborated_elsewhere(normalized, p_semantic)):
            # An uncorroborated everyday phrase may bring the message up to the grey zone, where the judge
            # (when configured) is the independent opinion, but never to the threshold on its own.
            confidence = max(
                confidence, min(self.grey_zone_low, self._confidence_if_counted(ruled, features, fusion))
            )
        floor = confidence_floor(normalized)
        confidence = max(confidence, floor)
        kind = rule_kind if rule_score >= 0.3 else None
        if kind is None and semantic is not None and semantic.probability >= 0.5:
            kind = semantic.kind
        if kind is None and (shape_term > 0 or ruled.prompt_cues):
            kind = ThreatKind.ROLE_PLAYING  # a text configuring the assistant: a role override
        if kind is None:
            kind = rule_kind or (semantic.kind if semantic is not None else None)
        if kind is None and normalized.hidden:
            kind = ThreatKind.INSTRUCTION_INJECTION  # a smuggled instruction
        return LocalAnalysis(
            normalized, confidence, kind, layers, skipped, tuple(features), tuple(rule_features), floor
        )

    def _confidence_if_counted(
        self, ruled: rule_layer.RuleResult, features: list[float], fusion: Fusion
    ) -> float:
        """The fused confidence had every rule match counted, everyday ones included."""
        evidence = -math.log(max(1e-6, math.prod(1.0 - s for s in ruled.scores.values())))
        counted = list(features)
        counted[FEATURES.index("rules")] = min(RULES_EVIDENCE_CAP, max(0.0, evidence - math.log(2.0)))
        counted[FEATURES.index("kinds")] = float(max(0, len(ruled.scores) - 1))
        return fusion.confidence(counted)

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

    async def detect(
        self, text: str, *, layers: frozenset[Layer] = ALL_LAYERS, user_id: str | None = None
    ) -> Verdict:
        """Every layer asked for that can run; the verdict says which were skipped and why. ``user_id``:
        whose message it is (its embedding is cached under that user, and deleted with them)."""
        normalized = normalize(text)
        vector: list[float] | None = None
        skipped: list[str] = []
        use_semantic = Layer.SEMANTIC in layers
        if use_semantic and not normalized.is_blank:
            quick = self.analyse(text, normalized=normalized, use_semantic=False)
            if quick.confidence < RULES_DECISIVE:
                vector, reason = await self._embed(normalized, user_id)
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
        return await self.consult_judge(analysis, layers, all_skipped, user_id=user_id)

    async def consult_judge(
        self,
        analysis: LocalAnalysis,
        layers: frozenset[Layer] = ALL_LAYERS,
        skipped: list[str] | None = None,
        *,
        user_id: str | None = None,
    ) -> Verdict:
        """The verdict, after asking the Groq judge when the local confidence is in the grey zone (its answer
        is cached under ``user_id``'s keys, so it goes with the user)."""
        all_skipped = list(analysis.skipped if skipped is None else skipped)
        confidence, kind, layer_scores = analysis.confidence, analysis.kind, list(analysis.layers)
        in_grey_zone = self.grey_zone_low <= confidence < self.threshold
        if Layer.LLM in layers and in_grey_zone:
            if self._judge is None:
                all_skipped.append("llm: no Groq key configured")
            elif not self._judge.available:
                all_skipped.append("llm: Groq short-circuited")
            else:
                judgement = await self._judge.judge(analysis.normalized.analysis_text, user_id=user_id)
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

    async def _embed(
        self, normalized: NormalizedText, user_id: str | None
    ) -> tuple[list[float] | None, str | None]:
        text = embedding_input(normalized)
        if not text:
            return None, "semantic: nothing visible to embed"
        bank = await self._ensure_bank()
        if bank is None or self._embedding is None:
            building = self._bank_task is not None and not self._bank_task.done()
            if building:
                return None, "semantic: exemplar bank still being embedded"
            return None, "semantic: exemplar bank unavailable (embedding service down)"
        try:
            embedded = await self._embedding.embed_documents([text], user_id=user_id)
        except EmbeddingServiceError as exc:
            return None, f"semantic: embedding service unavailable ({exc.status_code})"
        assert embedded is not None
        if embedded.space != bank.space:
            return None, "semantic: the embedding model changed since the bank was built"
        return embedded.vectors[0], None


def embedding_input(normalized: NormalizedText) -> str:
    """What the semantic layer embeds: the text (and a readable decoding, when there is one), bounded; empty
    when neither holds anything visible (a message made only of hidden characters that decode to nothing),
    which is never sent to the embedding service."""
    text = normalized.text
    if normalized.decoded:
        text = normalized.decoded[0] + "\n" + text
    return text[:EMBED_CHARS].strip()
