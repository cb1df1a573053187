"""The screening stage: what the text of a comment tells before it is stored
(screen), the threat and hate frames, the folding that undoes disguised
spellings, and the form token that times the form."""
