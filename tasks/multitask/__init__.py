"""Multi-task HRNet: one backbone pass feeding keypoint, segmentation, landmark and detection heads.

    hrvision data synth-coco-multi work_dirs/multitask_demo/data --n 128     # synthetic people + shapes, COCO files
    hrvision train configs/multitask/demo_synthetic.py                       # CPU demo: keypoints + det + person mask
    hrvision test configs/multitask/demo_synthetic.py CKPT --out DIR         # every task's metric in one pass,
                                                                             # JSON results, masks, pictures
    hrvision train configs/multitask/demo_mixed_cityscapes_coco.py           # seg from Cityscapes, pose from COCO
    hrvision bench multitask                                                 # one 3-head model vs 3 models, img/s

Weights: ``load_task_weights(model, 'pose', 'pose_hrnet_w32_256x192.pth')`` (hrvision / official / mmpose
layouts) and ``export_task(model, 'det')`` (a state dict :class:`~hrvision.tasks.detection.model.DetectionModel`
loads); see :mod:`.weights`. Design (shared features, keypoints on the whole image): :mod:`.adapters`.
"""
from . import dataset, metric, model, sampler, transforms  # noqa: F401  (registration)
from .model import MultiTaskModel
from .weights import export_task, export_task_model, load_task_weights, save_task, task_view

__all__ = ['MultiTaskModel', 'export_task', 'export_task_model', 'load_task_weights', 'save_task', 'task_view']

from . import cli, inference  # noqa: E402,F401  (registers the official families and CLI commands)
