"""Escalation to a person: when it happens and why."""

from agent.escalation.policy import STAY, EscalationDecision, EscalationPolicy

__all__ = ["EscalationDecision", "EscalationPolicy", "STAY"]
