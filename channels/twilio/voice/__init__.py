"""Voice calls through Twilio: the <Gather> webhook loop and the ConversationRelay WebSocket."""

from channels.twilio.voice.outbound import VoiceOptions, VoiceTwiml
from channels.twilio.voice.relay import RelayEndpoint
from channels.twilio.voice.routes import VoiceWebhooks

__all__ = ["RelayEndpoint", "VoiceOptions", "VoiceTwiml", "VoiceWebhooks"]
