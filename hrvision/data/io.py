"""Reading images and label maps with errors that name the file.

Files are read whole and checked for completeness before decoding: OpenCV decodes a truncated
JPEG into grey rows (and a PNG cut after its pixel data) without an error, so a JPEG must reach its
end-of-image marker and a PNG must carry its ``IEND`` chunk.

The size a file declares in its header is checked before decoding, against a pixel limit: a 730 KB PNG can
declare 16000x16000 pixels (768 MB decoded), and OpenCV refuses a 50000x50000 one with an assertion. The limit
is :data:`MAX_IMAGE_PIXELS` when set, else the environment variable ``HRVISION_MAX_IMAGE_PIXELS``, else
:data:`DEFAULT_MAX_IMAGE_PIXELS` (Pillow's default, about 89.5 Mpx: 9459x9459); 0 turns the check off.
"""
from __future__ import annotations

import io
import os

import cv2
import numpy as np

from ..errors import DataError, InputError, MissingFileError

DEFAULT_MAX_IMAGE_PIXELS = 1024 * 1024 * 1024 // 4 // 3   # 89,478,485: Pillow's default
MAX_IMAGE_PIXELS: int | None = None   # None: HRVISION_MAX_IMAGE_PIXELS, else the default; 0: no limit
MAX_PIXELS_ENV = 'HRVISION_MAX_IMAGE_PIXELS'

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


def max_image_pixels() -> int:
    """The pixel limit of the readers (0: none): :data:`MAX_IMAGE_PIXELS`, else ``$HRVISION_MAX_IMAGE_PIXELS``,
    else :data:`DEFAULT_MAX_IMAGE_PIXELS`. Read at each call, so a change applies to the next image."""
    if MAX_IMAGE_PIXELS is not None:
        return max(0, int(MAX_IMAGE_PIXELS))
    text = os.environ.get(MAX_PIXELS_ENV, '').strip()
    if not text:
        return DEFAULT_MAX_IMAGE_PIXELS
    try:
        value = int(text.replace('_', ''))
    except ValueError:
        value = -1
    if value < 0:
        raise InputError(f'{MAX_PIXELS_ENV}={text!r}: expected a whole number of pixels '
                         f'(0 = no limit; default {DEFAULT_MAX_IMAGE_PIXELS})')
    return value


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) as the file's header states it, without decoding the pixels (Pillow's format plugins
    read only the header); None for a format Pillow does not know (OpenCV's own checks apply to it).
    Pillow's ``Image.open`` is not used: it raises its own decompression-bomb error above twice its limit,
    whatever hrvision's limit is."""
    from PIL import Image
    prefix = data[:16]
    for load_plugins in (Image.preinit, Image.init):   # the common formats first (importing all takes ~0.3 s)
        load_plugins()
        for fmt in list(Image.ID):
            factory, accept = Image.OPEN[fmt]
            try:
                ok = accept(prefix) if accept is not None else True
                if not ok or isinstance(ok, str):   # a string: a known but unsupported variant
                    continue
                with factory(io.BytesIO(data), '') as im:
                    w, h = im.size
            except Exception:  # noqa: BLE001  (not this format, or a header it cannot parse)
                continue
            return int(w), int(h)
    return None


def _check_pixels(data: bytes, path: str, what: str) -> None:
    """Refuse an image whose header declares more pixels than :func:`max_image_pixels`, before decoding."""
    limit = max_image_pixels()
    size = declared_size(data) if limit else None
    if size and size[0] * size[1] > limit:
        w, h = size
        raise DataError(f'cannot decode {what} {path}: it declares {w}x{h} pixels ({w * h / 1e6:.1f} Mpx, '
                        f'{len(data)} bytes on disk), above the limit of {limit} pixels; if the image is '
                        f'genuine, raise the limit ({MAX_PIXELS_ENV}=N, 0 = none)')


def _read(path: str, what: str, flags: int) -> np.ndarray:
    if not os.path.isfile(path):
        raise MissingFileError(f'{what} not found: {path}')
    with open(path, 'rb') as f:
        data = f.read()
    if not data:
        raise DataError(f'cannot decode {what} {path}: empty file (0 bytes)')
    _check_complete(data, path, what)
    _check_pixels(data, path, what)
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as e:   # OpenCV's own size limit (CV_IO_MAX_IMAGE_PIXELS), out of memory, ...
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        raise DataError(f'cannot decode {what} {path}: OpenCV refused it ({lines[-1] if lines else "cv2.error"})'
                        ) from None
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


def _check_label_content(path: str) -> None:
    """A label map's bytes must be what its name says, and never JPEG: a lossy JPEG (even one named ``.png``)
    decodes to label values that were never written, without an error."""
    if not os.path.isfile(path):
        return                                       # _read names the missing file
    with open(path, 'rb') as f:
        head = f.read(16)
    ext = os.path.splitext(path)[1].lower()
    if head.startswith(_JPEG):
        raise DataError(f'label map {path} holds JPEG data{f" (named {ext})" if ext else ""}: lossy compression '
                        'changes label values; labels must be PNG (lossless)')
    if ext == '.png' and head and not head.startswith(_PNG):
        kind = 'text' if all(32 <= b < 127 or b in b'\t\r\n' for b in head) else 'not PNG data'
        raise DataError(f'label map {path} is named .png but its content is {kind} (starts with {head[:8]!r}); '
                        'expected a PNG')


def read_label(path: str) -> np.ndarray:
    """HxW uint8/uint16 single-channel label map, read unchanged (callers check the value range); its content
    must match its name (a ``.png`` holds PNG data; JPEG is refused whatever the name)."""
    _check_label_content(path)
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
    complete or absent, never half-written; a failed write (disk full) raises ``WriteError`` naming ``path``."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    arr = image[..., ::-1] if image.ndim == 3 else image
    try:
        ok, buf = cv2.imencode(os.path.splitext(path)[1] or '.png', np.ascontiguousarray(arr))
    except cv2.error:
        ok = False
    if not ok:
        raise OSError(f'could not encode an image for {path} (unknown extension or unsupported pixels)')
    from ..atomic import atomic_path, writing
    with atomic_path(path) as tmp, writing(path, 'image'):   # disk full: a WriteError naming ``path``
        with open(tmp, 'wb') as f:
            f.write(buf.tobytes())
