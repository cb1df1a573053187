"""The text rules every comment obeys, below every stage that stores or
shows one: cleaning what arrives (NFC, no control characters) and rendering
what is served as safe HTML."""
