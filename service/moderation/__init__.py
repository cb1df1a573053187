"""The moderation stage: queues and claims, decisions, a comment's history,
the audit log, bans, reader reports, erasure, and the API keys moderators
sign in with."""
