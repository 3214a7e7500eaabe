"""The `switchboard` command: serve, chat in the terminal, and the router and staff groups."""

from agent.cli.main import main

__all__ = ["main"]
