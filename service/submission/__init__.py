"""The submission stage: a comment from the form to the store (the use case
that runs client, limits, form token, captcha, screening and store in order),
and the text rules every comment obeys (cleaning, rendering to safe HTML)."""
