"""Text to be spoken on a call: no URLs, lists or markup; ids, phone numbers and prices read well.

A text-to-speech engine reads "NW-10482" as "N W minus ten thousand…" and a URL letter by
letter, so they are written out the way a person would say them.
"""

from __future__ import annotations

import re

from personas.plain import EMOJI, TYPOGRAPHY, strip_markdown

DIGITS = "zero one two three four five six seven eight nine".split()
ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()

URL = re.compile(r"\b(?:https?://|www\.)[^\s<>()]+[^\s<>().,;:!?'\"]")
# An order or reference id: letters, an optional hyphen, digits (NW-10482, NW10482).
REFERENCE = re.compile(r"\b([A-Z]{1,4})-?(\d{3,})\b")
PHONE = re.compile(r"(?<![\w-])\d{1,4}(?:[-.]\d{2,4}){2,}(?![\w-])")
LONG_NUMBER = re.compile(r"\b\d{6,}\b")
PRICE = re.compile(r"\$(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{2}))?\b")
PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?%")
# A bullet (possibly empty), or a number with a dot or parenthesis and then words.
LIST_ITEM = re.compile(r"^\s*(?:[-*+\u2022]|\d+[.)](?=\s))(?:\s+(.*))?$")
MARKUP_LEFT = re.compile(r"[*_`#~|<>]")
ENDS_SENTENCE = re.compile(r"[.!?:]$")
WORDS = {"&": " and ", "e.g.": "for example", "i.e.": "that is", "approx.": "about", "w/": "with "}


def number_words(n: int) -> str:
    """0 to 999,999,999 in words, American style ("one hundred forty-nine")."""
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return TENS[tens] + (f"-{ONES[ones]}" if ones else "")
    for size, name in ((1_000_000, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            high, rest = divmod(n, size)
            head = f"{number_words(high)} {name}"
            return head if rest == 0 else f"{head} {number_words(rest)}"
    raise AssertionError("unreachable")


def spell_digits(digits: str) -> str:
    return " ".join(DIGITS[int(d)] for d in digits if d.isdigit())


def _price(match: re.Match[str]) -> str:
    dollars = int(match.group(1).replace(",", ""))
    cents = int(match.group(2) or 0)
    spoken = f"{number_words(dollars)} dollar{'s' if dollars != 1 else ''}"
    if cents:
        spoken += f" and {number_words(cents)} cent{'s' if cents != 1 else ''}"
    return spoken


def _reference(match: re.Match[str]) -> str:
    return f"{' '.join(match.group(1))}, {spell_digits(match.group(2))}"


def _phone(match: re.Match[str]) -> str:
    return ", ".join(spell_digits(group) for group in re.split(r"[-.]", match.group(0)))


def _sentences_from_lists(text: str) -> str:
    """List items become sentences of their own; other lines are joined into one.

    Only text of several lines has list items: the result is one line, which renders again unchanged.
    """
    lines = text.splitlines()
    if len(lines) < 2:
        return text.strip()
    out = []
    for line in lines:
        item = LIST_ITEM.match(line)
        line = ((item.group(1) or "") if item else line).strip()
        if not line:
            continue
        if item and not ENDS_SENTENCE.search(line):
            line += "."
        out.append(line)
    return " ".join(out)


def to_speech(text: str) -> str:
    """An answer as a caller should hear it."""
    text = strip_markdown(text, link="{text}").translate(TYPOGRAPHY)
    text = EMOJI.sub("", text)
    text = URL.sub("our website", text)
    text = re.sub(r"#(?=\d)", "number ", text)
    text = MARKUP_LEFT.sub("", text)  # stray markup a speech engine would read out as "asterisk"
    text = _sentences_from_lists(text)
    text = PRICE.sub(_price, text)
    text = PERCENT.sub(lambda m: f"{m.group(1)} percent", text)
    text = REFERENCE.sub(_reference, text)
    text = PHONE.sub(_phone, text)
    text = LONG_NUMBER.sub(lambda m: spell_digits(m.group(0)), text)
    for written, spoken in WORDS.items():
        text = text.replace(written, spoken)
    return re.sub(r"\s+", " ", text).strip()


# A sentence ends at . ! or ? followed by a space or a line break (not "NW-10482.5" or "$1.50").
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")


def complete_sentences(text: str) -> tuple[str, str]:
    """Split streamed text into the whole sentences so far and the unfinished rest."""
    last = None
    for last in SENTENCE_END.finditer(text):
        pass
    if last is None:
        return "", text
    return text[: last.end()], text[last.end() :]
