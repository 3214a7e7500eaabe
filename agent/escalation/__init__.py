"""Escalation to a person: when it happens and why."""

from agent.escalation.policy import STAY, EscalationDecision, EscalationPolicy, History, Triggers

__all__ = ["EscalationDecision", "EscalationPolicy", "History", "STAY", "Triggers"]
