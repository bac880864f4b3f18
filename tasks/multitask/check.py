"""``hrvision data check`` for multi-task COCO data: images labelled per task, boxes per class, people and visible
keypoints per joint, labels outside the classes; pictures of the training input with its mask, boxes and
skeletons."""
from __future__ import annotations

import numpy as np

from hrvision.data_check import DatasetCheck, Report, progress, to_image
from hrvision.registry import register_data_check
from hrvision.tasks.detection.check import count_box_labels
from hrvision.visualization import blend, colorize, draw_boxes, draw_skeleton, hstack


@register_data_check('CocoMultiTaskDataset')
class MultiTaskCheck(DatasetCheck):
    """Counts from the data list (what the heads are trained on); errors: a box label outside ``classes``."""

    def summarize(self, dataset, report: Report) -> None:
        meta = dict(dataset.metainfo)
        classes = list(meta.get('classes') or ())
        names = list(meta.get('keypoint_names') or ())
        source = meta.get('ann_file') or getattr(dataset, 'ann_file', '')
        per_class = np.zeros(max(len(classes), 1), np.int64)
        per_task: dict = {}
        people = 0
        visible = None
        for i in progress(range(len(dataset)), 'labels'):
            info = dataset.get_data_info(i)
            for t in info.get('tasks', ()):
                per_task[t] = per_task.get(t, 0) + 1
            count_box_labels(info, classes, per_class, source, report)
            kp = np.asarray(info.get('gt_keypoints', np.zeros((0, 0, 3))))
            if kp.ndim == 3 and len(kp):
                people += len(kp)
                v = (kp[..., 2] > 0).sum(0)
                visible = v if visible is None or len(visible) != len(v) else visible + v
        report.counts['images per task'] = per_task
        if classes:
            report.counts['boxes per class'] = {c: int(n) for c, n in zip(classes, per_class)}
        report.counts['people'] = people
        if visible is not None:
            labels = names if len(names) == len(visible) else [str(k) for k in range(len(visible))]
            report.counts['visible keypoints per joint'] = dict(zip(labels, (int(v) for v in visible)))

    def head_problems(self, model_cfg: dict, meta: dict, source: str, report: Report) -> None:
        """Each head of ``model.heads`` against the metadata of the data labelling it (the comparison
        ``MultiTaskModel.check_dataset_meta`` makes, from the config alone)."""
        from .adapters import ADAPTERS
        from .model import HEAD_COUNTS, head_meta_problems
        heads = {}
        for name, cfg in (model_cfg.get('heads') or {}).items():
            adapter = ADAPTERS.get(cfg.get('type')) if isinstance(cfg, dict) else None
            if adapter is not None and adapter.kind in HEAD_COUNTS:
                n = cfg.get(HEAD_COUNTS[adapter.kind][0])
                if isinstance(n, int) and not isinstance(n, bool):
                    heads[name] = (adapter.kind, n)
        for path, message in head_meta_problems(heads, meta, source):
            report.error('metadata_vs_head', path, message)

    def draw(self, sample: dict, meta: dict) -> np.ndarray:
        image = to_image(sample['inputs'])
        ds = sample['data_samples']
        out = image
        if 'gt_sem_seg' in ds:
            seg = ds.gt_sem_seg.numpy().reshape(image.shape[:2])
            n = max(int(seg[seg != 255].max(initial=0)) + 1, 2)
            pal = np.random.default_rng(0).integers(0, 256, (n, 3)).astype(np.uint8)
            pal[0] = 0
            out = np.where((seg > 0)[..., None] & (seg != 255)[..., None],
                           blend(out, colorize(seg, pal), 0.5), out).astype(np.uint8)
        if 'gt_instances' in ds:
            classes = list(meta.get('classes') or ())
            labels = ds.gt_instances.labels.numpy().reshape(-1)
            out = draw_boxes(out, ds.gt_instances.bboxes.numpy(),
                             [classes[c] if 0 <= c < len(classes) else str(c) for c in labels], thickness=1)
        if 'gt_pose' in ds:
            links = [tuple(p) for p in meta.get('skeleton') or ()]
            for kp, vis in zip(ds.gt_pose.keypoints.numpy(), ds.gt_pose.keypoints_visible.numpy()):
                out = draw_skeleton(out, kp, [p for p in links if max(p) < len(kp)], vis, thickness=1)
        return hstack([image, out])
