"""BERT's uncased WordPiece tokenizer in plain Python, so decisions need no tokenizer library.

It follows BERT's BasicTokenizer (lower case, accents stripped, punctuation and CJK characters
split off) and then the greedy longest-match-first WordPiece split.
"""

from __future__ import annotations

import unicodedata

UNKNOWN_TOKEN = "[UNK]"
_MAX_WORD_CHARS = 100


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2CEAF or 0xF900 <= code <= 0xFAFF or 0x2F800 <= code <= 0x2FA1F
    )


def basic_words(text: str) -> list[str]:
    """Lower-cased words with accents stripped, each punctuation mark and CJK character its own word."""
    text = unicodedata.normalize("NFD", text.lower())
    words: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            words.append("".join(current))
            current.clear()

    for char in text:
        code = ord(char)
        category = unicodedata.category(char)
        if category == "Mn" or code == 0 or code == 0xFFFD or (category.startswith("C") and char not in "\t\n\r"):
            continue
        if char.isspace():
            flush()
        elif _is_punctuation(char) or _is_cjk(code):
            flush()
            words.append(char)
        else:
            current.append(char)
    flush()
    return words


class WordPiece:
    def __init__(self, vocabulary: list[str]) -> None:
        self.index = {token: i for i, token in enumerate(vocabulary)}
        self.unknown = self.index.get(UNKNOWN_TOKEN, 0)

    def pieces(self, word: str) -> list[int]:
        """The word's token ids, longest known prefix first; [UNK] if it cannot be spelled."""
        if len(word) > _MAX_WORD_CHARS:
            return [self.unknown]
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.index.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return [self.unknown]
            ids.append(found)
            start = end
        return ids
