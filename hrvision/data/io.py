"""Reading images and label maps with errors that name the file.

Files are read whole and checked for completeness before decoding: OpenCV decodes a truncated
JPEG into grey rows (and a PNG cut after its pixel data) without an error, so a JPEG must end its
last scan with the end-of-image marker and a PNG must carry its ``IEND`` chunk.
"""
from __future__ import annotations

import os

import cv2
import numpy as np

from ..errors import DataError, MissingFileError

_JPEG, _PNG = b'\xff\xd8\xff', b'\x89PNG\r\n\x1a\n'


def _check_complete(data: bytes, path: str, what: str) -> None:
    """Refuse a truncated JPEG/PNG (other formats are left to the decoder)."""
    if data.startswith(_JPEG):
        # markers cannot occur inside entropy-coded data (0xFF is byte-stuffed), so the main image's
        # last scan (SOS, FFDA) must be followed by an end-of-image marker (EOI, FFD9)
        sos, eoi = data.rfind(b'\xff\xda'), data.rfind(b'\xff\xd9')
        if sos < 0 or eoi < sos:
            raise DataError(f'cannot decode {what} {path}: truncated JPEG ({len(data)} bytes, no end-of-image '
                             'marker after the image data); re-download or re-encode it')
    elif data.startswith(_PNG):
        if data.rfind(b'IEND') < max(data.rfind(b'IDAT'), len(_PNG)):
            raise DataError(f'cannot decode {what} {path}: truncated PNG ({len(data)} bytes, no IEND chunk '
                             'after the image data); re-download or re-encode it')


def _read(path: str, what: str, flags: int) -> np.ndarray:
    if not os.path.isfile(path):
        raise MissingFileError(f'{what} not found: {path}')
    with open(path, 'rb') as f:
        data = f.read()
    if not data:
        raise DataError(f'cannot decode {what} {path}: empty file (0 bytes)')
    _check_complete(data, path, what)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if img is None:
        raise DataError(f'cannot decode {what} {path}: not a readable PNG/JPEG (corrupt, or not an image)')
    return img


def read_image(path: str, expect_hw: tuple | None = None) -> np.ndarray:
    """HxWx3 uint8 RGB. Missing, truncated or undecodable files raise with the path.

    ``expect_hw``: the (height, width) an annotation file states; a different file size is an error
    (boxes and polygons would be clipped to the wrong frame)."""
    img = _read(path, 'image', cv2.IMREAD_COLOR)
    if img.dtype != np.uint8:   # IMREAD_COLOR converts to 8 bits; guard anyway
        raise DataError(f'image {path} has {img.dtype} pixels; expected an 8-bit image')
    if expect_hw is not None and expect_hw[0] is not None and tuple(expect_hw) != img.shape[:2]:
        raise DataError(f'{path}: annotation says height/width {expect_hw[0]}x{expect_hw[1]} '
                        f'but the file is {img.shape[0]}x{img.shape[1]}')
    return np.ascontiguousarray(img[..., ::-1])


def read_label(path: str) -> np.ndarray:
    """HxW uint8/uint16 single-channel label map, read unchanged (callers check the value range)."""
    lab = _read(path, 'label map', cv2.IMREAD_UNCHANGED)
    if lab.ndim != 2:
        raise DataError(f'label map {path} has shape {lab.shape}; expected a single-channel HxW PNG')
    return lab


def read_text(path: str, what: str) -> str:
    """A UTF-8 annotation file as text (newlines untouched); missing or binary files raise with the path."""
    if not os.path.isfile(path):
        raise MissingFileError(f'{what} not found: {path}')
    try:
        with open(path, encoding='utf-8', newline='') as f:
            return f.read()
    except UnicodeDecodeError as e:
        raise DataError(f'{what} {path} is not UTF-8 text (binary or corrupt file?): {e.reason} '
                         f'at byte {e.start}') from None


def write_image(path: str, image: np.ndarray) -> None:
    """Write RGB (HxWx3) or single-channel (HxW) uint8 images; folders are created.

    Encoded in memory and written to a temporary file beside the target, then renamed: the file is
    complete or absent, never half-written."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    arr = image[..., ::-1] if image.ndim == 3 else image
    try:
        ok, buf = cv2.imencode(os.path.splitext(path)[1] or '.png', np.ascontiguousarray(arr))
    except cv2.error:
        ok = False
    if not ok:
        raise OSError(f'could not encode an image for {path} (unknown extension or unsupported pixels)')
    tmp = f'{path}.tmp{os.getpid()}'
    try:
        with open(tmp, 'wb') as f:
            f.write(buf.tobytes())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
