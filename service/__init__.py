"""loibinh: an async comment-moderation service for news sites."""
