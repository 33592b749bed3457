"""Photos for the browser tests: small landscapes drawn with Pillow, so the screenshots show a
gallery of pictures rather than test patterns, and a big "phone photo" for the direct upload."""

from __future__ import annotations

import io
import os
import random

from PIL import Image, ImageDraw, ImageFilter

# name -> (sky top, sky bottom, sun, far hills, near hills, ground)
PALETTES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "sunset": ((44, 31, 90), (247, 140, 82), (255, 214, 120), (110, 60, 110), (62, 35, 75), (35, 22, 48)),
    "lake": ((96, 165, 226), (201, 229, 245), (255, 250, 225), (92, 134, 150), (52, 102, 86), (62, 130, 170)),
    "forest": ((120, 190, 230), (226, 240, 228), (255, 246, 200), (96, 150, 110), (44, 100, 66), (30, 72, 46)),
    "desert": ((88, 148, 214), (243, 214, 170), (255, 244, 214), (214, 140, 82), (186, 104, 58), (226, 170, 104)),
    "night": ((8, 12, 38), (40, 56, 110), (236, 236, 214), (30, 40, 74), (18, 24, 48), (10, 14, 30)),
    "snow": ((130, 170, 214), (232, 240, 250), (255, 255, 240), (190, 206, 226), (236, 242, 250), (250, 252, 255)),
    "dawn": ((255, 170, 150), (255, 228, 190), (255, 250, 230), (170, 120, 140), (120, 86, 110), (86, 62, 90)),
    "coast": ((70, 140, 210), (180, 220, 240), (255, 252, 230), (60, 120, 140), (228, 206, 160), (40, 120, 170)),
}


def _ridge(
    draw: ImageDraw.ImageDraw, rng: random.Random, w: int, h: int, base: float, rough: float, fill: tuple
) -> None:
    points = [(0, h)]
    y = base * h
    for x in range(0, w + 40, max(8, w // 40)):
        y = min(h * 0.95, max(h * 0.3, y + rng.uniform(-rough, rough) * h))
        points.append((x, y))
    points.append((w, h))
    draw.polygon(points, fill=fill)


def scene(kind: str, size: tuple[int, int] = (960, 720), seed: int = 1) -> Image.Image:
    """A landscape: a sky gradient, a sun or moon, two ranges of hills and the ground or water."""
    sky_top, sky_bottom, sun, far, near, ground = PALETTES[kind]
    rng = random.Random(f"{kind}-{seed}")
    w, h = size
    sky = Image.linear_gradient("L").resize((w, h))
    picture = Image.composite(Image.new("RGB", size, sky_bottom), Image.new("RGB", size, sky_top), sky)
    draw = ImageDraw.Draw(picture)
    if kind == "night":
        for _ in range(w * h // 3000):
            x, y = rng.randrange(w), rng.randrange(int(h * 0.6))
            draw.point((x, y), fill=(255, 255, 240))
    cx, cy, r = rng.uniform(0.2, 0.8) * w, rng.uniform(0.18, 0.42) * h, h * rng.uniform(0.06, 0.1)
    glow = Image.new("L", size, 0)
    ImageDraw.Draw(glow).ellipse((cx - r * 3, cy - r * 3, cx + r * 3, cy + r * 3), fill=90)
    picture = Image.composite(Image.new("RGB", size, sun), picture, glow.filter(ImageFilter.GaussianBlur(r)))
    draw = ImageDraw.Draw(picture)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=sun)
    _ridge(draw, rng, w, h, rng.uniform(0.5, 0.6), 0.03, far)
    _ridge(draw, rng, w, h, rng.uniform(0.65, 0.75), 0.025, near)
    draw.rectangle((0, int(h * 0.86), w, h), fill=ground)
    if kind in ("lake", "coast", "sunset"):  # light on the water
        for i in range(14):
            y = h * 0.87 + i * h * 0.009
            half = r * (1.4 - i * 0.08)
            draw.line((cx - half, y, cx + half, y), fill=sun, width=max(1, h // 300))
    return picture


def jpeg(kind: str, size: tuple[int, int] = (960, 720), seed: int = 1, quality: int = 88) -> bytes:
    out = io.BytesIO()
    scene(kind, size, seed).save(out, "JPEG", quality=quality)
    return out.getvalue()


def png(kind: str, size: tuple[int, int] = (640, 480), seed: int = 1) -> bytes:
    out = io.BytesIO()
    scene(kind, size, seed).save(out, "PNG")
    return out.getvalue()


def phone_photo(kind: str = "coast", min_bytes: int = 5_000_000) -> bytes:
    """A 12-megapixel JPEG over ``min_bytes``: film grain makes it as big as a phone's photo, too big
    for the API's 4.5 MB request body, so the page must send it straight to storage."""
    size = (4000, 3000)
    picture = scene(kind, size, seed=7)
    grain = Image.frombytes("L", size, os.urandom(size[0] * size[1])).convert("RGB")
    picture = Image.blend(picture, grain, 0.1)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=95)
    data = out.getvalue()
    assert len(data) > min_bytes, len(data)
    return data
