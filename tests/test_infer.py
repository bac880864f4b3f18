"""hrvision.Inferencer: on the dataset's own image it equals what the test loop (``hrvision test``) predicts with
the same checkpoint, for every task; folders of mixed sizes, arrays, boxes, two-stage pose; bad input."""
from importlib import import_module
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from hrvision.errors import InputError
from hrvision.inference import Inferencer
from hrvision.registry import MODELS

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(STAGE1=dict(NUM_MODULES=1, BLOCK='BOTTLENECK', NUM_BLOCKS=[1], NUM_CHANNELS=[8]),
            STAGE2=dict(NUM_MODULES=1, BLOCK='BASIC', NUM_BLOCKS=[1, 1], NUM_CHANNELS=[4, 8]),
            STAGE3=dict(NUM_MODULES=1, BLOCK='BASIC', NUM_BLOCKS=[1, 1, 1], NUM_CHANNELS=[4, 8, 16]),
            STAGE4=dict(NUM_MODULES=1, BLOCK='BASIC', NUM_BLOCKS=[1, 1, 1, 1], NUM_CHANNELS=[4, 8, 16, 32]))


SYNTH = {'seg': ('segmentation', (64, 128)), 'pose': ('pose', (160, 192)), 'face': ('face', (80, 80)),
         'det': ('detection', (64, 96)), 'multitask': ('multitask', (64, 64))}


def _data(task, root):
    """Every task's synthetic data in its real format (``write_synthetic``, as ``hrvision data synth-*``)."""
    package, size = SYNTH[task]
    import_module(f'hrvision.tasks.{package}.synth').write_synthetic(str(root), n_train=1, n_val=2, size=size, seed=3)


def _overrides(task, root):
    data = {f'{k}.dataset.data_root': str(root) + '/' for k in ('train_dataloader', 'val_dataloader',
                                                                'test_dataloader')}
    if task == 'seg':
        return 'tests/configs/seg_tiny.py', data
    if task == 'pose':
        return 'configs/pose/demo_synthetic.py', dict(data, **{
            'model.backbone': dict(type='HRNet', extra=TINY, multi_scale_output=False, out_indices=(0,),
                                   upsample_mode='nearest'), 'model.head.in_channels': 4,
            'val_evaluator.ann_file': str(root / 'annotations/person_keypoints_val.json')})
    if task == 'face':
        return 'configs/face/demo_synthetic_wflw.py', dict(data, **{
            'model.backbone.extra': TINY, 'model.neck.in_channels': [4, 8, 16, 32], 'model.head.in_channels': 60})
    if task == 'det':
        return 'configs/detection/hrnetv2p_tiny_fcos_synth.py', dict(data, **{
            'model.backbone.extra': TINY, 'model.detector.score_thresh': 0.0})
    return 'configs/multitask/demo_synthetic.py', dict(data, **{
        'model.backbone': dict(type='HRNet', extra=TINY, upsample_mode='bilinear', align_corners=False),
        'model.heads.det.score_thresh': 0.0})


TASKS = ('seg', 'pose', 'face', 'det', 'multitask')
KINDS = dict(seg='segmentation', det='detection')   # setup name -> the model's task kind


@pytest.fixture(scope='module')
def setups(tmp_path_factory):
    """Per task: (config path, checkpoint path, data root)."""
    init_default_scope('hrvision')
    out = {}
    for task in TASKS:
        root = tmp_path_factory.mktemp(task)
        _data(task, root / 'data')
        base, opts = _overrides(task, root / 'data')
        cfg = Config.fromfile(str(ROOT / base))
        cfg.merge_from_dict(opts)
        cfg.dump(str(root / 'cfg.py'))
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        for m in model.modules():   # non-trivial BN statistics, so a mix-up of images would show
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
        torch.save({'state_dict': model.state_dict()}, root / 'w.pth')
        out[task] = (str(root / 'cfg.py'), str(root / 'w.pth'), root / 'data')
    return out


def _test_loop(cfg_path, ckpt):
    """What ``hrvision test`` predicts: the config's test dataloader through ``model.test_step`` (the config read
    as ``hrvision test`` reads it: ``prepare_config`` fills what follows from others, e.g. a pose crop's size)."""
    from hrvision.engine.runner import prepare_config
    init_default_scope('hrvision')
    cfg = prepare_config(cfg_path)
    model = MODELS.build(cfg.model)
    model.load_state_dict(torch.load(ckpt, weights_only=True)['state_dict'])
    model.eval()
    samples = []
    with torch.no_grad():
        for batch in Runner.build_dataloader(cfg.test_dataloader):
            samples += model.test_step(batch)
    return model, samples


def _close(a, b, atol=1e-4):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), atol=atol, rtol=1e-4)


