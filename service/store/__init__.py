"""The store: the Redis connection, the Lua scripts, the key schema, rate
limits as the scripts count them, the comment store and the webhook outbox."""
