"""SMS through Twilio: the webhook (inbound, answered inline or via the outbox) and the REST sender."""

from channels.twilio.sms.keywords import Keywords
from channels.twilio.sms.outbound import SmsOutbound, SmsSender
from channels.twilio.sms.routes import SmsOptions, SmsWebhook

__all__ = ["Keywords", "SmsOptions", "SmsOutbound", "SmsSender", "SmsWebhook"]
