"""The Slack channel: customers in DMs, @mentions and threads; staff in a staff channel."""

from channels.slack.app import SlackChannel
from channels.slack.inbound import SlackInbound, SlackNotices
from channels.slack.outbound import InstalledTokens, SlackOutbound, StaticToken
from channels.slack.staff import SlackStaff, StaffChannel

__all__ = [
    "InstalledTokens",
    "SlackChannel",
    "SlackInbound",
    "SlackNotices",
    "SlackOutbound",
    "SlackStaff",
    "StaffChannel",
    "StaticToken",
]
