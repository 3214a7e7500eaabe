"""Every page is sent with the strict security policy and links the site's icon, which is served."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

STRICT = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.mark.parametrize(
    ("path", "framers"),
    [("/", "'none'"), ("/staff", "'none'"), ("/?embed=1", "*")],
)
async def test_each_page_has_the_strict_policy_and_the_icon(
    server: str, session: aiohttp.ClientSession, path: str, framers: str
) -> None:
    async with session.get(server + path) as response:
        assert response.status == 200
        policy = response.headers["Content-Security-Policy"]
        assert policy.startswith(STRICT)
        assert f"frame-ancestors {framers}" in policy
        assert "base-uri 'none'" in policy and "form-action 'self'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        page = await response.text()
    assert '<link rel="icon" href="/favicon.svg" type="image/svg+xml">' in page


async def test_the_icon_is_an_svg_from_this_server(server: str, session: aiohttp.ClientSession) -> None:
    async with session.get(server + "/favicon.svg") as response:
        assert response.status == 200
        assert response.content_type == "image/svg+xml"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        body = await response.text()
    assert body.startswith("<svg") and "<script" not in body
