"""Running conversation tests: each conversation, K times, through the real conversation manager.

Every run starts afresh: a new database (agent.evaluation.databases), its own demo store
instance (a cancellation in one run is not seen by the next), and a manager built from the
configuration with the conversation's `settings:` merged in. The customer's turns go in as a
channel hands them over, and each turn is checked against its `expect:`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from agent.app.demo_store import serving_demo_store
from agent.app.manager import build_manager, build_router
from agent.contracts import InboundMessage, Reply, ToolCallRecord
from agent.evaluation.databases import Databases, run_databases
from agent.evaluation.matching import Mismatch, Observed, check
from agent.evaluation.suite import Conversation, Suite, SuiteError, Turn
from agent.routing import Router
from agent.settings import BUILTIN_TOOLS, ConfigError, Settings, load_settings, load_settings_merged
from agent.store import ConversationStore, Database

CUSTOMER = "conversation-test"  # the channel's user id of every test's customer


@dataclass(frozen=True, slots=True)
class Planned:
    """A conversation with the settings it runs on."""

    conversation: Conversation
    settings: Settings


@dataclass(frozen=True, slots=True)
class Plan:
    """What a run of the suite runs: the configuration, and each conversation on its settings."""

    path: Path
    settings: Settings
    conversations: tuple[Planned, ...]


@dataclass(frozen=True, slots=True)
class TurnResult:
    number: int  # from 1
    turn: Turn
    observed: Observed
    mismatches: tuple[Mismatch, ...]


@dataclass(frozen=True, slots=True)
class RunResult:
    """One run of a conversation: its turns as far as they went, and an error that stopped it."""

    turns: tuple[TurnResult, ...]
    seconds: float
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and not any(turn.mismatches for turn in self.turns)


@dataclass(frozen=True, slots=True)
class ConversationResult:
    conversation: Conversation
    runs: tuple[RunResult, ...]

    @property
    def passes(self) -> int:
        return sum(run.passed for run in self.runs)

    @property
    def status(self) -> str:
        """pass | fail, or for a conversation marked xfail: xfail | xpass (it passed every run)."""
        passed = self.passes == len(self.runs)
        if self.conversation.xfail is not None:
            return "xpass" if passed else "xfail"
        return "pass" if passed else "fail"


@dataclass(frozen=True, slots=True)
class SuiteResult:
    path: Path
    repeat: int
    results: tuple[ConversationResult, ...]
    seconds: float
    counted: tuple[ConversationResult, ...] = field(init=False)

    def __post_init__(self) -> None:
        # Conversations marked xfail are reported but left out of the pass rates.
        object.__setattr__(self, "counted", tuple(r for r in self.results if r.conversation.xfail is None))

    def count(self, status: str) -> int:
        return sum(result.status == status for result in self.results)

    @property
    def failed(self) -> bool:
        return self.count("fail") > 0

    @property
    def pass_at_1(self) -> float | None:
        """The share of single runs that passed: the chance one run of a conversation passes."""
        if not self.counted:
            return None
        return sum(r.passes / len(r.runs) for r in self.counted) / len(self.counted)

    @property
    def pass_hat_k(self) -> float | None:
        """The share of conversations that passed all `repeat` runs."""
        if not self.counted:
            return None
        return sum(r.passes == len(r.runs) for r in self.counted) / len(self.counted)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "repeat": self.repeat,
            "seconds": round(self.seconds, 3),
            "totals": {
                "conversations": len(self.results),
                "passed": self.count("pass"),
                "failed": self.count("fail"),
                "xfail": self.count("xfail"),
                "xpass": self.count("xpass"),
                "pass_at_1": self.pass_at_1,
                f"pass_hat_{self.repeat}": self.pass_hat_k,
            },
            "conversations": [_result_json(result) for result in self.results],
        }


# -- planning -------------------------------------------------------------------------------


def plan(suite: Suite, config_path: Path | None) -> Plan:
    """Each conversation with its settings: the configuration, with its `settings:` merged in.

    SuiteError names the conversation whose settings, route or tool names do not fit the configuration."""
    try:
        base = load_settings(config_path)
    except ConfigError as exc:
        raise SuiteError(str(exc)) from exc
    planned = []
    for conversation in suite.conversations:
        where = f"{suite.path}: conversation {conversation.name!r}"
        if "database" in conversation.settings:
            raise SuiteError(f"{where}: settings.database: every run gets a database of its own; set it in the configuration")
        settings = base
        if conversation.settings:
            try:
                settings = load_settings_merged(config_path, conversation.settings)
            except ConfigError as exc:
                raise SuiteError(f"{where}: settings: {exc}") from exc
        _check_names(conversation, settings, where)
        planned.append(Planned(conversation, settings))
    return Plan(suite.path, base, tuple(planned))


def _check_names(conversation: Conversation, settings: Settings, where: str) -> None:
    """A route or tool the configuration does not have would fail every run: say so before running."""
    tools = set(settings.tools) | set(BUILTIN_TOOLS)
    for number, turn in enumerate(conversation.turns, 1):
        expect = turn.expect
        if expect.route is not None and expect.route not in settings.routes:
            raise SuiteError(f"{where}, turn {number}: expect.route: no route {expect.route!r} (routes: {', '.join(settings.routes)})")
        for index, tool in enumerate(expect.tools or ()):
            if tool.name not in tools:
                raise SuiteError(f"{where}, turn {number}: expect.tools[{index}].name: no tool {tool.name!r} (tools: {', '.join(sorted(tools))})")


# -- running --------------------------------------------------------------------------------


async def run_suite(
    planned: Plan, repeat: int = 1, on_run: Callable[[Conversation, RunResult], None] | None = None
) -> SuiteResult:
    """Every planned conversation `repeat` times, one run after another."""
    started = time.perf_counter()
    results = []
    routers = Routers()
    async with run_databases(planned.settings) as databases:
        for entry in planned.conversations:
            runs = []
            for _ in range(repeat):
                run = await run_conversation(entry, databases, routers)
                runs.append(run)
                if on_run is not None:
                    on_run(entry.conversation, run)
            results.append(ConversationResult(entry.conversation, tuple(runs)))
    return SuiteResult(planned.path, repeat, tuple(results), time.perf_counter() - started)


class Routers:
    """One router per routing configuration: it holds no conversation's state, and loading one
    (the intents file, the trained classifier) is the slowest part of building a manager."""

    def __init__(self) -> None:
        self._built: dict[str, Router] = {}

    def get(self, settings: Settings) -> Router:
        key = settings.routing.model_dump_json() + "|" + ",".join(sorted(settings.routes)) + "|" + str(settings.data_dir)
        if key not in self._built:
            self._built[key] = build_router(settings)
        return self._built[key]


async def run_conversation(entry: Planned, databases: Databases, routers: Routers | None = None) -> RunResult:
    """One run, on a fresh database and demo store; an exception stops it and is its error."""
    started = time.perf_counter()
    conversation, settings = entry.conversation, entry.settings
    turns: list[TurnResult] = []
    error = None
    store = ConversationStore(Database(await databases.fresh(settings)))
    provided: dict[str, str] = {}
    try:
        async with httpx.AsyncClient() as client, serving_demo_store(settings, provided):
            router = routers.get(settings) if routers is not None else None
            manager = build_manager(settings, store, client, tool_variables=provided, router=router)
            try:
                key = f"test-{uuid.uuid4().hex[:12]}"
                conversation_id = await manager.open_conversation(conversation.channel, key, CUSTOMER)
                for number, turn in enumerate(conversation.turns, 1):
                    inbound = InboundMessage(conversation.channel, CUSTOMER, key, turn.customer, conversation_id=conversation_id)
                    try:
                        reply = await manager.handle(inbound)
                    except Exception as exc:  # noqa: BLE001 - a turn that raises fails its run, not the suite
                        error = f"turn {number}: {type(exc).__name__}: {exc}"
                        break
                    observed = await _observed(store, reply)
                    turns.append(TurnResult(number, turn, observed, tuple(check(turn.expect, observed))))
            finally:
                await manager.close()
    except Exception as exc:  # noqa: BLE001 - a run that cannot be set up (a tool's config) fails, the rest still run
        error = error or f"{type(exc).__name__}: {exc}"
    finally:
        await store.close()
    return RunResult(tuple(turns), time.perf_counter() - started, error)


async def _observed(store: ConversationStore, reply: Reply) -> Observed:
    stored = [turn for turn in await store.turns(reply.conversation_id) if turn.inbound_message_id == reply.inbound.id]
    turn = stored[-1] if stored else None
    return Observed(
        text=reply.text or "",
        route=turn.route if turn else reply.route,
        intent=turn.intent if turn else None,
        outcome=turn.outcome if turn else None,
        model=turn.model if turn else reply.model,
        tool_calls=turn.tool_calls if turn else (),
        escalated=reply.escalated,
        state=reply.state.value,
        sources=turn.sources if turn else reply.sources,
    )


# -- reporting ------------------------------------------------------------------------------


def _result_json(result: ConversationResult) -> dict[str, Any]:
    return {
        "name": result.conversation.name,
        "status": result.status,
        "passes": result.passes,
        "runs": [_run_json(run) for run in result.runs],
        **({"xfail": result.conversation.xfail} if result.conversation.xfail is not None else {}),
    }


def _run_json(run: RunResult) -> dict[str, Any]:
    return {
        "passed": run.passed,
        "seconds": round(run.seconds, 3),
        "error": run.error,
        "turns": [_turn_json(turn) for turn in run.turns],
    }


def _turn_json(turn: TurnResult) -> dict[str, Any]:
    observed = turn.observed
    return {
        "turn": turn.number,
        "customer": turn.turn.customer,
        "reply": observed.text,
        "route": observed.route,
        "intent": observed.intent,
        "outcome": observed.outcome,
        "model": observed.model,
        "escalated": observed.escalated,
        "state": observed.state,
        "tools": [_call_json(call) for call in observed.tool_calls],
        "sources": [{"id": s.id, "title": s.title, "source": s.source} for s in observed.sources],
        "failures": [
            {"expectation": m.expectation, "expected": _plain(m.expected), "actual": _plain(m.actual)} for m in turn.mismatches
        ],
    }


def _call_json(call: ToolCallRecord) -> dict[str, Any]:
    return {
        "name": call.tool,
        "outcome": call.outcome.value,
        "arguments": _plain(call.arguments),
        "confirmation": call.confirmation,
        "error": call.error,
    }


def _plain(value: Any) -> Any:
    """JSON's own types: mappings and sequences as dicts and lists, anything else as text."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
