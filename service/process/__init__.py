"""The worker process itself, below every stage: dying with its parent, and
what holds its event loop (timer lag, collector pauses, frozen start-up)."""
