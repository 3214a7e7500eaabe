"""A model's long answer reaches Slack whole, as several messages, never cut to one message's size."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.channels.slack.conftest import SlackRig, rig_with_model
from tests.conftest import SettingsFactory
from tests.support.fake_openai import FakeOpenAI
from tests.support.fake_slack import FakeSlack, dm


@pytest.fixture
async def model_rig(slack_env: None, api: FakeSlack, openai: FakeOpenAI, make_settings: SettingsFactory) -> AsyncIterator[SlackRig]:
    # The fake model echoes the customer's message, so a long message gets a long answer.
    async with rig_with_model(api, openai, make_settings, "echo", limits={"max_text_chars": 12_000}) as rig:
        yield rig


def paragraph(i: int) -> str:
    return f"Part {i} of the packing list. " + " ".join(f"Item {i}.{j} goes in the top pocket of the pack." for j in range(12))


async def test_a_long_model_answer_arrives_whole_in_several_messages(model_rig: SlackRig, openai: FakeOpenAI) -> None:
    rig = model_rig
    question = "\n\n".join(paragraph(i) for i in range(18))
    answer = f"echo: {question}"
    assert len(answer) > 3 * 3000  # longer than three Slack messages hold

    assert (await rig.post_event(dm(question, ts="1700006000.000100"))).status == 200
    await rig.api.wait_for("chat.postMessage", 4)
    posts = rig.api.posts
    assert openai.requests, "the answer came from the model"
    assert all(len(p.params["text"]) <= 3000 for p in posts)
    assert {p.params["channel"] for p in posts} == {"D0DM00001"}
    # Cut only between paragraphs: joined again, the pieces are the model's answer, all of it.
    assert "\n\n".join(p.params["text"] for p in posts) == answer
    [_customer, bot] = await rig.messages()
    assert bot.role == "bot" and bot.text == answer
