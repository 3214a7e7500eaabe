"""SMS segments: how Twilio and the carriers count and split a message, and splitting ours to a budget.

A message is GSM-7 when every character is in the GSM 03.38 alphabet or its extension table
(extension characters take two septets: an escape and the character). One character outside it
makes the whole message UCS-2, counted in UTF-16 code units (an emoji outside the BMP takes two).
A single segment holds 160 septets or 70 units; a longer message is sent as concatenated parts
of 153 septets or 67 units, because each part carries a 6-byte header, and a part never ends in
the middle of an escape or a surrogate pair.
"""

from __future__ import annotations

import enum
import re

# GSM 03.38 basic alphabet (without ESC, which is the extension table's escape).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


class Encoding(str, enum.Enum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


# (units in a single-segment message, units per part of a concatenated one)
LIMITS = {Encoding.GSM7: (160, 153), Encoding.UCS2: (70, 67)}

SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")
SPACE = re.compile(r"\s+")


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def encoding(text: str) -> Encoding:
    return Encoding.GSM7 if is_gsm7(text) else Encoding.UCS2


def char_units(ch: str, enc: Encoding) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) one character takes."""
    if enc is Encoding.GSM7:
        return 2 if ch in GSM7_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def length(text: str, enc: Encoding | None = None) -> int:
    """The message's length in its encoding's units."""
    enc = enc or encoding(text)
    return sum(char_units(ch, enc) for ch in text)


def segment_count(text: str) -> int:
    """How many segments Twilio bills for `text` sent as one message (0 for an empty one)."""
    if not text:
        return 0
    enc = encoding(text)
    single, part = LIMITS[enc]
    if length(text, enc) <= single:
        return 1
    # Fill parts greedily; a character that does not fit whole starts the next part.
    count, used = 1, 0
    for ch in text:
        units = char_units(ch, enc)
        if used + units > part:
            count, used = count + 1, 0
        used += units
    return count


def fits(text: str, max_segments: int) -> bool:
    return segment_count(text) <= max_segments


def _longest_fitting_prefix(text: str, max_segments: int) -> int:
    """The most characters of `text` that fit; a prefix of a fitting text fits too, so bisect."""
    low, high = 1, len(text)  # one character always fits in one segment
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[:middle], max_segments):
            low = middle
        else:
            high = middle - 1
    return low


def _cut(text: str, max_segments: int) -> int:
    """Where to end the next message: the last sentence end that fits, else the last space, else hard."""
    limit = _longest_fitting_prefix(text, max_segments)
    window = text[: limit + 1]  # a boundary right after the last fitting character still counts
    sentence_ends = [m.start() for m in SENTENCE_END.finditer(window) if 0 < m.start() <= limit]
    if sentence_ends:
        return sentence_ends[-1]
    spaces = [m.start() for m in SPACE.finditer(window) if 0 < m.start() <= limit]
    if spaces:
        return spaces[-1]
    return limit  # one word longer than a whole message


def split_message(text: str, max_segments: int = 1) -> list[str]:
    """`text` as messages of at most `max_segments` segments each, split at sentence ends if it must be.

    Each message is measured on its own, as it will be sent: a part without the one emoji of
    the answer goes out as GSM-7 again. Whitespace at the cuts is dropped; nothing else is.
    """
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    rest = text.strip()
    parts: list[str] = []
    while rest:
        if fits(rest, max_segments):
            parts.append(rest)
            break
        cut = _cut(rest, max_segments)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return parts
