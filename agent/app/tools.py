"""Part of the composition root: the tools of `tools:` and the built-in ones, in one `ToolBox`.

`${VARIABLE}` in a tool's URL and headers comes from the environment (secrets never sit in the
file) or from what this process provides (`DEMO_STORE_URL` when it serves the demo store); a
variable that is set nowhere stops start-up naming the key that uses it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import httpx

from agent.app.knowledge import retrieval_by_route
from agent.contracts import Retriever
from agent.settings import ConfigError, Settings, ToolSettings, environment
from agent.tools import ToolBox, ToolRunner, ToolSpec
from agent.tools.arguments import check_schema
from agent.tools.builtin import (
    ESCALATE_TO_HUMAN,
    SEARCH_KNOWLEDGE,
    EscalateToHuman,
    SearchKnowledge,
    VerifyCustomer,
    verify_customer_spec,
)
from agent.tools.http import HttpTool
from agent.tools.python import PythonTool, load_entry_point
from agent.tools.spec import object_schema

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DEMO_STORE_URL = "DEMO_STORE_URL"


def build_toolbox(
    settings: Settings,
    client: httpx.AsyncClient,
    retriever: Retriever | None,
    provided: Mapping[str, str] | None = None,
) -> ToolBox:
    """Every declared tool and the built-in ones; ConfigError naming the key for what cannot be built.

    `provided` may still be empty here and filled once the process is serving (the demo store's
    URL is known when it listens): its names are looked up at each call, the environment's now.
    """
    provided = provided if provided is not None else {}
    late = set(provided) | ({DEMO_STORE_URL} if settings.demo_store.serve else set())
    secrets: list[str] = []
    tools: dict[str, tuple[ToolSpec, ToolRunner]] = {}
    for name, declared in settings.tools.items():
        spec = _spec(name, declared)
        tools[name] = (spec, _runner(name, declared, client, _Variables(late, provided), secrets))
    if retriever is not None:
        tools[SEARCH_KNOWLEDGE.name] = (SEARCH_KNOWLEDGE, SearchKnowledge(retriever, retrieval_by_route(settings)))
    tools[ESCALATE_TO_HUMAN.name] = (ESCALATE_TO_HUMAN, EscalateToHuman())
    check = settings.verification.tool
    if check:
        spec, runner = tools[check]
        verify = verify_customer_spec(spec)
        tools[verify.name] = (verify, VerifyCustomer(runner, settings.verification.max_attempts))
    return ToolBox(tools, secrets)


def _spec(name: str, declared: ToolSettings) -> ToolSpec:
    schema = object_schema(declared.parameters, declared.required)
    try:
        check_schema(schema)
    except ValueError as error:
        raise ConfigError(f"tools.{name}.parameters: {error}") from None
    return ToolSpec(
        name=name,
        description=declared.description,
        parameters=schema,
        timeout_s=declared.timeout_s,
        requires_verified_customer=declared.requires_verified_customer,
        confirm=declared.confirm,
        confirm_text=declared.confirm_text,
        preview=declared.preview,
        confirm_only_if=tuple((field, frozenset(values)) for field, values in declared.confirm_only_if.items()),
        redact=frozenset(declared.redact),
    )


def _runner(
    name: str, declared: ToolSettings, client: httpx.AsyncClient, variables: Mapping[str, str], secrets: list[str]
) -> ToolRunner:
    if declared.kind == "python":
        assert declared.entry_point is not None
        try:
            function = load_entry_point(declared.entry_point)
        except ValueError as error:
            raise ConfigError(f"tools.{name}.entry_point: {error}") from None
        return PythonTool(function, declared.returns, declared.max_response_chars)
    assert declared.url is not None
    url = variables.fill(declared.url, f"tools.{name}.url", secrets)  # a key in a query string is a secret too
    if not url.startswith(("http://", "https://", "${")):
        raise ConfigError(f"tools.{name}.url: expected an http(s) URL, not {url!r}")
    headers = {key: variables.fill(value, f"tools.{name}.headers.{key}", secrets) for key, value in declared.headers.items()}
    return HttpTool(
        client, declared.method, url, headers, declared.returns, declared.max_response_chars, declared.timeout_s, variables.provided
    )


class _Variables:
    def __init__(self, late: set[str], provided: Mapping[str, str]) -> None:
        self.late = late
        self.provided = provided

    def fill(self, text: str, key: str, secrets: list[str]) -> str:
        """`text` with the environment's variables in; a provided one is left for each call to fill."""

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            value = environment.tool_variable(name)
            if value is not None:
                secrets.append(value)
                return value
            if name in self.late:
                return match.group()
            raise ConfigError(f"{key}: the environment variable {name} is not set")

        return VARIABLE.sub(value, text)
