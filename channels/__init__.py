"""Channel adapters: each turns one channel's wire format into InboundMessage and back."""