@pytest.mark.parametrize('task', TASKS)
def test_inferencer_equals_test_loop(setups, task):
    cfg, ckpt, _ = setups[task]
    model, samples = _test_loop(cfg, ckpt)
    inf = Inferencer(cfg, ckpt, device='cpu', batch_size=2)
    assert inf.kind == KINDS.get(task, task)
    for s in samples:
        path = s.metainfo['img_path']
        if task == 'seg':
            r = inf(path)[0]
            assert (r['sem_seg'] == s.pred_sem_seg.numpy()).all()
        elif task == 'det':
            r = inf(path)[0]
            p = s.pred_instances
            assert len(p.bboxes) > 0
            _close(r['bboxes'], p.bboxes.numpy(), 1e-3)
            _close(r['scores'], p.scores.numpy())
            assert (r['labels'] == p.labels.numpy()).all()
        elif task == 'pose':   # the test loop's person box, as a box given to the Inferencer
            x, y, w, h = s.metainfo['bbox']
            r = inf(path, boxes=[[[x, y, x + w, y + h]]])[0]
            _close(r['keypoints'][0], s.pred_keypoints.numpy(), 1e-3)
            _close(r['keypoint_scores'][0], s.keypoint_scores.numpy())
        elif task == 'face':   # the crop of the test loop as a square box
            (cx, cy), half = s.metainfo['center'], s.metainfo['scale'] * 100 / 1.25
            r = inf(path, boxes=[[[cx - half, cy - half, cx + half, cy + half]]])[0]
            _close(r['keypoints'][0], s.pred_keypoints.numpy(), 1e-3)
        else:
            r = inf(path)[0]
            heads = {a.kind: n for n, a in model.adapters.items()}
            assert (r[heads['segmentation']]['sem_seg'] == s.pred_sem_seg.numpy()).all()
            assert len(s.pred_instances.bboxes) > 0 and len(s.pred_pose.keypoints) > 0
            _close(r[heads['detection']]['bboxes'], s.pred_instances.bboxes.numpy(), 1e-3)
            _close(r[heads['pose']]['keypoints'], s.pred_pose.keypoints.numpy(), 1e-3)


def test_seg_probs_are_the_softmax_of_the_upsampled_logits(setups):
    """``seg_probs``: class probabilities (they were a softmax of the official exp-scores)."""
    import torch
    cfg, ckpt, _ = setups['seg']
    inf = Inferencer(cfg, ckpt, device='cpu', seg_probs=True)
    seen, logits = [], inf.model.logits
    inf.model.logits = lambda x: seen.append(logits(x)) or seen[-1]
    img = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    r = inf(img)[0]
    want = torch.softmax(inf.model.head.upsample(seen[0], (48, 64)), 1)[0].numpy()
    assert r['seg_probs'].shape == want.shape and np.abs(r['seg_probs'] - want).max() < 1e-5
    assert (r['sem_seg'] == want.argmax(0)).all()


