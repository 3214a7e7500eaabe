"""The built-in tools: search the knowledge base again in the model's own words, hand the
conversation to a person, and verify the customer with the business's own check."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from agent.contracts import KnowledgeQuery, Retriever, ToolOutcome
from agent.tools.base import ToolContext, ToolReply, ToolRunner
from agent.tools.spec import ToolSpec, object_schema

SEARCH_KNOWLEDGE = ToolSpec(
    "search_knowledge",
    "Search the business's help articles and policies. Returns passages with ids to cite, or none.",
    object_schema(
        {"query": {"type": "string", "minLength": 2, "maxLength": 500, "description": "what to look for, in a few words"}}
    ),
    timeout_s=2.0,
)
ESCALATE_TO_HUMAN = ToolSpec(
    "escalate_to_human",
    "Hand the conversation to a person on the support team, when the customer asks for one or you cannot help.",
    object_schema({"reason": {"type": "string", "maxLength": 300, "description": "why, in a few words, for the staff"}}),
    timeout_s=1.0,
)


def verify_customer_spec(check: ToolSpec) -> ToolSpec:
    """verify_customer takes the proofs the business's check takes."""
    return ToolSpec(
        "verify_customer",
        "Verify who the customer is before private data or changes, with the proof they give "
        "(for example the email address or postcode on their order). Never guess the proof.",
        check.parameters,
        timeout_s=check.timeout_s,
        redact=check.redact,
    )


class SearchKnowledge:
    def __init__(self, retriever: Retriever, queries: dict[str, KnowledgeQuery]) -> None:
        self._retriever = retriever
        self._queries = queries

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolReply:
        template = self._queries.get(context.route) or self._queries.get("*") or KnowledgeQuery("")
        found = await self._retriever.search(replace(template, text=str(arguments["query"]), k=max(template.k, 3)))
        known = {p.id: i for i, p in enumerate(context.passages)}
        results = []
        for passage in found:
            if passage.id not in known:
                known[passage.id] = len(context.passages)
                context.passages.append(passage)
            results.append({"id": f"R{known[passage.id] + 1}", "title": passage.heading, "text": passage.text})
        return ToolReply({"passages": results} if results else {"passages": [], "note": "nothing relevant found"})


class EscalateToHuman:
    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolReply:
        context.escalation = str(arguments.get("reason") or "the model asked for a person")[:300]
        return ToolReply({"status": "a person will take over the conversation"})


class VerifyCustomer:
    """Runs the business's check; a pass makes the conversation's customer verified."""

    def __init__(self, check: ToolRunner, max_attempts: int = 3) -> None:
        self._check = check
        self._max_attempts = max_attempts

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolReply:
        if context.verify_failures >= self._max_attempts:
            context.escalation = "identity could not be verified"
            return ToolReply.failed(ToolOutcome.ERROR, "too many failed attempts; a person will take over")
        reply = await self._check.run(arguments, context)
        if reply.outcome is not ToolOutcome.OK:
            return reply
        data = reply.data if isinstance(reply.data, dict) else {}
        if data.get("verified") is True:
            customer = str(data.get("customer") or "verified")[:200]
            context.customer = context.verified = customer
            return ToolReply({"verified": True}, response_bytes=reply.response_bytes)
        context.verify_failures += 1
        left = self._max_attempts - context.verify_failures
        if left <= 0:
            # The last allowed proof failed: a person takes over now, not after one more try.
            context.escalation = "identity could not be verified"
        return ToolReply({"verified": False, "attempts_left": max(left, 0)}, response_bytes=reply.response_bytes)
