"""Debian's Chromium as the browser tests and bench/widget_load.py start it:
headless, and with nothing that reaches for Google's hosts (the machine's
network is closed, and each refused connection slows the browser down)."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
