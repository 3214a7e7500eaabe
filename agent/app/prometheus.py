"""GET /metrics: turns, escalations, model and tool calls, retrieval, breakers and the outbox in
the Prometheus text format.

Each app has its own registry (never the process-wide one), so several apps in one process
count apart. Counters and histograms are this process's: with several processes behind one
Redis, each is scraped and Prometheus sums them. Breakers and the outbox are read at scrape time.
Labels name channels, routes, models, tools and outcomes, never a conversation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from agent.app.health import refused
from agent.contracts import ToolCallRecord, utcnow
from agent.conversation.parts import TurnReport
from agent.models import Gateway
from agent.models.breaker import BreakerState
from agent.models.metrics import ModelCall
from agent.store.outbox import OutboxStore
from agent.tools import ToolBox

NONE = "none"  # the label value for a turn without a route or tier (relayed, missed)
OTHER_TOOL = "other"  # a tool name a model made up: one label value, not one per invention

TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
RETRIEVAL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
TOOL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The OpenTelemetry GenAI conventions' advised boundaries.
OPERATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)

MODEL_LABELS = ("gen_ai_provider_name", "gen_ai_request_model")


class PrometheusMetrics:
    """The registry and what feeds it: the turns (a `TurnObserver`), the gateway's and the tools' calls."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._tools: frozenset[str] = frozenset()
        r = self.registry
        self.turns = Counter("switchboard_turns_total", "Turns finished.", ("channel", "route", "tier", "outcome"), registry=r)
        self.turn_duration = Histogram(
            "switchboard_turn_duration_seconds", "From the customer's message to the stored reply.", ("channel", "outcome"),
            buckets=TURN_BUCKETS, registry=r,
        )  # fmt: skip
        self.escalations = Counter("switchboard_escalations_total", "Conversations handed to a person, by reason.", ("reason",), registry=r)
        self.operation_duration = Histogram(
            "gen_ai_client_operation_duration_seconds", "One try at a model, answered or not.", (*MODEL_LABELS, "outcome"),
            buckets=OPERATION_BUCKETS, registry=r,
        )  # fmt: skip
        self.token_usage = Histogram(
            "gen_ai_client_token_usage", "Tokens of one model call.", (*MODEL_LABELS, "gen_ai_token_type"), buckets=TOKEN_BUCKETS, registry=r
        )
        self.ttft = Histogram(
            "switchboard_model_time_to_first_token_seconds", "Until a streamed answer's first piece.", MODEL_LABELS,
            buckets=TTFT_BUCKETS, registry=r,
        )  # fmt: skip
        self.cost = Counter(
            "switchboard_model_cost_usd_total", "What turns' model calls cost, by model and the turn's route.",
            ("gen_ai_request_model", "route"), registry=r,
        )  # fmt: skip
        self.tool_calls = Counter("switchboard_tool_calls_total", "Tool calls, by outcome.", ("tool", "outcome"), registry=r)
        self.tool_duration = Histogram(
            "switchboard_tool_call_duration_seconds", "One tool call.", ("tool",), buckets=TOOL_BUCKETS, registry=r
        )
        self.retrieval = Histogram(
            "switchboard_retrieval_duration_seconds", "A turn's knowledge base search.", buckets=RETRIEVAL_BUCKETS, registry=r
        )
        self.breaker_open = Gauge(
            "switchboard_breaker_open", "1 while a deployment's breaker refuses calls.", ("model", "deployment"), registry=r
        )
        self.outbox_pending = Gauge("switchboard_outbox_pending", "Replies owed on sent channels, not sent yet.", registry=r)
        self.outbox_oldest = Gauge(
            "switchboard_outbox_oldest_age_seconds", "How long the oldest unsent reply has waited; 0 when none does.", registry=r
        )

    def watch(self, gateway: Gateway, tools: ToolBox | None) -> None:
        """Hear of every model call the gateway's counters record, and every tool call the toolbox's."""
        gateway.metrics.observers.append(self.model_call)
        if tools is not None:
            self._tools = tools.names
            tools.metrics.observers.append(self.tool_call)

    # -- what the turns report (agent.conversation's TurnObserver) --------------------------

    def turn_done(self, report: TurnReport) -> None:
        route, tier = report.route or NONE, report.tier or NONE
        self.turns.labels(report.channel, route, tier, report.outcome).inc()
        self.turn_duration.labels(report.channel, report.outcome).observe(report.latency_s)
        if report.escalation_reason is not None:
            self.escalations.labels(report.escalation_reason).inc()
        for call in report.calls:
            if call.cost_usd:  # an unpriced call (None) adds nothing it could be wrong about
                self.cost.labels(call.model, route).inc(call.cost_usd)

    def retrieved(self, seconds: float) -> None:
        self.retrieval.observe(seconds)

    # -- what the gateway and the tools report ---------------------------------------------

    def model_call(self, call: ModelCall) -> None:
        labels = (call.provider, call.model)
        self.operation_duration.labels(*labels, call.outcome).observe(call.latency_ms / 1000)
        if call.input_tokens or call.output_tokens:
            self.token_usage.labels(*labels, "input").observe(call.input_tokens)
            self.token_usage.labels(*labels, "output").observe(call.output_tokens)
        if call.ttft_ms is not None:
            self.ttft.labels(*labels).observe(call.ttft_ms / 1000)

    def tool_call(self, call: ToolCallRecord) -> None:
        tool = call.tool if call.tool in self._tools else OTHER_TOOL
        self.tool_calls.labels(tool, call.outcome.value).inc()
        self.tool_duration.labels(tool).observe(call.latency_ms / 1000)

    # -- read at scrape time ---------------------------------------------------------------

    def read_breakers(self, gateway: Gateway) -> None:
        for name, model in gateway.models.items():
            for deployment in model.deployments:
                self.breaker_open.labels(name, deployment.label).set(1 if deployment.breaker.state is BreakerState.OPEN else 0)

    def read_outbox(self, pending: int, oldest_at: datetime | None, now: datetime) -> None:
        self.outbox_pending.set(pending)
        self.outbox_oldest.set(max(0.0, (now - oldest_at).total_seconds()) if oldest_at is not None else 0.0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def prometheus_handler(
    token: str | None, metrics: PrometheusMetrics, gateway: Gateway, outbox: OutboxStore
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Behind the same bearer token as /api/metrics/models: it names models, deployments and spend."""

    async def handler(request: web.Request) -> web.Response:
        refusal = refused(request, token)
        if refusal is not None:
            return refusal
        metrics.read_breakers(gateway)
        backlog = await outbox.backlog()
        metrics.read_outbox(backlog.pending, backlog.oldest_at, utcnow())
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return handler
