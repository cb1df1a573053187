"""Drawing an image challenge: each character in a cell of its own (turned,
sheared and moved inside it, never touching a neighbour), dark ink on a light
ground at a contrast of at least 4.5:1 (WCAG AA for text), glyphs about 60%
of the image's height, and a wavy line and specks in the ink's colour across
them, which cost an off-the-shelf OCR its reading much more than they cost a
person. docs/captcha.md has the measures of both (bench/captcha_ocr.py)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import cache
from importlib import resources

from PIL import Image, ImageDraw, ImageFont

# The font the `captcha` package ships (DroidSansMono, Apache 2.0): no system font is needed.
FONT = resources.files("captcha") / "data" / "DroidSansMono.ttf"
MIN_CONTRAST = 4.5
Colour = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Drawn:
    image: Image.Image  # RGB
    glyphs: list[Image.Image]  # each character's ink alone, full size ("L"), for the tests


def luminance(colour: Colour) -> float:
    """Relative luminance, as WCAG 2 defines it."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: Colour, b: Colour) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def ink_contrast(image: Image.Image) -> float:
    """The contrast of a drawn challenge as its pixels show it: the commonest
    colour (the ground) against the commonest of the colours darker than it
    (the ink; anti-aliased edges are rarer)."""
    counted = image.convert("RGB").getcolors(image.width * image.height) or []
    colours: list[Colour] = [
        (int(c[0]), int(c[1]), int(c[2]))
        for _, c in sorted(counted, key=lambda pair: pair[0], reverse=True)
        if isinstance(c, tuple)
    ]
    ground = colours[0]
    darker = [c for c in colours[1:] if luminance(c) < luminance(ground)]
    return contrast(ground, darker[0]) if darker else 1.0


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    with resources.as_file(FONT) as path:
        return ImageFont.truetype(str(path), size)


def _colours(rng: random.Random) -> tuple[Colour, Colour]:
    ground = (rng.randint(236, 255), rng.randint(236, 255), rng.randint(236, 255))
    while True:
        ink = (rng.randint(0, 110), rng.randint(0, 110), rng.randint(0, 110))
        # Well above the minimum, so that PNG quantizing cannot bring it under.
        if contrast(ink, ground) >= MIN_CONTRAST + 1.5:
            return ground, ink


def _glyph(char: str, cell: tuple[int, int], rng: random.Random) -> Image.Image:
    """The character's ink ("L"), turned and sheared, cropped, scaled to fit the cell."""
    cell_w, cell_h = cell
    font = _font(max(12, int(cell_h * rng.uniform(0.62, 0.72))))
    left, top, right, bottom = (int(v) for v in font.getbbox(char))
    layer = Image.new("L", (right - left + 8, bottom - top + 8), 0)
    ImageDraw.Draw(layer).text((4 - left, 4 - top), char, font=font, fill=255)
    shear = rng.uniform(-0.25, 0.25)
    layer = layer.transform(
        (layer.width + int(abs(shear) * layer.height) + 1, layer.height),
        Image.Transform.AFFINE,
        (1, shear, -abs(shear) * layer.height if shear > 0 else 0, 0, 1, 0),
        Image.Resampling.BICUBIC,
    )
    layer = layer.rotate(rng.uniform(-22, 22), Image.Resampling.BICUBIC, expand=True)
    box = layer.getbbox()
    if box is not None:
        layer = layer.crop(box)
    scale = min(1.0, cell_w / layer.width, cell_h / layer.height)
    if scale < 1.0:
        size = (max(1, int(layer.width * scale)), max(1, int(layer.height * scale)))
        layer = layer.resize(size, Image.Resampling.LANCZOS)
    return layer


def draw(answer: str, width: int, height: int, rng: random.Random | None = None) -> Drawn:
    rng = rng or random.SystemRandom()
    ground, ink = _colours(rng)
    margin, gutter = max(4, width // 40), max(3, width // 60)
    cell_w = (width - 2 * margin) // len(answer)
    cell_h = height - 2 * margin
    glyphs = []
    for index, char in enumerate(answer):
        layer = _glyph(char, (cell_w - gutter, cell_h), rng)
        x0 = margin + index * cell_w + rng.randint(0, cell_w - gutter - layer.width)
        y0 = margin + rng.randint(0, cell_h - layer.height)
        mask = Image.new("L", (width, height), 0)
        mask.paste(layer, (x0, y0))
        glyphs.append(mask)
    image = Image.new("RGB", (width, height), ground)
    for mask in glyphs:
        image.paste(ink, (0, 0), mask)
    marks = ImageDraw.Draw(image)
    # Waves through the characters: OCR takes them for strokes, a reader looks past them.
    for thickness in (3, 2):
        phase, period = rng.uniform(0, 2 * math.pi), rng.uniform(0.6, 1.2) * width
        middle, swing = height * rng.uniform(0.35, 0.65), height * rng.uniform(0.1, 0.22)
        points = [
            (x, middle + swing * math.sin(phase + 2 * math.pi * x / period))
            for x in range(0, width + 4, 4)
        ]
        marks.line(points, fill=ink, width=thickness)
    for _ in range(width // 5):
        x, y = rng.randrange(width), rng.randrange(height)
        marks.ellipse((x, y, x + 1, y + 1), fill=ink)
    return Drawn(image, glyphs)
