"""``MultiTaskModel``: one HRNet, several single-task heads, one backbone forward per batch.

    backbone (4 branches) --+-- branch 0 (stride 4) ------------------> PoseHead           (pose)
                            +-- HRNetV2Concat (once) --+--------------> SegmentationHead/FaceHead
                                                       +-- necks.det (HRNetV2p) --> DetectionHead (det)

Heads are the single-task classes, built by their adapters (:mod:`.adapters`, also the keypoint design notes).
Config: ``heads=dict(seg=dict(type='SegmentationHead', ...), pose=dict(type='PoseHead', ...), ...)``;
``loss_weights=dict(seg=1.0, ...)`` (missing = 1, negative = error); ``uncertainty=True`` adds learned
log-variances ``s_t`` (Kendall, Gal & Cipolla, CVPR 2018): ``L = sum_t w_t * L_t * exp(-s_t) + s_t``.

Partial labels: ``sample.metainfo['tasks']`` lists the head names the sample is labelled for (a sample without the
list is refused, naming it: it would train nothing). A head's loss sees only those samples; a batch with none gives its parameters an exactly-zero gradient (a zero loss tied to them and to the shared feature it reads, so the backbone layers only that head reads
get a zero gradient too: DDP needs one for every parameter).
Losses are logged per task: ``seg.loss_ce``, ``pose.loss_kpt``, ``det.loss_classification``, ...
"""
from __future__ import annotations

from typing import Sequence

import torch
from mmengine.logging import print_log
from torch import Tensor, nn

from hrvision.engine.model import TaskModel
from hrvision.engine.preprocessor import build_module
from hrvision.errors import ConfigError, DataError
from hrvision.necks import HRNetV2Concat
from hrvision.registry import MODELS, task_kind
from hrvision.shape import channels_of, fill, fuse_align_corners
from hrvision.structures import DataSample
from hrvision.weights import load_weights

from .adapters import TaskAdapter, build_adapter, zero_loss


def sample_tasks(sample: DataSample, index: int | None = None) -> set[str]:
    """The head names a sample is labelled for (``metainfo['tasks']``). A sample without the list would count as
    labelled for no head (every loss zero, nothing trained, silently): ``DataError`` naming it."""
    meta = sample if isinstance(sample, dict) else sample.metainfo   # the evaluator sees the dict form
    if 'tasks' not in meta:
        raise DataError(f'multi-task sample {describe_sample(sample, index)} has no metainfo "tasks" (the head names '
                        f'it is labelled for): CocoMultiTaskDataset / MultiSourceDataset set it and '
                        f'PackMultiTaskInputs keeps it; a custom pipeline must pack it too')
    return set(meta['tasks'] or ())


# head kind -> (the head's channel-count attribute / config key, what the metadata counts it with)
HEAD_COUNTS = {'pose': ('num_keypoints', 'keypoint_names'), 'face': ('num_landmarks', 'keypoint_names'),
               'detection': ('num_classes', 'classes'), 'segmentation': ('num_classes', 'classes')}


def _meta_count(kind: str, meta: dict) -> int | None:
    """What the metadata says head ``kind``'s channel count must be (None: it says nothing)."""
    if kind in ('pose', 'face'):
        return int(meta.get('num_keypoints') or len(meta.get('keypoint_names') or ())) or None
    if kind == 'segmentation':   # a multi-task COCO set's ``classes`` are its box classes; its masks' are seg_classes
        names = meta.get('seg_classes') if meta.get('seg_classes') is not None else meta.get('classes')
    else:
        names = meta.get('classes')
    return len(names) if names else None


def head_meta_problems(heads: dict, meta: dict, source: str) -> list[tuple[str, str]]:
    """``(config path, message)`` for each head whose channel count contradicts the metadata of the data that
    labels it; ``heads`` maps head names to ``(kind, count)``. A mixed dataset (``meta['sources']``) is compared
    source by source, a multi-task COCO set (``meta['tasks']``) only for the heads it labels."""
    sources = meta.get('sources')
    problems = []
    for name, (kind, n) in heads.items():
        if kind not in HEAD_COUNTS or n is None:
            continue
        key, what = HEAD_COUNTS[kind]
        metas = [m for m in sources if name in (m.get('heads') or ())] if sources else [meta]
        for m in metas:
            if isinstance(m.get('tasks'), dict) and name not in m['tasks']:
                continue
            got = _meta_count(kind, m)
            if got is not None and got != int(n):
                if kind == 'segmentation' and m.get('seg_classes') is not None:
                    what = 'seg_classes'
                path = f'model.heads.{name}.{key}'
                problems.append((path, f'{path}={int(n)} but the dataset ({source}) has {got} {what}; '
                                       f'set {path}={got}'))
                break
    return problems


