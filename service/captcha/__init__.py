"""The captcha stage: which challenge a reader answers (gate), the pool of
pre-rendered images and spoken clips (pool, render, audio, voices/), proof of
work, and third-party providers verified over HTTP."""
