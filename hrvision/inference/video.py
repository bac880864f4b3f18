"""Video in (any format OpenCV reads) -> frames; annotated frames -> a video file written complete or not at all."""
from __future__ import annotations

import os
from typing import Iterator

import numpy as np

from ..errors import DataError

FOURCC = {'.mp4': 'mp4v', '.m4v': 'mp4v', '.mov': 'mp4v', '.avi': 'MJPG', '.mkv': 'MJPG'}


def open_video(path: str):
    """``(capture, fps, frame count or 0)``; a file OpenCV cannot open is an error naming it."""
    import cv2
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise DataError(f'cannot open video {path} (not a video OpenCV can read)')
    fps = cap.get(cv2.CAP_PROP_FPS)
    return cap, (fps if fps and fps > 0 else 25.0), max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))


def frames(cap) -> Iterator[np.ndarray]:
    """RGB uint8 frames until the end of the stream."""
    import cv2
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


class VideoOut:
    """``with VideoOut(path, fps) as v: v.write(rgb)``: the file appears at ``path`` only when the block ends well.

    The codec follows the suffix (mp4v for .mp4, MJPG for .avi)."""

    def __init__(self, path: str, fps: float) -> None:
        self.path, self.fps, self.writer, self.count = path, fps, None, 0
        ext = os.path.splitext(path)[1].lower()
        if ext not in FOURCC:
            raise DataError(f'{path}: video output needs one of the suffixes {", ".join(FOURCC)}')
        self.tmp = f'{path}.tmp{os.getpid()}{ext}'   # OpenCV picks the container from the suffix

    def write(self, rgb: np.ndarray) -> None:
        import cv2
        if self.writer is None:
            h, w = rgb.shape[:2]
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            fourcc = cv2.VideoWriter_fourcc(*FOURCC[os.path.splitext(self.path)[1].lower()])
            self.writer = cv2.VideoWriter(self.tmp, fourcc, self.fps, (w, h))
            if not self.writer.isOpened():
                raise DataError(f'{self.path}: OpenCV cannot write this video format here')
            self.size = (w, h)
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            import cv2
            rgb = cv2.resize(rgb, self.size)
        self.writer.write(np.ascontiguousarray(rgb[..., ::-1]))
        self.count += 1

    def __enter__(self) -> 'VideoOut':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.writer is not None:
            self.writer.release()
        try:
            if exc_type is None and self.count:
                self._check_written()
                os.replace(self.tmp, self.path)
        finally:
            if os.path.lexists(self.tmp):
                os.remove(self.tmp)

    def _check_written(self) -> None:
        """OpenCV's writer only warns when a write fails (disk full) and leaves a broken file: read the frame
        count back before the file takes its name."""
        import cv2

        from ..errors import WriteError
        cap = cv2.VideoCapture(self.tmp)
        try:
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
        finally:
            cap.release()
        if n < self.count:
            err = WriteError(f'cannot write video {self.path}: {max(n, 0)} of its {self.count} frames could be read '
                             'back (the disk is full or a file size limit was reached?); nothing was written')
            err.filename = self.path   # errno: unknown (OpenCV does not say why its writes failed)
            raise err