def describe_sample(sample, index: int | None = None) -> str:
    """``img_path`` (image id) of a data sample (a DataSample or its dict form), for messages."""
    meta = sample if isinstance(sample, dict) else getattr(sample, 'metainfo', {})
    path, img_id = meta.get('img_path'), meta.get('img_id')
    if path is not None:
        return f'{path} (image id {img_id})' if img_id is not None else str(path)
    if img_id is not None:
        return f'image id {img_id}'
    return f'#{index} of the batch (no img_path, no img_id)' if index is not None else '(no img_path, no img_id)'


def _concat_alignment(backbone, given: bool | None) -> bool:
    """The shared concat map's ``align_corners``: the backbone's bilinear fuse states it (``given`` must agree)."""
    ac = fuse_align_corners(backbone)
    if ac is None:
        return False if given is None else given
    return fill({'concat_align_corners': given}, 'concat_align_corners', ac, 'model',
                'the backbone fuse align_corners')['concat_align_corners']


def _zero_tie(feat) -> Tensor:
    """0 connected to the shared feature a head reads: backbone layers only that head reads (the concat map's
    branches 1-3 go through ``stage4.*.fuse_layers.{1,2,3}``) get a zero gradient, not none, in a batch without its
    labels; DDP needs a gradient for every parameter in every iteration."""
    maps = [feat] if isinstance(feat, Tensor) else list(feat)
    return sum((f * 0).sum() for f in maps)   # zeroed before the sum: a float16 map's sum overflows to inf


def _subset(feat, idx: Tensor):
    return feat[idx] if isinstance(feat, Tensor) else [f[idx] for f in feat]


