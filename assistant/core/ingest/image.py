"""Image files (PNG, JPEG, TIFF, ...) read by OCR: one page per frame (a
multi-page TIFF is a scanned document), each with its line boxes for the viewer."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.core.errors import IngestError
from assistant.core.types import (
    DEFAULT_LIMITS,
    DocumentStream,
    Page,
    ParseLimits,
    TextBox,
)

SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
MAX_MEGAPIXELS = 50
"""A frame larger than this is refused before it is decoded (an A4 page scanned at
600 dpi is 35 megapixels; a 20 KB PNG can declare 100,000 x 100,000 pixels)."""
MAX_FRAMES = 1000
"""Frames a multi-page image may have (a scanned book of 1,000 pages)."""
MAX_ASPECT = 50
"""A frame longer than this many times its width (or the reverse) is no page:
OCR scales it so its short side vanishes (100,000 x 12 pixels failed inside the
recogniser)."""
MIN_CONTRAST = 8
"""A frame whose pixel values spread less than this is blank (no OCR run)."""

NO_TEXT = (
    "no text found: OCR read no text in the image "
    "(blank, a photo without writing, or text too faint or small to read)"
)


def open_image(path: Path, limits: ParseLimits = DEFAULT_LIMITS) -> DocumentStream:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow warns (two lines on stderr, a site-packages path) between
            # its two limits: over ours either way, so refused as a bomb here
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
    except UnidentifiedImageError as exc:
        raise IngestError(
            path, "not a readable image (the content is not PNG, JPEG, TIFF, ...)"
        ) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise IngestError(
            path,
            f"the image declares far more pixels than the {MAX_MEGAPIXELS}-megapixel "
            "limit (a decompression bomb, or a scan to scale down first)",
        ) from exc
    except OSError as exc:  # e.g. a truncated WebP: "could not create decoder"
        raise IngestError(
            path,
            "the image is damaged or cut short and cannot be read "
            f"({exc or 'no detail'})",
        ) from exc
    frames = int(getattr(image, "n_frames", 1) or 1)
    if frames > MAX_FRAMES:
        image.close()
        raise IngestError(
            path,
            f"the image has {frames:,} frames, over the {MAX_FRAMES:,}-frame limit "
            "(split it into smaller files)",
        )
    pages = _pages(path, image, frames, limits)
    return DocumentStream(path, path.stem, "image", frames, pages)


def _pages(path: Path, image: Any, frames: int, limits: ParseLimits) -> Iterator[Page]:
    from assistant.core.ingest import ocr

    try:
        for index in range(frames):
            if limits.cancel is not None and limits.cancel.cancelled:
                raise IngestError(path, "stopped by the user")
            image.seek(index)
            width, height = image.size
            if width * height > MAX_MEGAPIXELS * 1e6:
                raise IngestError(
                    path,
                    f"frame {index + 1} is {width:,} x {height:,} pixels "
                    f"({width * height / 1e6:.0f} megapixels), over the "
                    f"{MAX_MEGAPIXELS}-megapixel limit (scale it down first)",
                )
            if max(width, height) > MAX_ASPECT * max(min(width, height), 1):
                raise IngestError(
                    path,
                    f"frame {index + 1} is {width:,} x {height:,} pixels: too long and "
                    "thin to read as a page (crop it into pages first)",
                )
            pixels = _rgb(path, image, index)
            text, boxes = "", tuple[TextBox, ...]()
            if int(pixels.max()) - int(pixels.min()) >= MIN_CONTRAST:
                try:
                    text, boxes = ocr.recognize(pixels)
                except Exception as exc:  # the recogniser's own errors are terse
                    raise IngestError(
                        path,
                        f"OCR failed on frame {index + 1} ({width:,} x {height:,} "
                        f"pixels): {type(exc).__name__} {exc}".rstrip(),
                    ) from exc
            yield Page(index + 1, text, str(index + 1), (), boxes, scanned=True)
    finally:
        image.close()


def _rgb(path: Path, image: Any, index: int) -> Any:
    import numpy as np

    try:
        if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16-bit or float
            values = np.asarray(image, dtype=np.float32)
            low, high = float(values.min()), float(values.max())
            scaled = (values - low) * (255.0 / max(high - low, 1e-6))
            return np.repeat(scaled.astype(np.uint8)[:, :, None], 3, axis=2)
        return np.asarray(image.convert("RGB"))
    except OSError as exc:  # truncated or damaged data
        raise IngestError(
            path, f"the image is damaged and cannot be read (frame {index + 1}: {exc})"
        ) from exc
