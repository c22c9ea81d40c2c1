"""Checking a PNG that came out of the jail (a script's figure file, a renderer's output).

The bytes are hostile: they may be a host file a script tried to smuggle out, a truncated or
corrupt stream, or a decompression bomb. ``check_png`` reads the dimensions from the header
first (so a bomb is refused before any pixel buffer is allocated), then decodes the whole image
with Pillow, which checks the zlib stream and fails on a truncated one. Only the standard
library and Pillow: it runs in the warm worker (an execution runtime's interpreter) and in the
executor.

    from viscoder.sandbox.png import check_png, BadPNG
    width, height = check_png(data)  # raises BadPNG with the reason
"""

from __future__ import annotations

import io
import struct

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# A 40x40 inch figure at 150 dpi is 36 Mpx; a bigger canvas is a bomb, not a plot. Decoding
# the largest allowed one costs ~160 MB of RGBA in the process that checks it, once.
MAX_PNG_PIXELS = 40_000_000
_IHDR = struct.Struct(">I4sII")


class BadPNG(ValueError):
    """The bytes are not a decodable, non-empty PNG within the bounds; the message says why."""


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the signature and IHDR chunk, without decoding."""
    if not data.startswith(PNG_MAGIC):
        raise BadPNG("not a PNG file")
    if len(data) < len(PNG_MAGIC) + _IHDR.size:
        raise BadPNG("truncated PNG header")
    _, kind, width, height = _IHDR.unpack_from(data, len(PNG_MAGIC))
    if kind != b"IHDR":
        raise BadPNG("PNG without an IHDR header")
    return width, height


def check_png(data: bytes, max_pixels: int = MAX_PNG_PIXELS) -> tuple[int, int]:
    """Return (width, height) of a fully decodable PNG with at least one pixel and at most
    ``max_pixels``; raise :class:`BadPNG` otherwise."""
    width, height = png_size(data)
    if width == 0 or height == 0:
        raise BadPNG(f"empty PNG ({width}x{height} pixels)")
    if width * height > max_pixels:
        raise BadPNG(f"PNG of {width}x{height} pixels exceeds the bound of {max_pixels}")
    from PIL import Image  # the worker imports it once at start; cheap after that

    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            if image.size != (width, height):
                raise BadPNG("PNG header and image disagree on the size")
            image.load()  # decodes every row: a corrupt or truncated stream fails here
    except BadPNG:
        raise
    except MemoryError:
        raise BadPNG("PNG too large to decode") from None
    except Exception as exc:  # Pillow raises many kinds (OSError, SyntaxError, ValueError...)
        raise BadPNG(f"PNG does not decode ({type(exc).__name__})") from None
    return width, height
