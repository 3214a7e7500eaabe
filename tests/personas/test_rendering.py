"""Rendering answers for SMS (plain, GSM-friendly) and for speech (no URLs, lists, markup)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from channels.twilio.sms.segments import Encoding, encoding
from personas import fit_to_channel, load_persona, system_prompt, to_plain_text, to_speech
from personas.speech import number_words

MARKDOWN_ANSWER = """**Good news:** your order **NW-10482** shipped on Nov 3 — it's with UPS.
- Track it: [ups.com](https://www.ups.com/track?num=1Z999AA10123456784)
- Questions? Call 1-800-555-0142 😊
The Ridgeline boot is $149.99 and tents are 20% off."""


def test_sms_answers_are_plain_and_stay_gsm7() -> None:
    text = to_plain_text(MARKDOWN_ANSWER)
    assert "**" not in text and "[" not in text and "😊" not in text
    assert "ups.com: https://www.ups.com/track?num=1Z999AA10123456784" in text
    assert "shipped on Nov 3 - it's with UPS" in text
    assert encoding(text) is Encoding.GSM7  # the dash and the emoji would have made it UCS-2
    assert to_plain_text("Déjà vu, 東京") == "Déjà vu, 東京"  # other scripts are left alone


def test_speech_has_no_urls_lists_or_markup_and_reads_ids_and_prices() -> None:
    spoken = to_speech(MARKDOWN_ANSWER)
    assert not re.search(r"https?://|www\.|\*\*|\[|^\s*-", spoken, re.MULTILINE)
    assert "\n" not in spoken
    assert "order N W, one zero four eight two shipped" in spoken
    assert "one, eight zero zero, five five five, zero one four two" in spoken
    assert "one hundred forty-nine dollars and ninety-nine cents" in spoken
    assert "20 percent off" in spoken
    assert "Track it: ups.com." in spoken  # a link keeps its words, a list item becomes a sentence


def test_a_bare_url_is_not_read_out() -> None:
    assert to_speech("See https://northwind.example/returns for details.") == "See our website for details."


def test_number_words() -> None:
    assert [number_words(n) for n in (0, 7, 15, 40, 42, 100, 149, 1000, 1205, 250000)] == [
        "zero", "seven", "fifteen", "forty", "forty-two", "one hundred", "one hundred forty-nine",
        "one thousand", "one thousand two hundred five", "two hundred fifty thousand",
    ]


@given(st.text(max_size=400))
def test_speech_never_keeps_a_url_or_a_newline(text: str) -> None:
    spoken = to_speech(text)
    assert "\n" not in spoken and "http://" not in spoken and "https://" not in spoken
    assert to_speech(spoken) == spoken  # rendering twice changes nothing more


def test_the_channel_rendering_runs_before_the_length_budget() -> None:
    persona = load_persona("demo")
    sms = fit_to_channel(persona, "sms", MARKDOWN_ANSWER)
    voice = fit_to_channel(persona, "voice", MARKDOWN_ANSWER)
    assert "**" not in sms and encoding(sms) is Encoding.GSM7
    assert "https://" not in voice and "N W, one zero four eight two" in voice
    assert fit_to_channel(persona, "web", MARKDOWN_ANSWER) == MARKDOWN_ANSWER  # web keeps its markdown
    long = "word " * 200
    assert fit_to_channel(persona, "sms", long).endswith("...")  # not "…", which is outside GSM-7


def test_a_channel_that_splits_long_answers_keeps_them_whole() -> None:
    persona = load_persona("demo")
    limit = persona.channels["slack"].max_chars
    assert limit is not None
    long = "\n\n".join(f"Paragraph {i}. " + "Tents, boots and packs. " * 20 for i in range(16)).strip()
    assert len(long) > 2 * limit
    assert fit_to_channel(persona, "slack", long, splits_long_answers=True) == long  # Slack sends it as several messages
    assert len(fit_to_channel(persona, "slack", long)) <= limit  # the same style, but a channel that cannot split
    assert f"under {limit} characters" in system_prompt(persona, "support", "slack")  # still the model's guide
    assert len(fit_to_channel(persona, "web", long)) <= persona.channels["web"].max_chars  # type: ignore[operator]
