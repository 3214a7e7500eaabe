"""The knowledge base and a BM25 index over it."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from agent.models.local.text import tokens


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    title: str
    text: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Hit:
    article: Article
    score: float


def load_articles(path: Path) -> list[Article]:
    data = yaml.safe_load(path.read_text()) or {}
    return [
        Article(id=a["id"], title=a["title"], text=a["text"].strip(), tags=tuple(a.get("tags") or ()))
        for a in data.get("articles", [])
    ]


class KnowledgeBase:
    """Okapi BM25 (k1=1.5, b=0.75); titles and tags count twice, they name the topic."""

    def __init__(self, articles: list[Article], k1: float = 1.5, b: float = 0.75) -> None:
        self.articles = articles
        self._k1, self._b = k1, b
        self._docs: list[Counter[str]] = []
        for article in articles:
            heading = tokens(article.title + " " + " ".join(article.tags))
            self._docs.append(Counter(tokens(article.text) + heading * 2))
        self._lengths = [sum(doc.values()) for doc in self._docs]
        self._avg_length = sum(self._lengths) / len(self._lengths) if self._lengths else 0.0
        frequency: Counter[str] = Counter()
        for doc in self._docs:
            frequency.update(doc.keys())
        n = len(self._docs)
        self._idf = {term: math.log(1 + (n - df + 0.5) / (df + 0.5)) for term, df in frequency.items()}

    def search(self, query: str, limit: int = 3) -> list[Hit]:
        terms = set(tokens(query))
        scored: list[Hit] = []
        for article, doc, length in zip(self.articles, self._docs, self._lengths):
            score = 0.0
            for term in terms:
                tf = doc.get(term)
                if tf:
                    norm = tf + self._k1 * (1 - self._b + self._b * length / self._avg_length)
                    score += self._idf[term] * tf * (self._k1 + 1) / norm
            if score > 0:
                scored.append(Hit(article, score))
        scored.sort(key=lambda hit: hit.score, reverse=True)
        return scored[:limit]
