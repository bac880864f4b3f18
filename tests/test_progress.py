"""Long loops outside the runner show progress on a terminal (and stay quiet in logs and pipes)."""
import io
import sys
from types import SimpleNamespace

import numpy as np
import torch

from hrvision.tasks.face.bench import predict_dataset


class FakeModel:
    def to(self, device):
        return self

    def test_step(self, data):
        meta = [dict(img_path=f'{i}.png', center=(0, 0), scale=1.0, ori_keypoints=np.zeros((2, 2))) for i in data]
        return [SimpleNamespace(metainfo=m, pred_keypoints=torch.zeros(2, 2)) for m in meta]


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_bench_wflw_prediction_loop_shows_progress_on_a_terminal(monkeypatch):
    err = Terminal()
    monkeypatch.setattr(sys, 'stderr', err)
    records, _ = predict_dataset(FakeModel(), list(range(10)), batch_size=4, device='cpu')
    assert len(records) == 10
    assert 'predict' in err.getvalue() and '/3 ' in err.getvalue(), err.getvalue()  # 3 batches
    pipe = io.StringIO()                      # not a terminal: no bar
    monkeypatch.setattr(sys, 'stderr', pipe)
    predict_dataset(FakeModel(), list(range(10)), batch_size=4, device='cpu')
    assert pipe.getvalue() == ''
