"""GET /api/openapi.json: it names every /api/ route, and a live server keeps to it under schemathesis."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from channels.openapi import load_spec
from tests.conftest import SettingsFactory
from tests.support.client import new_visitor
from tests.support.server import running_server
from tests.support.staff import add_staff, staff_client

EXAMPLES = 30  # per operation and generation mode: bounded, for a run well under a minute
METHODS = {"get", "post", "put", "patch", "delete"}


def mounted_api_routes(app: web.Application) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith("/api/") and route.method != "HEAD":
            found.add((route.method, path))
    return found


def described_routes(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item if method in METHODS}


async def test_the_description_names_every_api_route_and_is_served(make_settings: SettingsFactory) -> None:
    spec = load_spec()
    assert spec["openapi"].startswith("3.1")
    async with running_server(make_settings()) as (base_url, app):
        assert described_routes(spec) == mounted_api_routes(app)  # WebSockets included, as the GET of their handshake
        async with aiohttp.ClientSession() as session, session.get(f"{base_url}/api/openapi.json") as response:
            assert response.status == 200 and response.content_type == "application/json"
            assert await response.json() == spec
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                errors = {code for code in operation["responses"] if code.startswith("4")}
                if "{conversation_id}" in path:
                    assert "404" in errors, (method, path)
                if "requestBody" in operation:
                    assert {"400", "413"} <= errors, (method, path)


@dataclass
class Credentials:
    conversation_id: str  # escalated, so the staff actions have something to act on
    visitor_token: str
    staff_cookie: str
    csrf: str
    failures: list[str] = field(default_factory=list)

    def fixed(self, path: str) -> dict[str, Any]:
        """Fixed parts of each request: the real conversation and the credentials its routes need."""
        parts: dict[str, Any] = {}
        if "{conversation_id}" in path:
            parts["path_parameters"] = {"conversation_id": self.conversation_id}
        if path.startswith("/api/staff/") and path != "/api/staff/logout":  # signing out would end the run's session
            parts["cookies"] = {"switchboard_staff": self.staff_cookie}
            parts["headers"] = {"X-CSRF-Token": self.csrf}
        elif path.startswith("/api/conversations/"):
            parts["headers"] = {"Authorization": f"Bearer {self.visitor_token}"}
        return parts


def fuzz(base_url: str, credentials: Credentials) -> list[str]:
    """Each operation: positive and negative examples with real ids and credentials, and positive ones without."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings, strategies as st
    from schemathesis import checks
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_url(f"{base_url}/api/openapi.json")
    wanted = [
        checks.not_a_server_error,
        checks.status_code_conformance,
        checks.content_type_conformance,
        checks.response_schema_conformance,
        checks.response_headers_conformance,
    ]
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        fixed = credentials.fixed(operation.path)
        strategies = [operation.as_strategy(), operation.as_strategy(**fixed)]
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE, **fixed))

        @given(case=st.one_of(strategies))
        @settings(
            max_examples=EXAMPLES * len(strategies),
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is reported as found
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate(base_url=base_url, checks=wanted, timeout=10)

        try:
            run()
        except Exception as exc:  # a failed check, reported per operation
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    return failures


async def test_schemathesis_finds_no_server_error_and_every_response_matches(
    make_settings: SettingsFactory, database_url: str
) -> None:
    """On SQLite and PostgreSQL: the generated text, ids and numbers meet each database's limits."""
    settings = make_settings(database={"url": database_url})
    async with running_server(settings) as (base_url, _app):
        await add_staff(settings, "alice", "Alice Ng")
        async with aiohttp.ClientSession() as http, staff_client(base_url, "alice") as alice:
            visitor = await new_visitor(http, base_url)
            assert (await visitor.send("can I talk to a human please"))["state"] == "waiting"
            cookie = next(c.value for c in alice.session.cookie_jar if c.key == "switchboard_staff")
            credentials = Credentials(visitor.conversation_id, visitor.token, cookie, alice.csrf)
            # The requests run in a thread: schemathesis is synchronous and the server runs on this loop.
            failures = await asyncio.to_thread(fuzz, base_url, credentials)
            assert (await alice.call("GET", "/api/staff/me"))[0] == 200  # the session lived through it
    assert failures == [], "\n\n".join(failures)
