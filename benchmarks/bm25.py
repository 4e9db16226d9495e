"""Okapi BM25 over short documents: the lexical baseline of the memory benchmarks (not used by the product).

Tokenisation is deliberately plain: lowercase, runs of letters/digits (apostrophes kept inside words),
no stemming, no stop words. IDF is the non-negative Lucene form ``ln(1 + (N - n + 0.5) / (n + 0.5))``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class BM25:
    """An in-memory BM25 index over ``documents`` (k1 = 1.5, b = 0.75 by default)."""

    def __init__(self, documents: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._tfs = [Counter(tokenize(doc)) for doc in documents]
        self._lengths = [sum(tf.values()) for tf in self._tfs]
        self.n_docs = len(documents)
        self.avgdl = (sum(self._lengths) / self.n_docs) if self.n_docs else 0.0
        df: Counter[str] = Counter()
        for tf in self._tfs:
            df.update(tf.keys())
        self.idf = {term: math.log(1.0 + (self.n_docs - n + 0.5) / (n + 0.5)) for term, n in df.items()}
        self._postings: dict[str, list[int]] = {}
        for doc, tf in enumerate(self._tfs):
            for term in tf:
                self._postings.setdefault(term, []).append(doc)

    def scores(self, query: str) -> list[float]:
        """The BM25 score of every document for ``query`` (repeated query terms count once each time)."""
        out = [0.0] * self.n_docs
        if not self.n_docs or self.avgdl == 0:
            return out
        for term in tokenize(query):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for doc in self._postings[term]:
                tf = self._tfs[doc][term]
                norm = self.k1 * (1.0 - self.b + self.b * self._lengths[doc] / self.avgdl)
                out[doc] += idf * tf * (self.k1 + 1.0) / (tf + norm)
        return out

    def top(self, query: str, k: int) -> list[int]:
        """Indices of the (at most) ``k`` best documents sharing a term with ``query``, best first; ties keep
        document order. Documents scoring 0 are never returned."""
        scores = self.scores(query)
        order = sorted((i for i in range(self.n_docs) if scores[i] > 0), key=lambda i: (-scores[i], i))
        return order[:k]
