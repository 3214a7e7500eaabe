"""The OpenAPI 3.1 description of the HTTP API (web chat, staff console, metrics), served as JSON.

Written by hand in openapi.yaml; a test keeps its paths equal to the mounted /api/ routes and
runs schemathesis against a live server, so it stays true.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

SPEC_FILE = Path(__file__).resolve().parent / "openapi.yaml"
PATH = "/api/openapi.json"


def load_spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    return spec


def routes() -> list[web.AbstractRouteDef]:
    body = json.dumps(load_spec())  # read once, when the app is built

    async def openapi(_request: web.Request) -> web.Response:
        return web.Response(text=body, content_type="application/json")

    return [web.get(PATH, openapi)]
