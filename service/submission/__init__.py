"""The submission stage: the use case that takes a comment read from a
request through client, limits, form token, captcha and screening to the
one accept script call that stores it (accept.py)."""