@MODELS.register_module()
class MultiTaskModel(TaskModel):
    """Args:
        backbone: HRNet config (all four branches: ``multi_scale_output=True``, ``out_indices=(0, 1, 2, 3)``).
        heads: ``{name: head config}``; ``type`` one of the registered task heads (see :data:`.adapters.ADAPTERS`).
        loss_weights: ``{name: weight >= 0}``.
        uncertainty: learn one log-variance per task (Kendall et al. 2018).
        concat_align_corners: alignment of the shared HRNetV2 concat map; left out (None) it follows the
            backbone's bilinear fuse (its preset, as the single-task models' necks), False for a nearest fuse;
            a value contradicting a bilinear backbone's is a ``ConfigError`` naming both.
        pretrained: backbone weights (any format :func:`hrvision.load_weights` reads).
    """

    def __init__(self, backbone: dict | nn.Module, heads: dict, loss_weights: dict | None = None,
                 uncertainty: bool = False, concat_align_corners: bool | None = None,
                 pretrained: str | None = None, data_preprocessor: dict | nn.Module | None = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not heads:
            raise ValueError('MultiTaskModel needs at least one head in `heads`')
        self.backbone = build_module(backbone)
        channels = channels_of(self.backbone.output_shape())
        if len(channels) != 4:
            raise ValueError('MultiTaskModel needs all four HRNet branches: build the backbone with '
                             f'multi_scale_output=True and out_indices=(0, 1, 2, 3); it returns {len(channels)}')
        concat_align_corners = _concat_alignment(self.backbone, concat_align_corners)
        self.concat = HRNetV2Concat(channels, align_corners=concat_align_corners)
        self.adapters: dict[str, TaskAdapter] = {name: build_adapter(name, cfg) for name, cfg in heads.items()}
        # a head's own neck (the detector's HRNetV2p) sits in ``necks`` under the head's name, built just before it
        necks, built = {}, {}
        for name, a in self.adapters.items():
            neck = a.build_neck(channels, concat_align_corners)
            if neck is not None:
                necks[name] = neck
            built[name] = a.build(channels, concat_align_corners)
        self.necks = nn.ModuleDict(necks)
        self.heads = nn.ModuleDict(built)
        self.loss_weights = self._check_weights(loss_weights or {})
        self.uncertainty = uncertainty
        if uncertainty:
            self.log_vars = nn.ParameterDict({n: nn.Parameter(torch.zeros(())) for n in self.adapters})
        self.pretrained = pretrained

    def _check_weights(self, weights: dict) -> dict[str, float]:
        unknown = sorted(set(weights) - set(self.adapters))
        if unknown:
            raise KeyError(f'loss_weights name heads {unknown} that are not configured; heads: {sorted(self.adapters)}')
        out = {}
        for name in self.adapters:
            w = float(weights.get(name, 1.0))
            if not w >= 0:
                raise ValueError(f'loss_weights.{name} = {weights.get(name)!r}: loss weights must be >= 0')
            out[name] = w
        return out

    def init_weights(self) -> None:
        super().init_weights()
        for head in self.heads.values():
            if hasattr(head, 'init_weights'):
                head.init_weights()
        if self.pretrained:
            report = load_weights(self.backbone, self.pretrained)
            print_log(f'backbone initialised from {self.pretrained}: {report}', logger='current')

    def check_dataset_meta(self, meta: dict, source: str) -> None:
        """Each head's channel count against the metadata of the data labelling it (:func:`head_meta_problems`):
        a 17-keypoint head on 12-keypoint people would fail deep in the loss, or train and score wrongly."""
        heads = {n: (a.kind, getattr(self.heads[n], HEAD_COUNTS[a.kind][0], None)) for n, a in self.adapters.items()
                 if a.kind in HEAD_COUNTS}
        problems = head_meta_problems(heads, dict(meta or {}), source)
        if problems:
            raise ConfigError(problems[0][1])

    def names_of_kind(self, kind: str) -> list[str]:
        kind = task_kind(kind)
        return [n for n, a in self.adapters.items() if a.kind == kind]

    def split_concat_conv(self) -> None:
        """The multi-task part of :func:`hrvision.fuse.split_concat_conv` (inference only, after the core split the
        detector's HRNetV2p): a seg / face head gets its first 1x1 conv as a ``ConcatConv`` over the branches, and
        every head that can reads the branches, so the shared concat map is no longer computed."""
        from hrvision.fuse import concat_head_conv
        from hrvision.necks import ConcatConv, HRNetV2p
        for name, adapter in self.adapters.items():
            head = self.heads[name]
            if adapter.feature != 'concat':
                continue
            found = concat_head_conv(head, self.concat)
            if found:
                layers, conv = found
                layers[0] = conv
                adapter.feature = 'branches'
            elif name in self.necks and any(isinstance(m, HRNetV2p) and isinstance(m.reduction_conv, ConcatConv)
                                            for m in self.necks[name].modules()):
                adapter.feature = 'branches'   # its split pyramid reads the branches as they are

    # ---- shared features: one backbone call -------------------------------------------------------
    def extract_feat(self, inputs: Tensor) -> dict:
        branches = self.backbone(inputs)
        feats = {'branches': branches, 'branch0': branches[0]}
        if any(a.feature == 'concat' for a in self.adapters.values()):
            feats['concat'] = self.concat(branches)
        return feats

    def head_input(self, name: str, feat):
        """What head ``name`` reads: the shared feature, through the head's own neck when it has one."""
        return self.adapters[name].through_neck(self.necks[name], feat) if name in self.necks else feat

    def tensor_forward(self, inputs: Tensor) -> dict:
        """``{head name: raw output}`` (each what its single-task model returns), one backbone call."""
        feats = self.extract_feat(inputs)
        return {n: a.tensor(self.heads[n], self.head_input(n, feats[a.feature]), inputs)
                for n, a in self.adapters.items()}

    # ---- training ------------------------------------------------------------------------------------
    def loss(self, inputs: Tensor, data_samples: Sequence[DataSample]) -> dict[str, Tensor]:
        feats = self.extract_feat(inputs)
        labelled = [sample_tasks(s, i) for i, s in enumerate(data_samples)]
        losses: dict[str, Tensor] = {}
        for name, adapter in self.adapters.items():
            head = self.heads[name]
            idx = [i for i, t in enumerate(labelled) if name in t]
            if not idx:   # no labels for this task in the batch: zero loss, zero gradient
                extra = [self.log_vars[name]] if self.uncertainty else []
                neck = [zero_loss(self.necks[name])] if name in self.necks else []
                losses[f'{name}.loss'] = (zero_loss(head) + _zero_tie(feats[adapter.feature])
                                          + sum(p * 0.0 for p in extra) + sum(neck))
                continue
            sel = torch.as_tensor(idx, device=inputs.device)
            part = adapter.loss(head, self.head_input(name, _subset(feats[adapter.feature], sel)), inputs[sel],
                                [data_samples[i] for i in idx])
            scale = self.loss_weights[name]
            if self.uncertainty:
                s = self.log_vars[name]
                losses[f'{name}.loss_uncertainty'] = s
                losses[f'{name}.log_var'] = s.detach()
                factor = torch.exp(-s) * scale
            else:
                factor = scale
            for key, value in part.items():
                losses[f'{name}.{key}'] = value * factor if 'loss' in key else value
        return losses

    # ---- inference -----------------------------------------------------------------------------------
    def predict(self, inputs: Tensor, data_samples: Sequence[DataSample] | None = None) -> list[DataSample]:
        if data_samples is None:
            shape = tuple(inputs.shape[-2:])
            data_samples = [DataSample(metainfo=dict(img_shape=shape, ori_shape=shape, scale_factor=(1.0, 1.0)))
                            for _ in inputs]
        feats = self.extract_feat(inputs)
        context: dict = {}
        # detections first: the keypoint head decodes inside the detected person boxes
        order = sorted(self.adapters, key=lambda n: self.adapters[n].kind != 'detection')
        for name in order:
            adapter = self.adapters[name]
            adapter.predict(self.heads[name], self.head_input(name, feats[adapter.feature]), inputs, data_samples,
                            context)
        return list(data_samples)


__all__ = ['MultiTaskModel', 'sample_tasks', 'head_meta_problems']
