"""Matching what a team wrote (a learning question, a promised change) to what evalkit measures.

Words are compared after dropping the small words every sentence has and
the endings that make "stays", "stayed" and "staying" one word; the outcome
sharing most words with a question is the one that answers it.
"""

from __future__ import annotations

import re

#: Words too common to say which measure a sentence means.
STOP_WORDS = frozenset({
    "a", "an", "the", "and", "or", "of", "in", "on", "at", "to", "for", "from", "by", "with",
    "within", "into", "than", "as", "is", "are", "was", "were", "be", "been", "do", "does",
    "did", "doing", "done", "has", "have", "had", "will", "would", "can", "could", "should",
    "may", "might", "more", "fewer", "less", "most", "least", "fall", "falls", "rise", "rises",
    "improve", "improves", "better", "worse", "after", "before", "this", "that", "these",
    "those", "it", "its", "their", "our", "we", "they", "them", "who", "what", "which", "how",
    "when", "where", "whether", "any", "all", "each", "per", "one", "two", "there", "here",
    "not", "no", "yes", "so", "if", "up", "down", "also", "get", "gets", "getting",
    "reach", "reaches", "people", "families", "family", "pilot", "hub", "case", "cases",
})  # fmt: skip


def _stem(word: str) -> str:
    for ending in ("ing", "ies", "ed", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)] + ("y" if ending == "ies" else "")
    return word


def words(text: str, *, stem: bool = True) -> list[str]:
    """Return the content words of ``text``, lower-cased (and stemmed, unless ``stem=False``)."""
    found = re.findall(r"[a-z0-9&]+", text.lower().replace("-", " "))
    kept = [w for w in found if w not in STOP_WORDS and len(w) > 1]
    return [_stem(w) for w in kept] if stem else kept


def overlap(one: str, other: str) -> int:
    """Return how many content words two texts share."""
    return len(set(words(one)) & set(words(other)))
