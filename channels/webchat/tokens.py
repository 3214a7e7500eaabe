"""Visitor tokens: an HMAC of the conversation id, so any server process can check one."""

from __future__ import annotations

import base64
import hashlib
import hmac

from channels.http import same_secret


class TokenSigner:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def issue(self, conversation_id: str) -> str:
        # surrogatepass: a path may carry any code point, and must get a 401, not an encoding error.
        digest = hmac.new(self._key, b"webchat:" + conversation_id.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def verify(self, conversation_id: str, token: str | None) -> bool:
        return same_secret(token, self.issue(conversation_id))
