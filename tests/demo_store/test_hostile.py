"""Whatever a client sends the demo store, the answer is JSON and never a 5xx."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.support.logs import captured

# Text that can travel in a URL once percent-encoded (a lone surrogate cannot be encoded at all).
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_SEGMENT = st.one_of(_TEXT, st.sampled_from(["NW-10482", "nw-10497", "NW-", "..", ".", "%", "TRK-BOOT-42"])).map(
    lambda s: quote(s, safe="") or "x"
)
_PATH = st.one_of(
    _SEGMENT.map(lambda s: f"/api/orders/{s}"),
    _SEGMENT.map(lambda s: f"/api/orders/{s}/cancel"),
    _SEGMENT.map(lambda s: f"/api/products/{s}"),
    st.sampled_from(["/api/customers/verify", "/api/products", "/healthz", "/api/orders/", "/api"]),
    _SEGMENT.map(lambda s: f"/{s}"),
)
# What h11 lets a client put in a header value: visible ASCII and obs-text, spaces only inside.
_HEADER = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=60).map(
    lambda s: s.strip().encode("latin-1")
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)
_VERIFY = st.fixed_dictionaries(
    {}, optional={"order_id": _JSON | st.just("NW-10482"), "email": _JSON | st.just("ana@example.com"), "postcode": _JSON}
)
_BODY = st.one_of(
    st.none(),
    st.binary(max_size=300),
    _JSON.map(lambda v: json.dumps(v).encode()),
    _VERIFY.map(lambda v: json.dumps(v).encode()),
)
_REQUEST = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
        "path": _PATH,
        "params": st.dictionaries(st.sampled_from(["q", "limit", "x"]), _TEXT, max_size=3),
        "customer": st.none() | _HEADER,
        "body": _BODY,
    }
)


def fuzz(base_url: str, examples: int) -> list[str]:
    """Send generated requests; the ones answered with a 5xx or without a JSON error."""
    failures: list[str] = []
    with httpx.Client(base_url=base_url, timeout=10) as client:

        @given(request=_REQUEST)
        @settings(
            max_examples=examples, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        def run(request: dict[str, Any]) -> None:
            headers = {} if request["customer"] is None else {"X-Customer": request["customer"]}
            response = client.request(
                request["method"], request["path"], params=request["params"], headers=headers, content=request["body"]
            )
            problem = _problem(response, request["method"])
            if problem:
                failures.append(f"{request}: {problem}")

        run()
    return failures


def _problem(response: httpx.Response, method: str) -> str | None:
    if response.status_code >= 500:
        return f"{response.status_code} {response.text[:200]}"
    if method == "HEAD":
        return None
    if not response.headers.get("Content-Type", "").startswith("application/json"):
        return f"{response.status_code} is not JSON: {response.text[:200]}"
    body = response.json()
    if response.status_code >= 400 and not (isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]):
        return f"{response.status_code} without an error: {body}"
    return None


async def test_generated_requests_get_json_and_never_a_server_error(store_url: str, caplog: pytest.LogCaptureFixture) -> None:
    # The client runs in a thread: hypothesis is synchronous and the server runs on this loop.
    with captured(caplog) as events:  # nothing logged an error or a traceback either
        failures = await asyncio.to_thread(fuzz, store_url, 400)
    assert failures == [], "\n".join(failures[:10])
    statuses = {e["status"] for e in events if e["event"] == "demo_store_request"}
    assert {200, 400, 404, 405} <= statuses  # the requests reached every kind of answer
