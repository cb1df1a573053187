"""The moderation stage: queues and claims (queue), decisions, a comment's
history, the audit log, bans, reader reports, erasure, and the API keys
moderators sign in with (apikeys). What the parts share is in shared.

Every change is one Lua script that also writes its audit entry, history and
webhook deliveries, so no action is ever done without its record. Reads that
need keys only known after a first read (a comment's thread, say) make that
read first: a comment's thread and author never change, so nothing can slip
between the two round trips.
"""
