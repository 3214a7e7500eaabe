"""Twilio: SMS (channels.twilio.sms) and voice (channels.twilio.voice), sharing request signing."""
