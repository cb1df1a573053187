"""The screening stage: what the text of a comment tells before it is stored
(screen), the threat and hate frames, the folding that undoes disguised
spellings, the form token that times the form, and the learned model (its
features and online logistic regression, and its signal beside the rules)."""
