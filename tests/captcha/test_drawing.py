"""The image challenge as a reader sees it (issue 14): characters that never
touch, ink at WCAG AA contrast measured from the served PNG's pixels, and
characters at least as tall as large text. How it reads, for a person and for
tesseract, is measured by bench/captcha_ocr.py (docs/captcha.md)."""

from __future__ import annotations

import io
from itertools import combinations

from PIL import Image, ImageChops, ImageDraw

from service.captcha import drawing, render

WIDTH, HEIGHT = 200, 70
DRAWS = 100
# WCAG's large text is 18 pt (24 px); a capital of 24 px text stands about 17 px tall.
LARGE_TEXT_CAP_HEIGHT = 17


def test_characters_never_overlap() -> None:
    for _ in range(DRAWS):
        drawn = drawing.draw(render.new_answer(), WIDTH, HEIGHT)
        assert len(drawn.glyphs) == render.LENGTH
        for glyph in drawn.glyphs:
            assert glyph.getbbox() is not None  # every character is drawn
        for one, other in combinations(drawn.glyphs, 2):
            # Not a single pixel of ink shared, even anti-aliased edges.
            assert ImageChops.multiply(one, other).getbbox() is None


def test_characters_are_at_least_large_text() -> None:
    for _ in range(DRAWS):
        for glyph in drawing.draw(render.new_answer(), WIDTH, HEIGHT).glyphs:
            box = glyph.getbbox()
            assert box is not None
            assert box[3] - box[1] >= LARGE_TEXT_CAP_HEIGHT, box


def test_served_images_pass_wcag_aa_contrast_from_their_pixels() -> None:
    for _ in range(DRAWS):
        png = render.png(render.new_answer(), WIDTH, HEIGHT)
        measured = drawing.ink_contrast(Image.open(io.BytesIO(png)))
        assert measured >= drawing.MIN_CONTRAST, measured


def test_the_contrast_measure_catches_faint_ink() -> None:
    """The measure is the pixels', not the renderer's word: grey on white fails it."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    ImageDraw.Draw(image).rectangle((20, 20, 120, 50), fill=(150, 150, 150))
    assert 2.9 < drawing.ink_contrast(image) < 3.1
    assert drawing.contrast((0, 0, 0), (255, 255, 255)) == 21
