"""Multi-task HRNet: one backbone pass feeding keypoint, segmentation, landmark and detection heads.

    hrvision data synth-coco-multi work_dirs/multitask_demo/data --n 96      # synthetic people + objects, COCO
    hrvision train configs/multitask/demo_synthetic.py                       # CPU demo (keypoints + det + seg)
    hrvision test configs/multitask/demo_synthetic.py CKPT --out DIR         # every task's metric in one pass
"""
from . import dataset, metric, model, sampler, transforms  # noqa: F401  (registration)
from .model import MultiTaskModel
from .weights import export_task, export_task_model, load_task_weights, task_view

__all__ = ['MultiTaskModel', 'export_task', 'export_task_model', 'load_task_weights', 'task_view']
