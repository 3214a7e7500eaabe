"""Staff accounts and a staff console client over real HTTP, as the console page talks to the server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from agent.app.staff import build_accounts
from agent.contracts import StaffMember, StaffRole
from agent.settings import Settings
from agent.store import Database

PASSWORD = "correct horse battery"


async def add_staff(
    settings: Settings, username: str, name: str, password: str = PASSWORD, role: StaffRole = StaffRole.STAFF
) -> StaffMember:
    database = Database(settings.database_url)
    try:
        return await build_accounts(settings, database).add(username, name, password, role)
    finally:
        await database.dispose()


@dataclass
class StaffClient:
    session: aiohttp.ClientSession
    base_url: str
    csrf: str = ""

    async def login(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        async with self.session.post(
            f"{self.base_url}/api/staff/login", json={"username": username, "password": password}
        ) as response:
            assert response.status == 200, await response.text()
            body = await response.json()
        self.csrf = body["csrf_token"]
        return body

    async def call(self, method: str, path: str, json: Any = None, csrf: str | None = None) -> tuple[int, Any]:
        headers = {"X-CSRF-Token": self.csrf if csrf is None else csrf}
        async with self.session.request(method, f"{self.base_url}{path}", json=json, headers=headers) as response:
            return response.status, await response.json()

    async def act(self, conversation_id: str, action: str, **body: Any) -> tuple[int, Any]:
        return await self.call("POST", f"/api/staff/conversations/{conversation_id}/{action}", json=body)

    async def detail(self, conversation_id: str) -> dict[str, Any]:
        status, body = await self.call("GET", f"/api/staff/conversations/{conversation_id}")
        assert status == 200, body
        return body

    async def queue(self) -> list[dict[str, Any]]:
        status, body = await self.call("GET", "/api/staff/queue")
        assert status == 200, body
        return body["conversations"]


@asynccontextmanager
async def staff_client(base_url: str, username: str) -> AsyncIterator[StaffClient]:
    # unsafe=True: the default jar refuses cookies from an IP address such as 127.0.0.1.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        client = StaffClient(session, base_url)
        await client.login(username)
        yield client
