"""A knowledge base of any size grown from the demo documents, and questions to ask it.

The demo's documents (about 220 chunks) come first, as parsed. Every further document is a
variant of one of them: its title gets a made-up product line, each chunk's heading has some of
its words swapped for other headings' words or made-up ones, and its text mixes its own
sentences with sentences of other chunks, with numbers and product names changed and a few
words made up. Made-up words are drawn Zipf-like from a fixed vocabulary, so a few recur often
and most are rare, and the vocabulary grows with the corpus as a real one does. All of it comes
from one seed: the same size gives the same corpus on every machine.

Questions are the demo chunks' own headings (each answered by that chunk) and some paraphrases
of them; a variant's heading is never the same as the demo heading it came from, so the demo
chunk is the one best answer to its heading.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.contracts import ChunkRecord, DocumentRecord
from agent.knowledge.parsing import SUPPORTED_SUFFIXES, parse_document
from agent.terms import words

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "agent" / "demo" / "knowledge"
CHUNKS_PER_DOCUMENT = 5
SEED = 20261204

ChunkKey = tuple[str, str, int]  # (collection, source, ordinal): a chunk, the same in every ranker

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
# The demo's own names of products, places and programmes: a variant sells other ones.
NAMES = ("Ridgeline", "Switchback", "Cascade", "Summit", "TrailGuard", "Northwind", "Portland", "Klarna", "Trail Rewards")
_NAMES = re.compile("|".join(re.escape(name) for name in NAMES))
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in ("a", "e", "i", "o", "u", "ar", "en", "or", "is")]
PARAPHRASES = {
    "cost": "price",
    "costs": "is the price of",
    "order": "purchase",
    "orders": "purchases",
    "parcel": "package",
    "item": "product",
    "items": "products",
    "ship": "send",
    "shipped": "sent out",
    "account": "profile",
    "email": "e-mail",
    "get": "receive",
    "change": "modify",
    "cancel": "call off",
    "return": "send back",
    "refund": "money back",
    "delivery": "shipping",
    "card": "credit card",
    "store": "shop",
    "help": "assist",
}
_LINES = (" line", " range", " edition", " series", " collection", "", "", "")
_OPENERS = ("", "", "hi, ", "quick question: ", "hello there. ", "um ")
_CLOSERS = ("", "", " thanks", " please", " asap")


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    answer: ChunkKey  # the demo chunk whose heading it was made from
    paraphrased: bool


def demo_documents() -> list[DocumentRecord]:
    """The shipped demo knowledge base, parsed as an ingest parses it, in a fixed order."""
    records = []
    for folder in sorted(p for p in DEMO.iterdir() if p.is_dir()):
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                records.append(parse_document(path, path.read_bytes(), collection=folder.name, source=path.name))
    return records


def key(record: DocumentRecord, chunk: ChunkRecord) -> ChunkKey:
    return (record.collection, record.source, chunk.ordinal)


class _Zipf:
    """Draws from `items`, the n-th about 1/(n + offset) as often (Zipf-Mandelbrot): without the
    offset the first made-up word would be in a third of the chunks, commoner than "order"."""

    def __init__(self, items: Sequence[str], exponent: float = 1.05, offset: int = 20) -> None:
        self.items = items
        self.cumulative = list(itertools.accumulate(1 / ((rank + offset) ** exponent) for rank in range(1, len(items) + 1)))

    def draw(self, rng: random.Random) -> str:
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


def _made_up_words(count: int, rng: random.Random) -> list[str]:
    seen: dict[str, None] = {}
    while len(seen) < count:
        seen.setdefault("".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 3, 3, 4)))), None)
    return list(seen)


class _Variants:
    """Makes the variant documents; one random stream, so the n-th variant is always the same."""

    def __init__(self, base: Sequence[DocumentRecord], seed: int) -> None:
        self.rng = random.Random(seed)
        self.base = base
        self.chunks = [chunk for record in base for chunk in record.chunks]
        self.sentences = [s for chunk in self.chunks for s in _SENTENCE.split(chunk.text) if s]
        self.heading_words = [w for chunk in self.chunks for h in chunk.section for w in words(h)]
        self.made_up = _Zipf(_made_up_words(40_000, self.rng))

    def document(self, number: int) -> DocumentRecord:
        rng = self.rng
        origin = self.base[number % len(self.base)]
        names = {name: self.made_up.draw(rng).capitalize() for name in NAMES}
        line = " ".join(self.made_up.draw(rng).capitalize() for _ in range(rng.choice((1, 2)))) + rng.choice(_LINES)
        chunks = []
        for ordinal in range(CHUNKS_PER_DOCUMENT):
            chunk = origin.chunks[(ordinal + number // len(self.base)) % len(origin.chunks)]
            section = tuple(self._heading(h, names) for h in chunk.section) or (self._heading("", names),)
            chunks.append(ChunkRecord(ordinal, section, self._text(chunk.text, names)))
        source = f"variants/{number:06d}-{origin.source.rsplit('.', 1)[0]}.md"
        return DocumentRecord(
            collection=origin.collection,
            source=source,
            title=f"{_rename(origin.title, names)}: {line}",
            content_hash=hashlib.sha256(f"{SEED}:{number}".encode()).hexdigest(),
            chunks=tuple(chunks),
            url=f"https://northwind.example/{source}",
        )

    def _heading(self, heading: str, names: dict[str, str]) -> str:
        """The heading with about a third of its meaningful words swapped, and at least one."""
        meaningful = set(words(heading))
        found = [m for m in _WORD.finditer(heading) if m.group().casefold() in meaningful]
        if not found:
            return f"{heading} {self.made_up.draw(self.rng)}".strip()
        swap = {m.start() for m in found if self.rng.random() < 0.35} or {self.rng.choice(found).start()}
        parts, last = [], 0
        for m in found:
            if m.start() in swap:
                other = self.rng.choice(self.heading_words) if self.rng.random() < 0.5 else self.made_up.draw(self.rng)
                parts += [heading[last : m.start()], other]
                last = m.end()
        return _rename("".join(parts) + heading[last:], names)

    def _text(self, text: str, names: dict[str, str]) -> str:
        rng = self.rng
        own = [s for s in _SENTENCE.split(text) if s]
        mixed = own + [rng.choice(self.sentences) for _ in range(rng.choice((1, 1, 2)))]
        rng.shuffle(mixed)
        body = _NUMBER.sub(lambda m: _another_number(m.group(), rng), " ".join(mixed))
        body = _WORD.sub(lambda m: self.made_up.draw(rng) if rng.random() < 0.03 else m.group(), body)
        return _rename(body, names)


def _rename(text: str, names: dict[str, str]) -> str:
    return _NAMES.sub(lambda m: names[m.group()], text)


def _another_number(number: str, rng: random.Random) -> str:
    value = float(number) * rng.uniform(0.5, 1.8)
    return f"{value:.2f}" if "." in number else str(max(1, round(value)))


def corpus(size: int, seed: int = SEED) -> list[DocumentRecord]:
    """The demo documents, then variants of them, `size` chunks in all (at least the demo's)."""
    base = demo_documents()
    records = list(base)
    have = sum(len(r.chunks) for r in records)
    variants = _Variants(base, seed)
    for number in itertools.count():
        if have >= size:
            break
        record = variants.document(number)
        if have + len(record.chunks) > size:
            record = DocumentRecord(
                record.collection, record.source, record.title, record.content_hash, record.chunks[: size - have], record.url
            )
        records.append(record)
        have += len(record.chunks)
    return records


def questions(count: int, paraphrased_share: float = 0.15, seed: int = SEED) -> list[Question]:
    """`count` questions: demo headings as written, and a share of them paraphrased."""
    rng = random.Random(seed)
    asked = [(key(r, c), c.section[-1]) for r in demo_documents() for c in r.chunks if c.section and words(c.section[-1])]
    picked = rng.sample(asked, count) if count <= len(asked) else [rng.choice(asked) for _ in range(count)]
    paraphrased = round(count * paraphrased_share)
    plain = [Question(heading, answer, False) for answer, heading in picked[: count - paraphrased]]
    return plain + [Question(_paraphrase(heading, rng), answer, True) for answer, heading in picked[count - paraphrased :]]


def _paraphrase(heading: str, rng: random.Random) -> str:
    text = _WORD.sub(lambda m: PARAPHRASES.get(m.group().casefold(), m.group()), heading.casefold()).rstrip("?")
    return f"{rng.choice(_OPENERS)}{text}{rng.choice(_CLOSERS)}"


def chunk_count(records: Sequence[DocumentRecord]) -> int:
    return sum(len(r.chunks) for r in records)


def chunks_of(records: Sequence[DocumentRecord]) -> Iterator[tuple[DocumentRecord, ChunkRecord]]:
    for record in records:
        for chunk in record.chunks:
            yield record, chunk
