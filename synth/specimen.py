"""Plain text pages with exact word and field boxes, drawn with Pillow, for degradation tests.

A specimen page looks like a simple form (label: value lines and an amount table) so the
degradation tests and benchmarks can run without the layout engine; every printed word and every
value has the box it was drawn in.
"""

from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from docfoundry.records import FieldBox, WordBox, pixel_box

LETTER_INCHES = (8.5, 11.0)
_LABELS = ("Invoice No", "Date", "Due date", "Customer", "Account", "Reference", "Phone",
           "Ship to", "Order", "Terms", "Tax ID", "Contact")
_WORDS = ("Acme", "Global", "Supply", "Harbor", "North", "Trading", "Office", "Parts", "Service",
          "Consulting", "Freight", "Paper", "Labels", "Cable", "Monitor", "Desk", "Repair",
          "Delivery", "Maple", "Street", "Avenue", "Berlin", "Lyon", "Boston", "Widget")


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    import reportlab

    # Vera ships inside reportlab (a core dependency), so the page looks the same on every machine.
    return ImageFont.truetype(str(Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"), size)


def _value(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return f"{rng.randrange(10**5, 10**7)}"
    if kind == 1:
        return f"{rng.randrange(1, 29):02d}/{rng.randrange(1, 13):02d}/20{rng.randrange(10, 30)}"
    if kind == 2:
        return f"{rng.choice('ABCDEFGH')}{rng.choice('KLMNPRST')}-{rng.randrange(1000, 9999)}"
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(1, 4)))


def _draw_words(draw: ImageDraw.ImageDraw, x: int, y: int, text: str, font: ImageFont.FreeTypeFont,
                gap: int) -> tuple[list[WordBox], int]:
    """Draw ``text`` word by word from (x, y); return the word boxes and the x after the last word."""
    words = []
    for word in text.split():
        x0, y0, x1, y1 = draw.textbbox((x, y), word, font=font)
        draw.text((x, y), word, fill=(0, 0, 0), font=font)
        words.append(WordBox(word, pixel_box(x0, y0, x1, y1)))
        x = x1 + gap
    return words, x


def specimen_page(seed: int, dpi: int = 150) -> tuple[Image.Image, list[WordBox], list[FieldBox]]:
    """A letter-size RGB page of label/value lines and an amount table, with exact boxes."""
    rng = random.Random(seed)
    width, height = (round(s * dpi) for s in LETTER_INCHES)
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    scale = dpi / 150
    margin = int(0.75 * dpi)
    words: list[WordBox] = []
    fields: list[FieldBox] = []
    title = _font(int(40 * scale))
    body_size = int(rng.choice((20, 22, 24)) * scale)
    body = _font(body_size)
    gap = max(4, body_size // 3)
    new, _ = _draw_words(draw, margin, margin, rng.choice(("INVOICE", "STATEMENT", "RECEIPT")), title, gap)
    words += new
    y = margin + int(90 * scale)
    for label in rng.sample(_LABELS, 8):
        label_words, x = _draw_words(draw, margin, y, label + ":", body, gap)
        value = _value(rng)
        value_words, _ = _draw_words(draw, max(x, margin + int(230 * scale)), y, value, body, gap)
        words += label_words + value_words
        fields.append(FieldBox(label.lower().replace(" ", "_"), value, _union(value_words)))
        y += int(body_size * 1.9)
    y += int(40 * scale)
    for i in range(rng.randrange(5, 9)):
        item = " ".join(rng.choice(_WORDS) for _ in range(rng.randrange(1, 4)))
        amount = f"{rng.randrange(1, 5000)}.{rng.randrange(100):02d}"
        item_words, _ = _draw_words(draw, margin, y, item, body, gap)
        w = draw.textlength(amount, font=body)
        amount_words, _ = _draw_words(draw, int(width - margin - w), y, amount, body, gap)
        words += item_words + amount_words
        fields.append(FieldBox(f"line_items.{i}.description", item, _union(item_words)))
        fields.append(FieldBox(f"line_items.{i}.amount", amount, _union(amount_words)))
        y += int(body_size * 1.7)
    return image, words, fields


def _union(words: list[WordBox]) -> list[int]:
    return [min(w.box[0] for w in words), min(w.box[1] for w in words),
            max(w.box[2] for w in words), max(w.box[3] for w in words)]
