"""What the processes of one deployment share while it runs: live events, conversation lines and
rate limits, each in memory for one process and on Redis for several."""
