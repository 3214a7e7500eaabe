"""What sends the outbox's rows through each channel, at least once."""
