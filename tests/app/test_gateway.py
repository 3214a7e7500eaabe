"""The gateway inside the running server: configured providers and strategies, what each
attempt stores, the metrics endpoint, and configurations that must not start."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agent.app.server import create_app
from agent.settings import ConfigError, load_settings
from agent.store import Database, ConversationStore
from tests.conftest import SettingsFactory
from tests.support.client import new_visitor
from tests.support.fake_providers import FakeProviders, fake_providers
from tests.support.server import running_server

ROUTES = ("support", "sales", "lookup")

METRICS_TOKEN = "metrics-s3cret"
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviders]:
    async with fake_providers() as server:
        yield server


async def calls_of(settings: Any, conversation_id: str) -> list[Any]:
    store = ConversationStore(Database(settings.database_url))
    try:
        return await store.model_calls(conversation_id)
    finally:
        await store.close()


async def test_every_attempt_is_stored_with_its_details_and_a_table_price(make_settings: SettingsFactory, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_ANTHROPIC_KEY", "sk-ant-test")
    monkeypatch.setenv("SWITCHBOARD_METRICS_TOKEN", METRICS_TOKEN)
    settings = make_settings(
        models={
            "gemini": {"provider": "gemini", "base_url": fake.gemini_url, "model": "error-429+retry-after-0.05", "retries": {"retries": 1}},
            "claude": {"provider": "anthropic", "base_url": fake.anthropic_url, "model": "ok+cached-40", "api_key_env": "FAKE_ANTHROPIC_KEY",
                       "price_as": "claude-3-5-haiku-latest", "first_token_timeout_s": 2},
            "local": {"provider": "local"},
        },
        routes={r: {"chain": ["gemini", "claude", "local"]} for r in ROUTES},
    )  # fmt: skip
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        body = await visitor.send("what is your return policy")
        assert body["reply"]["model"] == "claude" and body["reply"]["text"].startswith("echo: what is your return policy")
        calls = await calls_of(settings, visitor.conversation_id)
        assert [(c.model, c.outcome, c.error_class, c.retry) for c in calls] == [
            ("gemini", "rate_limited", "rate_limited", 0),
            ("gemini", "rate_limited", "rate_limited", 1),
            ("claude", "ok", None, 0),
        ]
        claude = calls[-1]
        assert claude.provider == "anthropic" and claude.cached_tokens == 40 and claude.input_tokens > 40
        assert claude.ttft_ms is not None and 0 < claude.ttft_ms <= claude.latency_ms
        # claude-3-5-haiku from the genai-prices table: $0.80/M input, $0.08/M cache read, $4/M output
        fresh = claude.input_tokens - 40
        assert claude.cost_usd == pytest.approx((fresh * 0.8 + 40 * 0.08 + claude.output_tokens * 4) / 1e6)
        assert claude.deployment == fake.anthropic_url
        assert fake.requests[-1]["headers"]["x-api-key"] == "sk-ant-test"

        async with session.get(f"{base_url}/api/metrics/models", headers=METRICS_AUTH) as response:
            assert response.status == 200
            metrics = await response.json()
        gemini = metrics["models"]["gemini"]
        assert gemini["outcomes"] == {"rate_limited": 2} and gemini["deployments"][0]["breaker"] == "closed"
        assert metrics["models"]["claude"]["tokens"]["cached"] == 40 and metrics["models"]["claude"]["cost_usd"] > 0
        assert metrics["models"]["local"]["calls"] == 0
        assert metrics["routes"]["sales"] == {"strategy": "chain", "cache": None}


async def test_a_cascade_route_and_its_cache(
    make_settings: SettingsFactory, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWITCHBOARD_METRICS_TOKEN", METRICS_TOKEN)
    def model(name: str) -> dict[str, Any]:
        return {"provider": "openai", "base_url": fake.openai_url, "model": name, "price": {"input_per_mtok": 1, "output_per_mtok": 2}}

    settings = make_settings(
        models={"cheap": model("reply-I'm_not_sure,_sorry."), "strong": model("reply-It_is_waterproof_to_3000mm."), "local": {"provider": "local"}},
        routes={
            "support": {"chain": ["local"], "personal": True},
            "lookup": {"chain": ["local"], "personal": True},
            "sales": {"chain": ["cheap", "strong", "local"], "strategy": "cascade", "cache": {"enabled": True, "ttl_s": 60}},
        },
    )
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
        first, second = await new_visitor(session, base_url), await new_visitor(session, base_url)
        question = "how much is the Ridgeline boot"
        assert (await first.send(question))["reply"]["text"] == "It is waterproof to 3000mm."
        assert (await second.send(question))["reply"]["text"] == "It is waterproof to 3000mm."
        first_calls = await calls_of(settings, first.conversation_id)
        assert [(c.model, c.outcome, c.error_class) for c in first_calls] == [("cheap", "rejected", "dont_know"), ("strong", "ok", None)]
        assert first_calls[0].cost_usd > 0  # a rejected answer was still paid for
        second_calls = await calls_of(settings, second.conversation_id)
        assert [(c.model, c.provider, c.cost_usd) for c in second_calls] == [("strong", "cache", 0.0)]
        assert fake.calls["reply-It_is_waterproof_to_3000mm."] == 1
        async with session.get(f"{base_url}/api/metrics/models", headers=METRICS_AUTH) as response:
            metrics = await response.json()
        assert metrics["routes"]["sales"]["cache"]["hits"] == 1
        assert metrics["models"]["cheap"]["rejections"] == {"dont_know": 1}


async def timed_turn(settings: Any, limit_s: float) -> tuple[dict[str, Any], list[Any]]:
    """One order question through the running server, answered within `limit_s`; the reply and its calls."""
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        started = time.perf_counter()
        body = await visitor.send("where is my order NW-10482")
        assert time.perf_counter() - started < limit_s
        return body, await calls_of(settings, visitor.conversation_id)


@pytest.mark.parametrize("fault", ["hang", "first-token-30", "chunk-delay-5+reply-a_long_slow_answer", "drop", "garbage"])
async def test_a_provider_that_hangs_or_breaks_still_leaves_an_answer_within_the_deadline(make_settings: SettingsFactory, fake: FakeProviders, fault: str) -> None:
    settings = make_settings(
        models={"bad": {"provider": "openai", "base_url": fake.openai_url, "model": fault, "timeout_s": 60}, "local": {"provider": "local"}},
        routes={r: {"chain": ["bad", "local"]} for r in ROUTES},
        turn_timeout_s=1.0,
    )
    body, calls = await timed_turn(settings, 1.5)
    assert body["reply"]["model"] == "local" and "NW-10482" in body["reply"]["text"] and not body["reply"]["escalated"]
    assert calls[0].model == "bad" and calls[0].outcome in ("timeout", "connection_error", "bad_response")
    assert calls[-1].model == "local" and calls[-1].outcome == "ok"


async def test_a_hanging_cheap_model_in_a_cascade_still_leaves_the_local_model_time(make_settings: SettingsFactory, fake: FakeProviders) -> None:
    settings = make_settings(
        models={"cheap": {"provider": "openai", "base_url": fake.openai_url, "model": "hang", "timeout_s": 60}, "local": {"provider": "local"}},
        routes={r: {"chain": ["cheap", "local"], "strategy": "cascade"} for r in ROUTES},
        turn_timeout_s=1.0,
    )
    body, calls = await timed_turn(settings, 1.4)
    assert body["reply"]["model"] == "local" and "NW-10482" in body["reply"]["text"] and not body["reply"]["escalated"]
    assert [(c.model, c.outcome) for c in calls] == [("cheap", "timeout"), ("local", "ok")]
    assert sum(c.latency_ms for c in calls) < 1000  # both inside the route's deadline


async def test_a_hanging_parallel_candidate_still_leaves_the_judge_time(make_settings: SettingsFactory, fake: FakeProviders) -> None:
    def model(name: str) -> dict[str, Any]:
        return {"provider": "openai", "base_url": fake.openai_url, "model": name, "timeout_s": 60}

    settings = make_settings(
        models={"stuck": model("hang"), "other": model("reply-Your_order_is_on_its_way."), "judge": model("reply-2"), "local": {"provider": "local"}},
        routes={r: {"chain": ["stuck", "local", "other"], "strategy": "parallel", "judge": "judge"} for r in ROUTES},
        turn_timeout_s=1.0,
    )
    body, attempts = await timed_turn(settings, 1.4)
    assert body["reply"]["model"] == "other" and body["reply"]["text"] == "Your order is on its way."  # the judge's pick
    calls = {c.model: c for c in attempts}
    assert {name: c.outcome for name, c in calls.items()} == {"stuck": "timeout", "local": "ok", "other": "ok", "judge": "ok"}
    assert calls["stuck"].latency_ms + calls["judge"].latency_ms < 1000  # the judge answered inside the route's deadline


async def test_the_local_model_is_priced_at_nothing(make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_METRICS_TOKEN", METRICS_TOKEN)
    settings = make_settings(models={"local": {"provider": "local"}}, routes={r: {"chain": ["local"]} for r in ROUTES})
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        assert (await visitor.send("where is my order NW-10482"))["reply"]["model"] == "local"
        async with session.get(f"{base_url}/api/metrics/models", headers=METRICS_AUTH) as response:
            local = (await response.json())["models"]["local"]
        assert (local["calls"], local["cost_usd"], local["unpriced_calls"]) == (1, 0.0, 0)


async def test_a_self_hosted_model_is_unpriced_not_priced_as_the_cloud_one(make_settings: SettingsFactory, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_METRICS_TOKEN", METRICS_TOKEN)
    settings = make_settings(
        models={"r1": {"provider": "openai", "base_url": fake.openai_url, "model": "deepseek-r1"}, "local": {"provider": "local"}},
        routes={r: {"chain": ["r1", "local"]} for r in ROUTES},
    )
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        assert (await visitor.send("where is my order NW-10482"))["reply"]["model"] == "r1"
        async with session.get(f"{base_url}/api/metrics/models", headers=METRICS_AUTH) as response:
            r1 = (await response.json())["models"]["r1"]
        assert (r1["calls"], r1["cost_usd"], r1["unpriced_calls"]) == (1, 0.0, 1)
    # Stored as an unknown cost, not as a free call.
    [call] = await calls_of(settings, visitor.conversation_id)
    assert (call.model, call.cost_usd, call.input_tokens > 0) == ("r1", None, True)


async def test_rate_limits_and_deployments_from_the_config(make_settings: SettingsFactory, fake: FakeProviders) -> None:
    down = "http://127.0.0.1:9/v1"
    settings = make_settings(
        models={
            "limited": {"provider": "openai", "base_url": fake.openai_url, "model": "reply-limited", "rate_limit": {"rpm": 1, "queue_wait_s": 0}},
            "spread": {"provider": "openai", "model": "ok", "retries": {"retries": 1, "backoff_s": 0.01, "on": ["connection_error"]},
                       "deployments": [{"base_url": down, "weight": 1}, {"base_url": fake.openai_url, "weight": 1}]},
            "local": {"provider": "local"},
        },
        routes={"support": {"chain": ["limited", "local"]}, "sales": {"chain": ["spread", "local"]}, "lookup": {"chain": ["spread", "local"]}},
    )  # fmt: skip
    async with running_server(settings) as (base_url, _app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        assert (await visitor.send("my jacket zipper broke"))["reply"]["model"] == "limited"
        assert (await visitor.send("my tent pole snapped too"))["reply"]["model"] == "local"  # one a minute
        calls = await calls_of(settings, visitor.conversation_id)
        assert [(c.model, c.outcome) for c in calls] == [("limited", "ok"), ("limited", "throttled"), ("local", "ok")]

        shopper = await new_visitor(session, base_url)
        for question in ["how much is the ridgeline boot", "any deals on right now", "do you sell tents", "what colours does the boot come in"]:
            assert (await shopper.send(question))["reply"]["model"] == "spread"  # a down deployment is retried on the other
        calls = await calls_of(settings, shopper.conversation_id)
        assert {c.deployment for c in calls if c.outcome == "ok"} == {f"1:{fake.openai_url}"}
        assert all(c.deployment == f"0:{down}" and c.outcome == "connection_error" for c in calls if c.outcome != "ok")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


ALL_LOCAL = "routes:\n  support: {chain: [local]}\n  sales: {chain: [local]}\n  lookup: {chain: [local]}\n"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("models:\n  x: {provider: martian, base_url: 'http://x'}\n", "models.x.provider"),
        ("models:\n  x: {provider: anthropic, connect_timeout_s: -1}\n", "models.x.connect_timeout_s"),
        ("models:\n  x: {provider: gemini, first_token_timeout_s: 0}\n", "models.x.first_token_timeout_s"),
        ("models:\n  x: {provider: gemini, retries: {retries: -1}}\n", "models.x.retries.retries"),
        ("models:\n  x: {provider: gemini, rate_limit: {rpm: 0}}\n", "models.x.rate_limit.rpm"),
        ("models:\n  x: {provider: gemini, deployments: [{weight: -2}]}\n", "models.x.deployments.0.weight"),
        ("models:\n  x: {provider: gemini, breaker: {failures: 0}}\n", "models.x.breaker.failures"),
        ("routes:\n  support: {chain: [local], strategy: roulette}\n  sales: {chain: [local]}\n  lookup: {chain: [local]}\n", "routes.support.strategy"),
        ("routes:\n  support: {chain: [local], strategy: parallel, judge: nobody}\n  sales: {chain: [local]}\n  lookup: {chain: [local]}\n", "routes.support.judge"),
        ("routes:\n  support: {chain: [local], personal: true, cache: {enabled: true}}\n  sales: {chain: [local]}\n  lookup: {chain: [local]}\n", "routes.support.cache"),
        ("routes:\n  support: {chain: [local, gpt]}\n  sales: {chain: [local]}\n  lookup: {chain: [local]}\n", "routes.support.chain.1"),
    ],
)
def test_an_invalid_model_config_names_the_key(tmp_path: Path, text: str, names: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text))
    assert names in str(error.value)


@pytest.mark.parametrize("where", ["model", "deployment"])
def test_a_missing_key_variable_stops_start_up_naming_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    monkeypatch.setenv("PRESENT_KEY_VAR", "x")
    if where == "model":
        model = "{provider: anthropic, api_key_env: NO_SUCH_KEY_VAR}"
        names = "models.claude.api_key_env: environment variable NO_SUCH_KEY_VAR is not set"
    else:
        model = "{provider: anthropic, api_key_env: PRESENT_KEY_VAR, deployments: [{}, {api_key_env: NO_SUCH_KEY_VAR}]}"
        names = "models.claude.deployments.1.api_key_env"
    settings = load_settings(write(tmp_path, f"data_dir: {tmp_path}\nmodels:\n  local: {{provider: local}}\n  claude: {model}\n{ALL_LOCAL}"))
    with pytest.raises(ConfigError) as error:
        create_app(settings)
    assert names in str(error.value)


def test_the_shipped_config_needs_no_keys_and_ends_every_chain_locally() -> None:
    settings = load_settings()
    assert all(policy.chain[-1] == "local" for policy in settings.routes.values())
    assert all(spec.provider == "local" or not spec.api_key_env for spec in settings.models.values())


async def test_the_metrics_need_their_token_and_are_off_without_one(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SWITCHBOARD_METRICS_TOKEN", raising=False)
    async with running_server(make_settings()) as (base_url, _app), aiohttp.ClientSession() as session:
        async with session.get(f"{base_url}/api/metrics/models", headers=METRICS_AUTH) as response:
            assert (response.status, (await response.json())["error"]["code"]) == (404, "metrics_disabled")
    monkeypatch.setenv("SWITCHBOARD_METRICS_TOKEN", METRICS_TOKEN)
    async with running_server(make_settings()) as (base_url, _app), aiohttp.ClientSession() as session:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            async with session.get(f"{base_url}/api/metrics/models", headers=headers) as response:
                assert response.status == 401
        async with session.get(f"{base_url}/api/metrics/models", headers=METRICS_AUTH) as response:
            assert response.status == 200 and "local" in (await response.json())["models"]


async def test_the_metrics_count_each_tool_by_outcome(make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_METRICS_TOKEN", METRICS_TOKEN)
    async with running_server(make_settings()) as (base_url, _app), aiohttp.ClientSession() as session:
        visitor = await new_visitor(session, base_url)
        await visitor.send("where is my order NW-10482")  # asks who they are first
        assert "has shipped" in (await visitor.send("ana@example.com"))["reply"]["text"]
        async with session.get(f"{base_url}/api/metrics/models", headers=METRICS_AUTH) as response:
            tools = (await response.json())["tools"]
    assert tools["lookup_order"]["outcomes"] == {"needs_verification": 1, "ok": 1}
    assert tools["verify_customer"]["outcomes"] == {"ok": 1}
    assert tools["lookup_order"]["calls"] == 2 and tools["lookup_order"]["response_bytes"] > 0
    assert tools["lookup_order"]["latency_ms"]["p50"] is not None and tools["lookup_order"]["errors"] == 0
