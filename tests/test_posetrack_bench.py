"""``hrvision bench posetrack`` end to end on one tiny synthetic video with an untrained tiny model (through
``hrvision.cli.main``): prediction files the evaluator reads back, one annotated MP4 per video, the table."""
import json
import os

import cv2
import numpy as np
import torch

import hrvision
from hrvision.cli import main
from hrvision.tasks.posetrack.formats import read_dir
from hrvision.tasks.posetrack.synth import write_split

CONFIG = 'configs/posetrack/demo_synthetic.py'


def test_bench_posetrack_writes_predictions_videos_and_table(tmp_path, capsys):
    write_split(str(tmp_path / 'data'), 'val', 1, 4, np.random.RandomState(0), (128, 96))
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save(hrvision.init_model(CONFIG, None, 'cpu').state_dict(), ckpt)
    out = tmp_path / 'out'
    rc = main(['bench', 'posetrack', CONFIG, ckpt, '--data-root', str(tmp_path / 'data'), '--out', str(out),
               '--kpt-thr', '0'])
    assert rc == 0
    lines = capsys.readouterr().out.strip().splitlines()
    res = json.loads(lines[-1])
    assert set(res['ap']) == {'Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Total'}
    gt = read_dir(str(tmp_path / 'data' / 'annotations' / 'val'))['000001_mpii_test']
    counted = sum(1 for f in gt.frames if f.is_labeled and f.people)   # frame 0 is unlabelled
    assert (res['counts']['videos'], res['counts']['frames']) == (1, counted)
    pred = read_dir(str(out / 'predictions'), predictions=True)['000001_mpii_test']
    assert len(pred.frames) == 4 and all(len(f.people) for f in pred.frames)
    for f in pred.frames:
        ids = [p.track_id for p in f.people]
        assert len(set(ids)) == len(ids)
    cap = cv2.VideoCapture(str(out / 'videos' / '000001_mpii_test.mp4'))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 4
    assert os.path.isfile(out / 'hrvision_manifest.json')
    # a second run into the same folder is refused before any work (exit 2, one line)
    assert main(['bench', 'posetrack', CONFIG, ckpt, '--data-root', str(tmp_path / 'data'), '--out', str(out)]) == 2


def _whole_image_detector(cfg, label):
    """The tiny detector with its last layers set so that every location predicts class ``label`` (score ~1)
    with a box far larger than the image: clipped to the image, they collapse into one whole-image box."""
    model = hrvision.init_model(cfg, None, 'cpu')
    sd = model.state_dict()
    for part, bias in (('classification_head.cls_logits', [-10.0] * 4), ('regression_head.bbox_reg', [50.0] * 4),
                       ('regression_head.bbox_ctrness', [10.0])):
        sd[f'head.head.{part}.weight'].zero_()
        sd[f'head.head.{part}.bias'].copy_(torch.tensor(bias))
    sd['head.head.classification_head.cls_logits.bias'][label] = 10.0
    return sd


def test_bench_posetrack_with_hrvision_detector(tmp_path, capsys):
    """Person boxes from an hrvision detector instead of a detection file: a detector that finds one person of
    class 3 covering the image gives every frame exactly that person (box = the image, one track id); the
    person class is the one asked for (--det-label)."""
    write_split(str(tmp_path / 'data'), 'val', 1, 3, np.random.RandomState(0), (128, 96))
    torch.manual_seed(0)
    det_cfg = 'configs/detection/hrnetv2p_tiny_fcos_synth.py'
    ckpts = {'pose': str(tmp_path / 'pose.pth'), 'det': str(tmp_path / 'det.pth')}
    torch.save(hrvision.init_model(CONFIG, None, 'cpu').state_dict(), ckpts['pose'])
    torch.save(_whole_image_detector(det_cfg, 3), ckpts['det'])
    for label, people in ((3, 1), (2, 0)):
        out = tmp_path / f'out{label}'
        assert main(['bench', 'posetrack', CONFIG, ckpts['pose'], '--data-root', str(tmp_path / 'data'), '--out',
                     str(out), '--det-config', det_cfg, '--det-checkpoint', ckpts['det'], '--det-score-thr', '0.5',
                     '--det-label', str(label), '--no-propagate']) == 0
        res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert res['counts']['videos'] == 1
        pred = read_dir(str(out / 'predictions'), predictions=True)['000001_mpii_test']
        assert len(pred.frames) == 3 and os.path.isfile(out / 'videos' / '000001_mpii_test.mp4')
        assert [len(f.people) for f in pred.frames] == [people] * 3
    pred = read_dir(str(tmp_path / 'out3' / 'predictions'), predictions=True)['000001_mpii_test']
    boxes = [p.bbox for f in pred.frames for p in f.people]
    assert boxes == [[0.0, 0.0, 127.0, 95.0]] * 3                      # the image (128 x 96), clipped to W-1, H-1
    assert len({p.track_id for f in pred.frames for p in f.people}) == 1
