"""A small web chat client over real HTTP, as the widget talks to the server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass
class Visitor:
    session: aiohttp.ClientSession
    base_url: str
    conversation_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def url(self) -> str:
        return f"{self.base_url}/api/conversations/{self.conversation_id}"

    async def send(self, text: str, **extra: Any) -> dict[str, Any]:
        async with self.session.post(f"{self.url}/messages", json={"text": text, **extra}, headers=self.headers) as r:
            assert r.status == 200, await r.text()
            return await r.json()

    async def history(self, after: int | None = None) -> dict[str, Any]:
        params = {"after": str(after)} if after is not None else {}
        async with self.session.get(f"{self.url}/messages", headers=self.headers, params=params) as r:
            assert r.status == 200, await r.text()
            return await r.json()


async def new_visitor(session: aiohttp.ClientSession, base_url: str) -> Visitor:
    async with session.post(f"{base_url}/api/conversations") as response:
        assert response.status == 201
        body = await response.json()
    return Visitor(session, base_url, body["conversation_id"], body["token"])


async def raw_request(base_url: str, head: bytes) -> tuple[int, Any]:
    """Send `head` (request line and headers, as bytes a client library would refuse to write) and
    return the status and the JSON body. `Host` and `Connection: close` are added."""
    import asyncio
    import json

    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head.rstrip(b"\r\n") + f"\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    _headers, _, body = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), json.loads(body) if body else None
