"""Reply notifications by email: the double opt-in, the messages, and their delivery."""
