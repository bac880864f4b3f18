"""A short CPU run of the multi-task demo config on synthetic scenes raises every task's metric (bbox AP,
keypoint AP, person mIoU) in one evaluation pass, and writes every task's outputs. Smaller than the demo
(tiny HRNet, 96 px, evaluated on its own 16 training images) so it fits CI; the demo figures next to
single-task runs are in benchmarks/RESULTS.md."""
import os
import os.path as osp

import pytest
import torch

from hrvision.backbones.hrnet import tiny_extra
from hrvision.engine.runner import build_runner, prepare_config
from hrvision.tasks.multitask import synth as multi_synth
from tests.conftest import REPO

ITERS = int(os.environ.get('HRV_MT_ITERS', 100))


def short_run_options(data: str, iters: int, heads: tuple[str, ...] = ('seg', 'pose', 'det')) -> dict:
    """cfg options: tiny backbone, the training split also evaluated (16 images), GT person boxes for pose."""
    ann = osp.join(data, 'annotations')
    tasks = {h: h for h in heads}
    train_ds = {'data_root': data, 'ann_file': 'annotations/instances_train2017.json',
                'kpt_file': 'annotations/person_keypoints_train2017.json', 'data_prefix': dict(img='train2017/'),
                'tasks': tasks}
    metrics = {'det': dict(type='CocoDetectionMetric', ann_file=osp.join(ann, 'instances_train2017.json'), prefix='det'),
               'pose': dict(type='MultiTaskKeypointMetric', ann_file=osp.join(ann, 'person_keypoints_train2017.json'),
                            prefix='pose'),
               'seg': dict(type='SegmentationMetric', num_classes=2, class_names=('background', 'person'), prefix='seg')}
    return {
        'model.backbone': dict(type='HRNet', extra=tiny_extra(8), upsample_mode='bilinear', align_corners=False),
        'model.heads.pose.boxes': 'gt',
        'optim_wrapper.optimizer.lr': 1e-3,
        'train_dataloader.batch_size': 4, 'train_dataloader.dataset': {**train_ds},
        'val_dataloader.dataset': {**train_ds, 'test_mode': True},
        'val_evaluator': dict(type='MultiTaskEvaluator', metrics=[metrics[h] for h in heads]
                              + [dict(type='MultiTaskOutputs', max_pictures=2)]),
        'train_cfg.max_iters': iters, 'train_cfg.val_interval': iters,
        'param_scheduler': [dict(type='LinearLR', start_factor=0.1, begin=0, end=10, by_epoch=False)],
        'default_hooks.checkpoint.interval': iters, 'default_hooks.logger.interval': 20,
    }


@pytest.mark.slow
def test_short_run_raises_every_metric(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # busy 2-core machine
    try:
        data = str(tmp_path / 'data')
        multi_synth.write_synthetic(data, n_train=16, n_val=4, seed=3, size=(96, 96))
        cfg = prepare_config(osp.join(REPO, 'configs', 'multitask', 'demo_synthetic.py'),
                             work_dir=str(tmp_path / 'work'), cfg_options=short_run_options(data, ITERS))
        runner = build_runner(cfg)
        before = runner.val()
        runner.train()
        after = runner.val()
    finally:
        torch.set_num_threads(threads)
    keys = ('det/AP50', 'pose/AP', 'seg/IoU.person')
    print({k: (round(before[k], 3), round(after[k], 3)) for k in keys})
    # measured (2-core CPU, 100 iterations): det AP50 0 -> 0.293, pose AP 0 -> 0.134, person IoU 0.124 -> 0.577
    assert after['det/AP50'] > before['det/AP50'] + 0.03, (before['det/AP50'], after['det/AP50'])
    assert after['pose/AP'] > before['pose/AP'] + 0.06, (before['pose/AP'], after['pose/AP'])
    iou = (before['seg/IoU.person'], after['seg/IoU.person'])
    assert iou[1] > iou[0] + 0.25, iou
    work = cfg.work_dir
    assert any(f == 'bbox_results.json' for _, _, fs in os.walk(work) for f in fs)
    assert osp.isfile(osp.join(work, 'keypoints_results.json'))
    assert len(os.listdir(osp.join(work, 'masks'))) == 16 and len(os.listdir(osp.join(work, 'pictures'))) == 2


def test_mixed_sources_config_alternates_single_task_batches(tmp_path):
    """Cityscapes-format seg + COCO-format keypoints: batches alternate between sources, each labelled for its
    own head; evaluation gives each metric only its own source's images."""
    from hrvision.tasks.segmentation import synth as seg_synth
    city, coco = str(tmp_path / 'city'), str(tmp_path / 'coco')
    seg_synth.write_synthetic(city, n_train=4, n_val=2, size=(64, 128), seed=0)
    multi_synth.write_synthetic(coco, n_train=4, n_val=2, seed=0, size=(64, 64))
    cfg = prepare_config(osp.join(REPO, 'configs', 'multitask', 'demo_mixed_cityscapes_coco.py'),
                         work_dir=str(tmp_path / 'work'), cfg_options={
                             'model.backbone': dict(type='HRNet', extra=tiny_extra(4), upsample_mode='bilinear',
                                                    align_corners=False),
                             'train_cfg.max_iters': 2, 'train_cfg.val_interval': 2, 'train_dataloader.batch_size': 2})
    for dl in (cfg.train_dataloader, cfg.val_dataloader):
        dl.dataset.sources[0].dataset.data_root = city
        dl.dataset.sources[1].dataset.data_root = coco
    cfg.val_evaluator.metrics[1].ann_file = osp.join(coco, 'annotations', 'person_keypoints_val2017.json')
    runner = build_runner(cfg)
    seen = []
    model_loss = runner.model.loss

    def spy(inputs, data_samples):
        seen.append(sorted({t for s in data_samples for t in s.metainfo['tasks']}))
        return model_loss(inputs, data_samples)

    runner.model.loss = spy
    runner.train()
    assert seen == [['seg'], ['pose']]
    seg_metric = runner.val_evaluator.metrics[0]
    scored = []
    seg_process = seg_metric.process
    seg_metric.process = lambda batch, samples: (scored.extend(s['img_path'] for s in samples),
                                                 seg_process(batch, samples))
    metrics = runner.val()
    assert 'seg/mIoU' in metrics and 'pose/AP' in metrics
    assert len(scored) == 2 and all('leftImg8bit' in p for p in scored)   # no COCO image in the Cityscapes mIoU
