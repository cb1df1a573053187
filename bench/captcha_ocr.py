"""The image captcha against an off-the-shelf OCR, and against a person.

    .venv/bin/python bench/captcha_ocr.py ocr [--count 200] [--json]
    .venv/bin/python bench/captcha_ocr.py sheets --out DIR [--count 100]
    .venv/bin/python bench/captcha_ocr.py score --out DIR --read READ.txt

`ocr` renders fresh challenges with the renderer main had before issue 14 (the
`captcha` package's ImageCaptcha, 200x70, quantized to 16 colours as the
service did) and with the service's own (service/captcha/drawing.py), and
reads each with Debian's tesseract (scripts/install-tesseract.sh), as a bot
would get it for free: one text line (--psm 7) limited to the challenges'
alphabet, on the image as served and after the obvious clean-up (grey,
threshold, a median filter that removes specks). It prints, per renderer and
reading, the share of whole answers read right and of characters read right,
and the ink's contrast against the ground measured from the pixels.

`sheets` renders fresh challenges of the service's renderer (or main's
before it, `--renderer before`) as numbered
contact sheets (ten to a sheet) for a person to read, and keeps their answers
apart in DIR/answers.json; `score` compares a file of readings (one per line,
`index answer`) with them.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from captcha.image import ImageCaptcha
from PIL import Image, ImageDraw, ImageFilter, ImageOps, ImageStat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.captcha import drawing, render  # noqa: E402

WIDTH, HEIGHT = 200, 70


def before(answer: str) -> bytes:
    """main's renderer before issue 14, as service/captcha/render.py had it."""
    out = io.BytesIO()
    image = ImageCaptcha(width=WIDTH, height=HEIGHT).generate_image(answer)
    image.quantize(render.PNG_COLOURS).save(out, format="PNG")
    return out.getvalue()


def after(answer: str) -> bytes:
    return render.png(answer, WIDTH, HEIGHT)


RENDERERS: dict[str, Callable[[str], bytes]] = {"before": before, "after": after}


def ink_contrast(png: bytes) -> float:
    """The contrast of the commonest colour other than the ground (the most
    common colour) against the ground, from the rendered pixels."""
    return drawing.ink_contrast(Image.open(io.BytesIO(png)))


def cleaned(png: bytes) -> bytes:
    image = ImageOps.grayscale(Image.open(io.BytesIO(png)))
    cut = ImageStat.Stat(image).mean[0] * 0.75
    image = image.point(lambda v: 0 if v < cut else 255).filter(ImageFilter.MedianFilter(3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def tesseract(png: bytes) -> str:
    done = subprocess.run(
        [
            "tesseract",
            "stdin",
            "stdout",
            "--psm",
            "7",
            "-c",
            f"tessedit_char_whitelist={render.ALPHABET}",
        ],
        input=png,
        capture_output=True,
        check=True,
    )
    return "".join(done.stdout.decode().split()).upper()


def same_chars(read: str, answer: str) -> int:
    return sum(a == b for a, b in zip(read, answer, strict=False))


def ocr(count: int, only: str | None = None) -> dict[str, dict[str, float]]:
    if shutil.which("tesseract") is None:
        sys.exit("tesseract is missing: run scripts/install-tesseract.sh")
    results: dict[str, dict[str, float]] = {}
    for name, make in RENDERERS.items():
        if only and name != only:
            continue
        answers = [render.new_answer() for _ in range(count)]
        images = [make(a) for a in answers]
        contrasts = [ink_contrast(png) for png in images]
        row: dict[str, float] = {
            "images": count,
            "contrast_min": round(min(contrasts), 2),
            "contrast_median": round(statistics.median(contrasts), 2),
            "below_4_5": sum(c < drawing.MIN_CONTRAST for c in contrasts) / count,
        }
        for reading, prepare in (("as_served", lambda p: p), ("cleaned", cleaned)):
            reads = [tesseract(prepare(png)) for png in images]
            row[f"{reading}_answers"] = sum(r == a for r, a in zip(reads, answers, strict=True))
            row[f"{reading}_answers_share"] = row[f"{reading}_answers"] / count
            row[f"{reading}_chars_share"] = sum(
                same_chars(r, a) for r, a in zip(reads, answers, strict=True)
            ) / (count * render.LENGTH)
        results[name] = row
    return results


def sheets(out: Path, count: int, renderer: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    answers = [render.new_answer() for _ in range(count)]
    for first in range(0, count, 10):
        sheet = Image.new("RGB", (2 * (WIDTH + 40), 5 * (HEIGHT + 10)), "white")
        pen = ImageDraw.Draw(sheet)
        for i in range(first, min(first + 10, count)):
            slot = i - first
            x, y = (slot % 2) * (WIDTH + 40), (slot // 2) * (HEIGHT + 10)
            pen.text((x + 2, y + HEIGHT // 2 - 6), f"{i:02d}", fill="black")
            sheet.paste(Image.open(io.BytesIO(RENDERERS[renderer](answers[i]))), (x + 36, y))
        sheet.save(out / f"sheet-{first // 10}.png")
    (out / "answers.json").write_text(json.dumps(answers))


def score(out: Path, read: Path) -> dict[str, float]:
    answers = json.loads((out / "answers.json").read_text())
    readings: dict[int, str] = {}
    for line in read.read_text().splitlines():
        if line.strip():
            index, text = line.split(maxsplit=1)
            readings[int(index)] = "".join(text.split()).upper()
    right = [i for i, a in enumerate(answers) if readings.get(i) == a]
    chars = sum(same_chars(readings.get(i, ""), a) for i, a in enumerate(answers))
    wrong = {i: (readings.get(i), a) for i, a in enumerate(answers) if i not in right}
    print(json.dumps({"wrong": wrong}, ensure_ascii=False))
    return {
        "images": len(answers),
        "answers_right": len(right),
        "chars_share": chars / (len(answers) * render.LENGTH),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("ocr")
    run.add_argument("--count", type=int, default=200)
    run.add_argument("--json", action="store_true")
    run.add_argument("--renderer", choices=RENDERERS, help="only this one")
    make = commands.add_parser("sheets")
    make.add_argument("--out", type=Path, required=True)
    make.add_argument("--count", type=int, default=100)
    make.add_argument("--renderer", choices=RENDERERS, default="after")
    check = commands.add_parser("score")
    check.add_argument("--out", type=Path, required=True)
    check.add_argument("--read", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "ocr":
        results = ocr(args.count, args.renderer)
        if args.json:
            print(json.dumps(results, indent=2))
            return
        for name, row in results.items():
            print(
                f"{name:7} contrast min {row['contrast_min']:.2f} median "
                f"{row['contrast_median']:.2f} (under 4.5: {row['below_4_5']:.0%}); tesseract "
                f"answers {row['as_served_answers_share']:.1%} as served, "
                f"{row['cleaned_answers_share']:.1%} cleaned; characters "
                f"{row['as_served_chars_share']:.1%} / {row['cleaned_chars_share']:.1%}"
            )
    elif args.command == "sheets":
        sheets(args.out, args.count, args.renderer)
    else:
        print(json.dumps(score(args.out, args.read)))


if __name__ == "__main__":
    main()
