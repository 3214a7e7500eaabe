"""The staff console: a JSON API, a live WebSocket and the page, for people taking over conversations."""

from channels.staff.routes import ConsoleOptions, StaffConsole

__all__ = ["ConsoleOptions", "StaffConsole"]
