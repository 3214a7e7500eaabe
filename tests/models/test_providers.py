"""Each provider against the fake server's copy of its wire format, over real HTTP."""

from __future__ import annotations

import pytest

from agent.models import ChatMessage, ChatModel, ChatRequest, ChatResult, ModelError, Outcome, TextDelta, Tool
from agent.models.providers.http import retry_after
from tests.models.conftest import MakeModel
from tests.support.fake_providers import FakeProviders

PROVIDERS = ["openai", "anthropic", "gemini"]
REQUEST = ChatRequest(
    [ChatMessage("system", "You are Sam."), ChatMessage("user", "hi"), ChatMessage("assistant", "hello"), ChatMessage("user", "where is my tent")],
    tools=(Tool("lookup_order", "Look up an order", {"type": "object", "properties": {"number": {"type": "string"}}}),),
)


async def streamed(model: ChatModel, request: ChatRequest = REQUEST) -> tuple[list[str], ChatResult]:
    deltas: list[str] = []
    final = None
    async for event in model.stream(request):
        if isinstance(event, TextDelta):
            deltas.append(event.text)
        else:
            final = event
    assert final is not None
    return deltas, final


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_answer_with_its_usage(make_model: MakeModel, fake: FakeProviders, provider: str) -> None:
    result = await make_model("ok+cached-3+reasoning-2", provider).complete(REQUEST)
    assert result.text == "echo: where is my tent"
    assert result.finish_reason == "stop"
    # 9 prompt words, 3 of them reported as cached; input counts the whole prompt everywhere
    assert (result.input_tokens, result.cached_tokens) == (12, 3)
    assert result.output_tokens == 7
    assert result.reasoning_tokens == (0 if provider == "anthropic" else 2)
    assert result.ttft_ms is not None and 0 < result.ttft_ms <= result.latency_ms
    sent = fake.requests[-1]
    if provider == "openai":
        assert sent["authorization"] == "Bearer sk-test"
        assert sent["body"]["messages"][0] == {"role": "system", "content": "You are Sam."}
    elif provider == "anthropic":
        assert sent["headers"]["x-api-key"] == "sk-test" and sent["headers"]["anthropic-version"]
        assert sent["body"]["system"] == "You are Sam." and sent["body"]["messages"][0] == {"role": "user", "content": "hi"}
    else:
        assert sent["headers"]["x-goog-api-key"] == "sk-test" and sent["path"].endswith(":generateContent")
        assert sent["body"]["contents"][1] == {"role": "model", "parts": [{"text": "hello"}]}


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_streamed_answer_arrives_in_pieces_then_whole(make_model: MakeModel, provider: str) -> None:
    deltas, result = await streamed(make_model("ok+cached-3", provider))
    assert len(deltas) == 5 and "".join(deltas) == result.text == "echo: where is my tent"
    assert (result.input_tokens, result.cached_tokens, result.output_tokens) == (12, 3, 5)
    assert result.ttft_ms is not None and result.ttft_ms <= result.latency_ms


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("stream", [False, True])
async def test_tool_calls(make_model: MakeModel, fake: FakeProviders, provider: str, stream: bool) -> None:
    model = make_model("tool", provider)
    result = (await streamed(model))[1] if stream else await model.complete(REQUEST)
    assert result.finish_reason == "tool_calls"
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("lookup_order", '{"number": "NW-10482"}')]
    tools = fake.requests[-1]["body"]["tools"]
    assert "lookup_order" in str(tools) and "properties" in str(tools)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("behaviour", "outcome"),
    [
        ("error-500", Outcome.SERVER_ERROR),
        ("error-503", Outcome.SERVER_ERROR),
        ("error-401", Outcome.CLIENT_ERROR),
        ("error-429+retry-after-3", Outcome.RATE_LIMITED),
        ("context", Outcome.CONTEXT_OVERFLOW),
        ("policy", Outcome.CONTENT_POLICY),
        ("garbage", Outcome.BAD_RESPONSE),
        ("truncate", Outcome.BAD_RESPONSE),
        ("drop", Outcome.CONNECTION_ERROR),
        ("first-token-1", Outcome.TIMEOUT),
    ],
)
async def test_failures_are_classified(make_model: MakeModel, provider: str, stream: bool, behaviour: str, outcome: Outcome) -> None:
    model = make_model(behaviour, provider, first_token_s=0.3)
    with pytest.raises(ModelError) as error:
        if stream:
            await streamed(model)
        else:
            await model.complete(REQUEST)
    assert error.value.outcome is outcome, str(error.value)
    if behaviour.startswith("error-429"):
        assert error.value.retry_after == 3.0


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_stream_slower_than_its_total_times_out_midway(make_model: MakeModel, provider: str) -> None:
    # Anthropic's first text comes after three other events (start, ping, block start).
    model = make_model("chunk-delay-0.2", provider, total_s=0.7, first_token_s=0.65)
    seen: list[str] = []
    with pytest.raises(ModelError) as error:
        async for event in model.stream(REQUEST):
            if isinstance(event, TextDelta):
                seen.append(event.text)
    assert error.value.outcome is Outcome.TIMEOUT and "complete" in str(error.value)
    assert 0 < len(seen) < 5  # it had started: the first token came in time


async def test_anthropic_529_overloaded_is_a_server_error(make_model: MakeModel) -> None:
    with pytest.raises(ModelError) as error:
        await make_model("error-529", "anthropic").complete(REQUEST)
    assert error.value.outcome is Outcome.SERVER_ERROR


async def test_an_unreachable_host_is_a_connection_error(pool) -> None:  # type: ignore[no-untyped-def]
    from agent.models.providers import ModelSpec, http_registry

    model = http_registry(pool).build(ModelSpec("gone", "anthropic", "claude", base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(ModelError) as error:
        await model.complete(REQUEST)
    assert error.value.outcome is Outcome.CONNECTION_ERROR


def test_retry_after_in_its_forms() -> None:
    assert retry_after({"retry-after": "7"}) == 7.0
    assert retry_after({"retry-after-ms": "250"}) == 0.25
    assert 100 < (retry_after({"retry-after": "Wed, 21 Oct 2099 07:28:00 GMT"}) or 0)
    assert retry_after({}, '{"error": {"details": [{"retryDelay": "12s"}]}}') == 12.0
    assert retry_after({}) is None


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_a_whole_stream_without_its_end_marker_is_accepted(make_model: MakeModel, provider: str) -> None:
    # Some compatible servers stop after the finish reason; a cut-off stream has none (truncate).
    deltas, result = await streamed(make_model("no-marker", provider))
    assert "".join(deltas) == result.text == "echo: where is my tent"
