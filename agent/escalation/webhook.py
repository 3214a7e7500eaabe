"""Escalations posted to an operator's URL, signed so the receiver can check who sent them.

Signature: `X-Switchboard-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the
shared secret, and the timestamp in `X-Switchboard-Timestamp` (Unix seconds), so a receiver
can refuse old or replayed deliveries.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import structlog

from agent.contracts import EventStream, utcnow
from agent.tasks import BackgroundTasks

log = structlog.get_logger(__name__)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class EscalationWebhook:
    def __init__(
        self,
        url: str,
        secret: str,
        client: httpx.AsyncClient,
        attempts: int = 4,
        backoff_s: float = 0.5,
        max_in_flight: int = 16,
    ) -> None:
        self.url = url
        self._secret = secret
        self._client = client
        self._attempts = attempts
        self._backoff_s = backoff_s
        # A burst of escalations waits its turn rather than opening a connection each.
        self._in_flight = asyncio.Semaphore(max_in_flight)

    async def run(self, events: EventStream) -> None:
        """Post every escalation on the staff topic until cancelled.

        Each delivery runs on its own, so a receiver that is slow for one escalation (or a
        retry's backoff) does not hold up the next.
        """
        sending = BackgroundTasks("escalation_webhook")
        try:
            async for event in events:
                if event.type == "escalation":
                    payload = {"type": "escalation", **event.data, "sent_at": utcnow().isoformat()}
                    sending.spawn(self._deliver_logged(payload), "escalation_delivery")
        finally:
            await sending.close()
            await events.aclose()

    async def _deliver_logged(self, payload: dict[str, Any]) -> bool:
        try:
            async with self._in_flight:
                return await self.deliver(payload)
        except Exception:  # noqa: BLE001 - one bad delivery must not stop the webhook for good
            log.exception("webhook_crashed", conversation_id=payload.get("conversation_id"))
            return False

    async def deliver(self, payload: dict[str, Any]) -> bool:
        """Retried with exponential backoff on errors and 5xx; a 4xx is the receiver's refusal."""
        body = json.dumps(payload).encode()
        for attempt in range(self._attempts):
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Switchboard-Timestamp": timestamp,
                "X-Switchboard-Signature": signature(self._secret, timestamp, body),
            }
            try:
                response = await self._client.post(self.url, content=body, headers=headers, timeout=10)
                if response.status_code < 300:
                    return True
                if response.status_code < 500:
                    log.error("webhook_refused", status=response.status_code, conversation_id=payload.get("conversation_id"))
                    return False
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            log.warning("webhook_retry", attempt=attempt + 1, problem=problem, conversation_id=payload.get("conversation_id"))
            if attempt + 1 < self._attempts:
                await asyncio.sleep(self._backoff_s * 2**attempt)
        log.error("webhook_failed", conversation_id=payload.get("conversation_id"))
        return False
