"""Real-time delivery: the event bus (in-process or Redis) and the streaming API."""