def test_folder_of_mixed_sizes_arrays_and_bad_files(setups, tmp_path):
    from hrvision.data.io import write_image
    cfg, ckpt, _ = setups['seg']
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for h, w in ((40, 60), (64, 128), (33, 47))]
    for k, im in enumerate(imgs):
        write_image(str(tmp_path / f'{k}.png'), im)
    (tmp_path / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n not really')
    (tmp_path / 'notes.txt').write_text('not an image')
    inf = Inferencer(cfg, ckpt, device='cpu', batch_size=2)
    res = inf(str(tmp_path))
    assert [Path(r['name']).name for r in res] == ['0.png', '1.png', '2.png']
    assert [r['sem_seg'].shape for r in res] == [im.shape[:2] for im in imgs]
    skipped = dict(inf.skipped.entries)
    assert len(skipped) == 2 and 'not an image file' in skipped[str(tmp_path / 'notes.txt')]
    assert 'broken.png' in skipped[str(tmp_path / 'broken.png')]
    # arrays give what their files give; batch size does not change results
    arr = inf(imgs, batch_size=3)
    assert all((a['sem_seg'] == r['sem_seg']).all() for a, r in zip(arr, res))
    assert (inf.predict_array(imgs[1])['sem_seg'] == res[1]['sem_seg']).all()
    assert len(inf(str(tmp_path / '*.png'))) == 3


def test_refusals(setups, tmp_path):
    cfg, ckpt, _ = setups['seg']
    inf = Inferencer(cfg, ckpt, device='cpu')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(InputError, match='folder holds no images'):
        inf(str(tmp_path / 'empty'))
    with pytest.raises(FileNotFoundError, match='input not found'):
        inf(str(tmp_path / 'nope.png'))
    with pytest.raises(InputError, match='matches no file'):
        inf(str(tmp_path / 'x*.jpg'))
    with pytest.raises(InputError, match='HxWx3 uint8'):
        inf(np.zeros((4, 4), np.uint8))
    (tmp_path / 'bad.jpg').write_bytes(b'')
    with pytest.raises(InputError, match='no image could be read'):
        inf(str(tmp_path / 'bad.jpg'))
    with pytest.raises(ValueError, match='backend'):
        Inferencer(cfg, ckpt, backend='tensorrt')
    pose_cfg, pose_ckpt, _ = setups['pose']
    with pytest.raises(InputError, match='x2 > x1'):
        Inferencer(pose_cfg, pose_ckpt, device='cpu')(np.zeros((8, 8, 3), np.uint8), boxes=[[[5, 5, 1, 1]]])


def test_pose_whole_image_boxes_json_and_two_stage(setups, tmp_path):
    import json
    pose_cfg, pose_ckpt, root = setups['pose']
    img_path = sorted((root / 'val').iterdir())[0]
    inf = Inferencer(pose_cfg, pose_ckpt, device='cpu')
    whole = inf(str(img_path))[0]
    h, w = whole['ori_shape']
    assert whole['keypoints'].shape == (1, 17, 2) and (whole['bboxes'] == [[0, 0, w, h]]).all()
    boxes = [[2, 3, 40, 60, 0.9], [10, 10, 50, 70, 0.5]]
    (tmp_path / 'dets.json').write_text(json.dumps({img_path.name: boxes}))
    from_json = inf(str(img_path), boxes=str(tmp_path / 'dets.json'))[0]
    from_list = inf(str(img_path), boxes=[boxes])[0]
    assert from_json['keypoints'].shape == (2, 17, 2)
    _close(from_json['keypoints'], from_list['keypoints'])
    _close(from_json['bbox_scores'], [0.9, 0.5])
    # two-stage with hrvision's own detector: one person per detection, keypoints inside its crop
    det_cfg, det_ckpt, _ = setups['det']
    two = Inferencer(pose_cfg, pose_ckpt, device='cpu', det_config=det_cfg, det_checkpoint=det_ckpt,
                     det_score_thr=0.0, det_label=0)
    res = two(str(img_path))[0]
    dets = Inferencer(det_cfg, det_ckpt, device='cpu')(str(img_path))[0]
    keep = dets['labels'] == 0
    assert len(res['bboxes']) == keep.sum() > 0
    _close(res['bboxes'], dets['bboxes'][keep], 1e-4)
    for box, kp in zip(res['bboxes'], res['keypoints']):
        from hrvision.data.keypoints import box_to_center_scale
        c, s = box_to_center_scale([box[0], box[1], box[2] - box[0], box[3] - box[1]], 72 / 96)
        half = s * 200 / 2
        assert ((kp >= c - half - 1e-3) & (kp <= c + half + 1e-3)).all()


@pytest.mark.parametrize('task', ['seg', 'pose', 'face'])
def test_official_experiment_file(tmp_path, task):
    """An official experiment JSON (no mmengine pipeline): the task's default test steps, original-image pixels."""
    import json

    from tests.conftest import ref_json
    cfg = ref_json(f'{task}_tiny_config.json')
    (tmp_path / 'exp.json').write_text(json.dumps(cfg.get('config', cfg)))
    inf = Inferencer(str(tmp_path / 'exp.json'), None, device='cpu')
    img = np.random.default_rng(0).integers(0, 255, (90, 70, 3), dtype=np.uint8)
    r = inf(img)[0]
    assert inf.kind == KINDS.get(task, task) and r['ori_shape'] == (90, 70)
    if task == 'seg':
        assert r['sem_seg'].shape == (90, 70)
    else:
        kp = r['keypoints'][0]
        assert kp.shape == (17 if task == 'pose' else 98, 2) and (kp > -12).all() and (kp < 102).all()   # in the crop


def test_video_gives_one_result_per_frame(setups, tmp_path):
    import cv2
    cfg, ckpt, _ = setups['seg']
    w = cv2.VideoWriter(str(tmp_path / 'clip.avi'), cv2.VideoWriter_fourcc(*'MJPG'), 5, (64, 48))
    for i in range(10):
        w.write(np.random.default_rng(i).integers(0, 255, (48, 64, 3), dtype=np.uint8))
    w.release()
    inf = Inferencer(cfg, ckpt, device='cpu', batch_size=4)
    out = list(inf.video(str(tmp_path / 'clip.avi')))
    assert len(out) == 10 and all(r['sem_seg'].shape == (48, 64) for _, r in out)
    assert [r['name'].rsplit('#', 1)[1] for _, r in out] == [f'{k:06d}' for k in range(10)]
    assert (out[3][1]['sem_seg'] == inf(out[3][0])[0]['sem_seg']).all()   # a frame = the same image given alone
    with pytest.raises(InputError, match='a video'):
        inf(str(tmp_path / 'clip.avi'))
    (tmp_path / 'bad.mp4').write_bytes(b'no video here')
    with pytest.raises(ValueError, match='cannot open video'):
        list(inf.video(str(tmp_path / 'bad.mp4')))
