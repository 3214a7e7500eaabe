"""The staff side of a conversation: handoff to a person, staff accounts, and handoff summaries."""
