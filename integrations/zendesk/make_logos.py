"""Draw the app's logos (assets/logo.png 320×320, assets/logo-small.png 128×128).

Zendesk requires both files to upload an app. They are committed; run this only
to change them. Standard library only: a case folder on a rounded square.

    python3 integrations/zendesk/make_logos.py
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
BACKGROUND = (0x1F, 0x3A, 0x5F)  # deep blue
FOLDER = (0xF4, 0xF1, 0xEA)  # paper
TAB = (0xE0, 0xA4, 0x3A)  # amber


def _inside_rounded(x: float, y: float, x0: float, y0: float, x1: float, y1: float, r: float) -> bool:
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        return False
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def pixel(u: float, v: float) -> tuple[int, int, int, int]:
    """Colour at (u, v) in [0, 1]²; transparent outside the rounded square."""
    if not _inside_rounded(u, v, 0, 0, 1, 1, 0.18):
        return (0, 0, 0, 0)
    if _inside_rounded(u, v, 0.22, 0.30, 0.50, 0.42, 0.03):
        return (*TAB, 255)
    if _inside_rounded(u, v, 0.22, 0.36, 0.78, 0.74, 0.04):
        # three text lines on the folder: the case file
        for top in (0.47, 0.55, 0.63):
            if 0.30 <= u <= 0.70 - (0.12 if top == 0.63 else 0) and top <= v <= top + 0.03:
                return (*BACKGROUND, 255)
        return (*FOLDER, 255)
    return (*BACKGROUND, 255)


def png(size: int) -> bytes:
    rows = bytearray()
    for y in range(size):
        rows.append(0)  # filter: none
        for x in range(size):
            rows.extend(pixel((x + 0.5) / size, (y + 0.5) / size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    (ASSETS / "logo.png").write_bytes(png(320))
    (ASSETS / "logo-small.png").write_bytes(png(128))


if __name__ == "__main__":
    main()
