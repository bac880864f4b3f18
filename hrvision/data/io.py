"""Reading images and label maps with errors that name the file.

Files are read whole and checked for completeness before decoding: OpenCV decodes a truncated
JPEG into grey rows (and a PNG cut after its pixel data) without an error, so a JPEG must reach its
end-of-image marker and a PNG must carry its ``IEND`` chunk.
"""
from __future__ import annotations

import os

import cv2
import numpy as np

from ..errors import DataError, MissingFileError

_JPEG, _PNG = b'\xff\xd8\xff', b'\x89PNG\r\n\x1a\n'


def _jpeg_complete(data: bytes) -> bool | None:
    """Walk the JPEG marker segments (skipping APPn payloads such as EXIF thumbnails) and the entropy-coded
    scans: True when the end-of-image marker is reached, False when the data runs out first (truncated),
    None when the structure is unreadable (left to the decoder). Bytes after the end marker are ignored."""
    i, n = 2, len(data)
    while i + 1 < n:
        if data[i] != 0xFF:
            return None
        m = data[i + 1]
        if m == 0xFF:                                   # fill byte before a marker
            i += 1
        elif m == 0xD9:                                 # EOI
            return True
        elif 0xD0 <= m <= 0xD7 or m == 0x01:            # RSTn / TEM: no payload
            i += 2
        else:
            if i + 4 > n:
                return False
            i += 2 + int.from_bytes(data[i + 2:i + 4], 'big')
            if m == 0xDA:                               # SOS: entropy-coded data up to the next real marker
                while True:
                    j = data.find(b'\xff', i)
                    if j < 0 or j + 1 >= n:
                        return False
                    nxt = data[j + 1]
                    if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:   # stuffed 0xFF or restart marker
                        i = j + 2
                    elif nxt == 0xFF:
                        i = j + 1
                    else:
                        i = j
                        break
    return False


def _check_complete(data: bytes, path: str, what: str) -> None:
    """Refuse a truncated JPEG/PNG (other formats are left to the decoder)."""
    if data.startswith(_JPEG):
        if _jpeg_complete(data) is False:
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
