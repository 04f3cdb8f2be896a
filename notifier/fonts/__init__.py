"""The one font every Picket image is drawn with: NanumGothic (OFL-1.1, see OFL.txt here), shipped
inside the package so a fresh install draws Korean titles, venues and names, not empty boxes."""

from __future__ import annotations

from functools import cache
from importlib import resources

from PIL import ImageFont

FONT_FILE = "NanumGothic.ttf"


@cache
def font(size: int) -> ImageFont.FreeTypeFont:
    """The shipped font at ``size`` pixels (one object per size, shared by every image, also by the
    charts drawn in worker threads: Pillow's FreeType calls hold the GIL). A missing font file is an
    error, not a silent fall back to a font without Hangul."""
    with resources.as_file(resources.files(__name__) / FONT_FILE) as path:
        return ImageFont.truetype(str(path), size)


def fit(text: str, size: int, width: int) -> str:
    """``text`` cut with "…" so that, drawn at ``size``, it is at most ``width`` pixels wide. A
    character count cannot do this: a Hangul syllable is about twice as wide as a Latin letter."""
    face = font(size)
    if face.getlength(text) <= width:
        return text
    lo, hi = 0, len(text)  # the longest prefix that fits with its "…"
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if face.getlength(text[:mid].rstrip() + "…") <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"
