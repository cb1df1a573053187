"""The widget's weight as a reader's browser downloads it: the bytes of
loibinh.js and loibinh.css as served, raw and gzipped (level 9, as the
service serves them), against the issue's budget of 15 KB gzipped.

    .venv/bin/python bench/widget_size.py
"""

from __future__ import annotations

from service.http import assets

BUDGET = 15 * 1024


def main() -> None:
    total_raw = total_gz = 0
    print(f"{'file':<14}{'bytes':>8}{'gzipped':>9}")
    for name in ("loibinh.js", "loibinh.css", "moderate.js", "moderate.css", "pages.css"):
        item = assets.asset(name)
        raw, gz = len(item.body), len(item.gzipped)
        if name.startswith("loibinh"):
            total_raw, total_gz = total_raw + raw, total_gz + gz
        print(f"{name:<14}{raw:>8}{gz:>9}")
    print(f"{'widget total':<14}{total_raw:>8}{total_gz:>9}  (budget {BUDGET} gzipped)")


if __name__ == "__main__":
    main()
