"""SlackOutbound against the fake Slack API: long messages in pieces, failures as outbox decisions."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from agent.contracts import DeliveryError, MessageView, OutboundMessage, Role, utcnow
from channels.slack import SlackOutbound, StaticToken
from tests.support.fake_slack import BOT_TOKEN, FakeSlack


def outbound(api: FakeSlack, limit: int = 300) -> SlackOutbound:
    return SlackOutbound(AsyncWebClient(base_url=api.base_url, retry_handlers=[]), StaticToken(BOT_TOKEN), limit)


def message(text: str, key: str = "T0TEAM001:C0GENERAL:1700000000.000100", role: Role = Role.BOT, author: str | None = None) -> OutboundMessage:
    view = MessageView(id=7, role=role, text=text, created_at=utcnow(), author=author)
    return OutboundMessage(outbox_id=1, conversation_id="c" * 32, channel="slack", conversation_key=key,
                           channel_user_id="U0CUSTOMER", message=view, attempt=1)


LONG = "\n\n".join(f"Paragraph {i}. " + "Some words about tents and boots. " * 6 for i in range(4))


async def test_a_long_message_goes_as_pieces_in_order_in_the_thread(api: FakeSlack) -> None:
    first_ts = await outbound(api).send(message(LONG))
    pieces = [c.params["text"] for c in api.posts]
    assert len(pieces) == 4 and all(len(p) <= 300 for p in pieces)
    assert [p.split(".")[0] for p in pieces] == [f"Paragraph {i}" for i in range(4)]
    assert {c.params["thread_ts"] for c in api.posts} == {"1700000000.000100"}
    assert first_ts == api.posts[0].ts


async def test_a_retry_after_a_failure_halfway_posts_only_the_rest(api: FakeSlack) -> None:
    sender = outbound(api)
    api.faults = ["pass", "pass", "429:2"]  # two pieces go, the third is rate limited
    with pytest.raises(DeliveryError) as failed:
        await sender.send(message(LONG))
    assert failed.value.retry_after == 2.0 and not failed.value.permanent
    assert len(api.posts) == 2
    await sender.send(message(LONG))  # the outbox's next attempt at the same row
    assert [c.params["text"].split(".")[0] for c in api.posts] == [f"Paragraph {i}" for i in range(4)]


async def test_failures_become_outbox_decisions(api: FakeSlack) -> None:
    sender = outbound(api)
    api.faults = ["channel_not_found"]
    with pytest.raises(DeliveryError) as permanent:
        await sender.send(message("hi"))
    assert permanent.value.permanent and permanent.value.reason == "channel_not_found"

    api.down = True
    with pytest.raises(DeliveryError) as outage:
        await sender.send(message("hi"))
    assert not outage.value.permanent and outage.value.retry_after is None

    api.down = False
    with pytest.raises(DeliveryError) as bad_key:
        await sender.send(message("hi", key="nonsense"))
    assert bad_key.value.permanent


async def test_a_staff_reply_carries_its_authors_name_and_text_is_escaped(api: FakeSlack) -> None:
    await outbound(api).send(message("Use <!channel> **now** & then", key="T0TEAM001:D0DM00001", role=Role.STAFF, author="Alice Ng"))
    [post] = api.posts
    assert post.params["text"] == "*Alice Ng:* Use &lt;!channel&gt; *now* &amp; then"
    assert post.params.get("thread_ts") is None and post.params["channel"] == "D0DM00001"
