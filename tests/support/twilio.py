"""Requests as Twilio makes them: form-encoded, signed with twilio's own RequestValidator."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from twilio.request_validator import RequestValidator

from tests.support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

OUR_NUMBER = "+15005550006"
CUSTOMER = "+15551230001"
CALLER = "+15551239999"


def message_sid() -> str:
    return "SM" + uuid.uuid4().hex


def call_sid() -> str:
    return "CA" + uuid.uuid4().hex


def twilio_env(monkeypatch: Any) -> None:
    """Credentials in the environment, as an operator sets them (the only thing the tests patch)."""
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)


@dataclass
class TwiML:
    status: int
    root: ET.Element
    text: str

    def verbs(self) -> list[str]:
        return [child.tag for child in self.root]

    def find(self, path: str) -> ET.Element:
        found = self.root.find(path)
        assert found is not None, f"{path} not in {self.text}"
        return found

    def said(self) -> list[str]:
        return [el.text or "" for el in self.root.iter("Say")]

    def messages(self) -> list[str]:
        return [el.text or "" for el in self.root.iter("Message")]


@dataclass
class TwilioClient:
    """Posts to the server the way Twilio does; `signed_url` is the URL Twilio thinks it calls."""

    session: aiohttp.ClientSession
    base_url: str
    public_url: str | None = None
    auth_token: str = AUTH_TOKEN

    def signature(self, path: str, params: Mapping[str, str], token: str | None = None) -> str:
        url = (self.public_url or self.base_url) + path
        return RequestValidator(token or self.auth_token).compute_signature(url, dict(params))

    async def post(self, path: str, params: Mapping[str, str], signature: str | None = None) -> TwiML:
        headers = {"X-Twilio-Signature": signature if signature is not None else self.signature(path, params)}
        async with self.session.post(self.base_url + path, data=dict(params), headers=headers) as response:
            text = await response.text()
            assert response.content_type == "text/xml", (response.status, text)
            return TwiML(response.status, ET.fromstring(text), text)

    async def sms(self, body: str, sid: str | None = None, sender: str = CUSTOMER, **extra: str) -> TwiML:
        params = {
            "MessageSid": sid or message_sid(),
            "AccountSid": ACCOUNT_SID,
            "From": sender,
            "To": OUR_NUMBER,
            "Body": body,
            "NumMedia": "0",
            **extra,
        }
        return await self.post("/twilio/sms", params)

    def call_params(self, sid: str, **extra: str) -> dict[str, str]:
        return {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": CALLER, "To": OUR_NUMBER, "CallStatus": "in-progress", **extra}

    async def voice(self, path: str, sid: str, **extra: str) -> TwiML:
        return await self.post(path, self.call_params(sid, **extra))

    def relay_headers(self, path: str = "/twilio/relay") -> dict[str, str]:
        url = (self.public_url or self.base_url) + path
        url = url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return {"X-Twilio-Signature": RequestValidator(self.auth_token).compute_signature(url, {})}
