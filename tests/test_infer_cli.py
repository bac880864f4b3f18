"""``hrvision infer`` through the command line (subprocess): outputs per task, video, refusals (exit 2, one line)."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from hrvision.inference import Inferencer
from tests.test_infer import setups  # noqa: F401  (the module fixture: tiny configs + checkpoints per task)

ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')


def _infer(*args):
    return subprocess.run([sys.executable, '-m', 'hrvision', 'infer', *map(str, args)], capture_output=True,
                          text=True, env=ENV, timeout=600)


def _refused(r, text):
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert r.returncode == 2 and 'Traceback' not in r.stderr and len(lines) == 1 and text in lines[0], r.stderr[-2000:]


def _video(path, n=10, size=(48, 64)):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 5, size[::-1])
    for i in range(n):
        w.write(np.random.default_rng(i).integers(0, 255, (*size, 3), dtype=np.uint8))
    w.release()


def _frames(path):
    cap, n = cv2.VideoCapture(str(path)), 0
    while cap.read()[0]:
        n += 1
    return n


def test_seg_folder_video_pictures_and_summary(setups, tmp_path):  # noqa: F811
    cfg, ckpt, root = setups['seg']
    folder = root / 'leftImg8bit' / 'val'
    (tmp_path / 'in').mkdir()
    for p in folder.rglob('*.png'):
        (tmp_path / 'in' / p.name).write_bytes(p.read_bytes())
    (tmp_path / 'in' / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n')
    (tmp_path / 'in' / 'readme.txt').write_text('x')
    _video(tmp_path / 'clip.avi')
    out = tmp_path / 'out'
    r = _infer(cfg, ckpt, tmp_path / 'in', tmp_path / 'clip.avi', '--out', out, '--show-dir', out / 'show',
               '--batch', '2')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'hrvision infer: 12 images, 2 skipped' in r.stdout and 'images/s' in r.stdout
    assert 'skipped' in r.stderr and 'broken.png' in r.stderr and 'readme.txt' in r.stderr
    label_ids = sorted(p.name for p in (out / 'labelIds').iterdir())
    assert len(label_ids) == 12 and 'aachen_000000_000019_labelIds.png' in label_ids
    assert sum(n.startswith('clip_') for n in label_ids) == 10          # per-frame results
    assert _frames(out / 'clip_annotated.mp4') == 10                    # a playable video of every frame
    assert len(list((out / 'show').iterdir())) == 12 and len(list((out / 'color').iterdir())) == 12
    # label ids are the Cityscapes ids of the Inferencer's train ids
    from hrvision.tasks.segmentation.labels import train_ids_to_label_ids
    img = next(folder.rglob('aachen*.png'))
    pred = Inferencer(cfg, ckpt, device='cpu')(str(img))[0]['sem_seg']
    written = cv2.imread(str(out / 'labelIds' / 'aachen_000000_000019_labelIds.png'), cv2.IMREAD_UNCHANGED)
    assert (written == train_ids_to_label_ids(pred)).all()
    manifest = json.loads((out / 'hrvision_manifest.json').read_text())
    assert manifest['status'] == 'complete' and 'clip_annotated.mp4' in manifest['files']


@pytest.mark.parametrize('task', ['pose', 'det', 'face', 'multitask'])
def test_json_outputs_equal_the_inferencer(setups, tmp_path, task):  # noqa: F811
    cfg, ckpt, root = setups[task]
    img = sorted(p for p in root.rglob('*') if p.suffix in ('.png', '.jpg') and 'val' in str(p)
                 or p.suffix in ('.png', '.jpg') and task == 'face')[0]
    r = _infer(cfg, ckpt, img, '--out', tmp_path / 'out', '--show-dir', tmp_path / 'pics')
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / 'pics' / (img.stem + '.png')).is_file()
    ref = Inferencer(cfg, ckpt, device='cpu')(str(img))[0]
    name = {'pose': 'keypoints', 'det': 'detections', 'face': 'landmarks', 'multitask': 'results'}[task]
    got = json.loads((tmp_path / 'out' / f'{name}.json').read_text())
    if task == 'pose':   # COCO keypoint results: x, y, score per joint
        assert len(got) == 1 and got[0]['category_id'] == 1
        kp = np.asarray(got[0]['keypoints']).reshape(17, 3)
        np.testing.assert_allclose(kp[:, :2], ref['keypoints'][0], atol=1e-4)
        np.testing.assert_allclose(kp[:, 2], ref['keypoint_scores'][0], atol=1e-5)
    elif task == 'det':
        assert len(got) == len(ref['bboxes']) > 0
        x, y, w, h = got[0]['bbox']
        np.testing.assert_allclose([x, y, x + w, y + h], ref['bboxes'][0], atol=1e-3)
        assert got[0]['category_id'] == ref['category_ids'][0] == [1, 3, 4, 7][ref['labels'][0]]   # synthetic ids
    elif task == 'face':
        assert got[0]['order'] == 'WFLW-98' and len(got[0]['faces'][0]['landmarks']) == 98
        np.testing.assert_allclose(got[0]['faces'][0]['landmarks'], ref['keypoints'][0], atol=1e-4)
    else:
        assert set(got[0]['heads']) == {'det', 'pose', 'seg'}
        np.testing.assert_allclose(got[0]['heads']['det']['bboxes'], ref['det']['bboxes'], atol=1e-3)
        assert len(list((tmp_path / 'out' / 'labels').iterdir())) == 1


def test_refusals(setups, tmp_path, capsys):  # noqa: F811
    cfg, ckpt, _ = setups['seg']
    (tmp_path / 'empty').mkdir()
    _refused(_infer(cfg, ckpt, tmp_path / 'empty', '--out', tmp_path / 'o1'), 'folder holds no images')
    assert not (tmp_path / 'o1').exists()      # refused before anything is written
    (tmp_path / 'a.png').write_bytes(b'')
    _refused(_infer(cfg, ckpt, tmp_path / 'a.png', '--out', tmp_path / 'o3'), 'no image could be read (1 skipped: '
             'cannot decode image')
    # the same one-line rule in-process (saves a Python start per case)
    from hrvision.cli import main
    (tmp_path / 'busy').mkdir()
    (tmp_path / 'busy' / 'mine.txt').write_text('x')
    det_cfg, det_ckpt, _ = setups['det']
    for args, text in [([tmp_path / 'missing.png'], 'input not found'),
                       ([tmp_path / 'w.pth', tmp_path / 'a.png'], 'checkpoint not found'),
                       ([ckpt, tmp_path / 'a.png', '--out', tmp_path / 'busy'], 'is not empty'),
                       ([ckpt, tmp_path / 'a.png', '--backend', 'onnxruntime'], 'needs --onnx'),
                       ([ckpt, tmp_path / 'a.png', '--batch', '0'], 'expected a positive integer'),
                       ([ckpt, tmp_path / 'a.png', '--det-config', det_cfg, '--det-checkpoint', det_ckpt],
                        'gives person boxes to a pose model')]:
        if '--out' not in args:
            args = [*args, '--out', tmp_path / 'o5']
        capsys.readouterr()
        code = main(['infer', cfg, *map(str, args)]) if '--batch' not in args else _parse_exit(main, cfg, args)
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and text in err[0], (text, err)
    assert (tmp_path / 'busy' / 'mine.txt').read_text() == 'x'


def _parse_exit(main, cfg, args):
    with pytest.raises(SystemExit) as e:   # argparse usage errors exit from the parser
        main(['infer', cfg, *map(str, args)])
    return e.value.code


def test_cfg_options_switch_the_face_flip_test(setups, tmp_path):  # noqa: F811
    """``--cfg-options`` reaches the model: the face flip test (off by default, as official) turned on gives the
    Inferencer's flip-test landmarks; a misspelt key is refused in one line."""
    cfg, ckpt, root = setups['face']
    img = sorted(p for p in root.rglob('*') if p.suffix in ('.png', '.jpg'))[0]
    r = _infer(cfg, ckpt, img, '--out', tmp_path / 'out', '--cfg-options', 'model.test_cfg.flip_test=True')
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads((tmp_path / 'out' / 'landmarks.json').read_text())[0]['faces'][0]['landmarks']
    flip = Inferencer(cfg, ckpt, device='cpu', cfg_options={'model.test_cfg.flip_test': True})
    plain = Inferencer(cfg, ckpt, device='cpu')
    assert flip.model.test_cfg['flip_test'] is True and plain.model.test_cfg['flip_test'] is False
    want, without = flip(str(img))[0]['keypoints'][0], plain(str(img))[0]['keypoints'][0]
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert np.abs(want - without).max() > 1e-3   # the option changed the predictions
    _refused(_infer(cfg, ckpt, img, '--out', tmp_path / 'o2', '--cfg-options', 'model.test_cfg.flip=True'),
             "model.test_cfg.flip: unknown key; did you mean 'flip_test'")
