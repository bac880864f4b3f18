"""Task adapters: which shared feature each single-task head reads inside :class:`MultiTaskModel`.

Targets, decoding and the rescaling to original-image pixels are the task bridges'
(``hrvision.tasks.<task>.bridge``), the same objects the single-task models call; what stays here is truly
multi-task: the feature routing, the whole-image keypoint/landmark variant and the detector's own neck.

An adapter holds no parameters; the head module itself lives in ``MultiTaskModel.heads[name]`` with exactly
the key layout it has in its single-task model (``head.*`` there, ``heads.<name>.*`` here), which is what makes
weights move both ways (:mod:`hrvision.tasks.multitask.weights`).

Which shared feature each head reads (computed once per batch by the model):

* ``SegmentationHead`` / ``OCRHead`` / ``FaceHead``: the HRNetV2 concat map (stride 4, ``sum(C)`` channels).
* ``PoseHead``: the stride-4 branch.
* ``DetectionHead``: the HRNetV2p pyramid its own neck (``MultiTaskModel.necks[name]``, the single-task
  ``neck.*``) makes from the shared concat map (the branches when the neck aligns otherwise); the head gets the
  pyramid and each image's valid size (``img_shape``), as in the single-task model.

Keypoints (design): the single-task pose model is top-down (one person per crop). With one backbone pass over
the *whole image*, the PoseHead's 1x1 conv runs on the whole stride-4 map and is trained on whole-image
targets: every labelled person's Gaussians (the pose codec's encoding on the stride-4 grid), merged by
maximum. At test time each person box (detected by the ``det`` head, or the ground-truth person boxes when
there is no detection head) is turned into the top-down crop's center/scale (1.25 padding, the codec's
aspect), the whole-image heatmaps are RoI-aligned to the codec's heatmap size over that crop, and the pose
codec decodes them exactly as a top-down crop. Because a 1x1 conv commutes with bilinear sampling, this is the
same as running the head on RoI-aligned features. Limitation: in a crowd, a neighbour's joint inside a box can
win the argmax (no person association beyond the box).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from hrvision.codecs import BaseHeatmapCodec, FaceHeatmapCodec, PoseHeatmapCodec, build_codec, fill_heatmap_size
from hrvision.data.keypoints import PIXEL_STD, box_to_center_scale
from hrvision.engine.bridge import scale_factor, to_original
from hrvision.engine.preprocessor import build_module
from hrvision.errors import ConfigError
from hrvision.necks import HRNetV2p
from hrvision.registry import MODELS, task_kind
from hrvision.shape import fill
from hrvision.structures import DataSample, InstanceData
from hrvision.tasks.detection.bridge import DetectionBridge
from hrvision.tasks.face.bridge import FaceBridge
from hrvision.tasks.pose.bridge import PoseBridge
from hrvision.tasks.segmentation.bridge import SegmentationBridge


def zero_loss(module: nn.Module) -> Tensor:
    """A loss of exactly 0 connected to every parameter: gradients are zeros, never ``None`` (DDP-safe)."""
    params = [p for p in module.parameters() if p.requires_grad]
    if not params:
        return torch.zeros(())
    return sum(p.sum() for p in params) * 0.0


class TaskAdapter:
    """Base: ``kind`` names the single-task family; ``feature`` the shared map the head reads."""

    kind = ''
    feature = 'concat'
    head_type = ''

    def __init__(self, name: str, cfg: dict) -> None:
        self.name = name
        self.cfg = cfg

    def build(self, backbone_channels: Sequence[int], concat_align_corners) -> nn.Module:
        raise NotImplementedError

    def build_neck(self, backbone_channels: Sequence[int], concat_align_corners) -> nn.Module | None:
        """The head's own neck (``MultiTaskModel.necks[name]``) between the shared feature and the head; None:
        the head reads the shared feature itself. Built before :meth:`build`."""
        return None

    def through_neck(self, neck: nn.Module, feat):
        """The head's input from the shared feature and its own neck."""
        return neck(feat)

    def tensor(self, head: nn.Module, feat, inputs: Tensor) -> Tensor | dict:
        return head(feat)

    def loss(self, head: nn.Module, feat, inputs: Tensor, samples: Sequence[DataSample]) -> dict[str, Tensor]:
        raise NotImplementedError

    def predict(self, head: nn.Module, feat, inputs: Tensor, samples: Sequence[DataSample], context: dict) -> None:
        """Write predictions into ``samples``; ``context['dets'][name]`` holds detections in input pixels."""
        raise NotImplementedError

    def single_task_layout(self) -> dict[str, str]:
        """single-task module path -> multi-task module path (``@backbone``, ``@neck``, ``@head``)."""
        return {'backbone': '@backbone', 'head': '@head'}


class SegmentationAdapter(TaskAdapter):
    """``SegmentationHead`` on the concat map; labels ``gt_sem_seg``; ``pred_sem_seg`` at label/original size."""

    kind = 'segmentation'
    head_type = 'SegmentationHead'

    def build(self, backbone_channels, concat_align_corners):
        return build_module(fill(self.cfg, 'in_channels', sum(backbone_channels), f'heads.{self.name}',
                                 'the shared concat map'))

    def loss(self, head, feat, inputs, samples):
        labels = SegmentationBridge.targets(samples, inputs.shape[-2:]).to(feat.device)
        return head.loss(feat, labels)

    def predict(self, head, feat, inputs, samples, context):
        logits = head.upsample(head(feat), inputs.shape[-2:])
        for lg, s in zip(logits, samples):
            ih, iw = SegmentationBridge.valid_shape(s)
            lg = head.upsample(lg[None, :, :ih, :iw], SegmentationBridge.output_size(s))[0]
            SegmentationBridge.write(s, lg, keep_scores=False, cpu=True)


class OCRAdapter(SegmentationAdapter):
    """``OCRHead`` (HRNet + OCR) on the concat map: a seg head with the same calls (``head(feat)`` the OCR logits,
    ``head.loss`` the auxiliary + OCR losses); its weights are the single-task ``head.*``."""

    head_type = 'OCRHead'


class FaceAdapter(SegmentationAdapter):
    """``FaceHead`` on the concat map, whole-image landmark heatmaps (one face per image, ``gt_face``).

    Targets and decoding are the face codec's (:class:`~hrvision.codecs.FaceHeatmapCodec`, the box = the whole
    input), the convention the single-task face model decodes with: the same weights give the same landmarks on
    the same crop in both models, and weights trained here mean what they mean there."""

    kind = 'face'
    head_type = 'FaceHead'

    def codec(self, hm_size, in_size) -> FaceHeatmapCodec:
        """The face codec of this batch's input (H, W) and heatmap (h, w) sizes."""
        return FaceHeatmapCodec(input_size=(int(in_size[1]), int(in_size[0])),
                                heatmap_size=(int(hm_size[1]), int(hm_size[0])), sigma=self.cfg.get('sigma', 1.5))

    def loss(self, head, feat, inputs, samples):
        target = whole_image_targets(samples, 'gt_face', self.codec(feat.shape[-2:], inputs.shape[-2:]),
                                     head.num_landmarks)
        return head.loss(feat, target.to(feat.device))

    def predict(self, head, feat, inputs, samples, context):
        hm = head(feat).float()
        kp, sc = FaceBridge(self.codec(hm.shape[-2:], inputs.shape[-2:])).decode_input(hm)
        kp, sc = kp.cpu(), sc.cpu()   # one device->host copy per batch, not per sample
        for i, s in enumerate(samples):
            s.pred_keypoints = to_original(kp[i], s)
            s.keypoint_scores = sc[i]


def whole_image_targets(samples: Sequence[DataSample], field: str, codec: BaseHeatmapCodec,
                        num_keypoints: int) -> Tensor:
    """Max-merged Gaussians (``codec.encode_input``: the head's own convention) of every labelled instance on the
    whole-image grid of ``codec``: (N, K, h, w)."""
    w, h = codec.heatmap_size
    out = np.zeros((len(samples), num_keypoints, h, w), np.float32)
    for i, s in enumerate(samples):
        inst = s.get(field)
        if inst is None or len(inst) == 0:
            continue
        kps = np.asarray(inst.keypoints, np.float32).reshape(len(inst), num_keypoints, 2)
        vis = np.asarray(inst.keypoints_visible, np.float32).reshape(len(inst), num_keypoints)
        for kp, v in zip(kps, vis):   # per instance (a handful), not per keypoint
            np.maximum(out[i], codec.encode_input(kp, v)['heatmaps'], out=out[i])
    return torch.from_numpy(out)


class PoseAdapter(TaskAdapter):
    """``PoseHead`` on the stride-4 branch; whole-image targets from ``gt_pose``; RoI decoding per person box.

    Config keys besides the head's: ``codec`` (the top-down codec used to decode each box, default
    192x256 -> 48x64), ``sigma`` (training Gaussians, default the codec's), ``boxes`` (``'detection'``: detected persons
    when a detection head exists, else ``'gt'``; the older ``'det'`` warns once), ``person_label`` (detection label of persons, 0), ``box_thr``.
    """

    kind = 'pose'
    feature = 'branch0'
    head_type = 'PoseHead'
    EXTRA = ('codec', 'sigma', 'boxes', 'person_label', 'box_thr')

    def __init__(self, name, cfg):
        super().__init__(name, cfg)
        codec = fill_heatmap_size(dict(cfg.get('codec') or {}), 4, f'heads.{name}.codec')   # branch 0: stride 4
        self.bridge = PoseBridge(build_codec(codec))
        self.codec = self.bridge.codec
        self.sigma = float(cfg.get('sigma', self.codec.sigma))
        self.boxes = task_kind(cfg.get('boxes', 'detection'))   # the box source is a task kind or 'gt'
        if self.boxes not in ('detection', 'gt'):
            raise ConfigError(f"heads.{name}.boxes must be 'detection' (the detection head's person boxes) or 'gt' "
                              f'(the ground-truth person boxes), got {self.boxes!r}')

    def build(self, backbone_channels, concat_align_corners):
        cfg = {k: v for k, v in self.cfg.items() if k not in self.EXTRA}
        return build_module(fill(cfg, 'in_channels', backbone_channels[0], f'heads.{self.name}', 'the backbone branch 0'))

    def loss(self, head, feat, inputs, samples):
        (h, w), (ih, iw) = feat.shape[-2:], inputs.shape[-2:]
        codec = PoseHeatmapCodec(input_size=(int(iw), int(ih)), heatmap_size=(int(w), int(h)), sigma=self.sigma)
        target = whole_image_targets(samples, 'gt_pose', codec, head.num_keypoints).to(feat.device)
        weight = target.new_ones(target.shape[:2])
        return head.loss(feat, target, weight)

    def person_boxes(self, sample: DataSample, det: dict | None) -> tuple[Tensor, Tensor]:
        """(P, 4) xyxy boxes in input pixels and their scores."""
        if self.boxes == 'detection' and det is not None:
            keep = (det['labels'] == int(self.cfg.get('person_label', 0))) & \
                   (det['scores'] >= float(self.cfg.get('box_thr', 0.0)))
            return det['boxes'][keep].float(), det['scores'][keep].float()
        gt = sample.get('gt_pose')
        if gt is None or len(gt) == 0:
            return torch.zeros((0, 4)), torch.zeros((0,))
        boxes = torch.as_tensor(gt.bboxes).float().reshape(-1, 4)
        return boxes, torch.ones(len(boxes))

    def predict(self, head, feat, inputs, samples, context):
        hm = head(feat).float().cpu()   # RoI decoding runs on the CPU: one device->host copy per batch
        dets = _on_host(next(iter(context.get('dets', {}).values()), None))
        stride_x = inputs.shape[-1] / hm.shape[-1]
        stride_y = inputs.shape[-2] / hm.shape[-2]
        cw, ch = self.codec.input_size
        hw, hh = self.codec.heatmap_size
        from torchvision.ops import roi_align   # (torchvision loads in the first prediction, not at start)
        for i, s in enumerate(samples):
            boxes, scores = self.person_boxes(s, None if dets is None else dets[i])
            boxes, scores = boxes.cpu(), scores.cpu()   # no-ops for detections (on the host already)
            k = head.num_keypoints
            if len(boxes) == 0:   # e.g. a sample of another source (no people): no mapping to the image needed
                s.pred_pose = InstanceData(bboxes=torch.zeros((0, 4)), scores=torch.zeros((0,)),
                                           keypoints=torch.zeros((0, k, 2)), keypoint_scores=torch.zeros((0, k)),
                                           areas=torch.zeros((0,)))
                continue
            sx, sy = scale_factor(s)
            cs = [box_to_center_scale([b[0], b[1], b[2] - b[0], b[3] - b[1]], cw / ch) for b in boxes.tolist()]
            center = np.stack([c for c, _ in cs]).astype(np.float32)
            scale = np.stack([sc for _, sc in cs]).astype(np.float32)
            size = torch.from_numpy(scale * PIXEL_STD)                  # crop (w, h) in input pixels
            x0 = torch.from_numpy(center) - size / 2
            bin_w, bin_h = size[:, 0] / hw, size[:, 1] / hh
            # roi_align(aligned=False, sampling_ratio=1) samples bin centres: shift by half a bin so output
            # pixel j samples crop position j * bin, the position the codec's inverse affine assigns to it.
            rois = torch.stack([torch.zeros(len(size)), (x0[:, 0] - bin_w / 2) / stride_x,
                                (x0[:, 1] - bin_h / 2) / stride_y,
                                (x0[:, 0] + size[:, 0] - bin_w / 2) / stride_x,
                                (x0[:, 1] + size[:, 1] - bin_h / 2) / stride_y], 1)
            crops = roi_align(hm[i:i + 1], rois.float(), output_size=(hh, hw), spatial_scale=1.0,
                              sampling_ratio=1, aligned=False)
            kp, ks = self.bridge.decode_crops(crops, center, scale)
            s.pred_pose = InstanceData(bboxes=to_original(boxes, s), scores=scores, keypoints=to_original(kp, s),
                                       keypoint_scores=ks,
                                       areas=torch.from_numpy(np.prod(scale * PIXEL_STD, 1) / (sx * sy)).float())


def _on_host(dets: list[dict] | None) -> list[dict] | None:
    """Per-image detection dicts on the CPU with one device->host copy per field for the whole batch (a copy per
    image and field waits for the GPU each time)."""
    if not dets or all(not isinstance(v, Tensor) or v.device.type == 'cpu' for d in dets for v in d.values()):
        return dets
    out = [dict(d) for d in dets]
    for key, first in dets[0].items():
        if isinstance(first, Tensor):
            parts = [d[key] for d in dets]
            host = torch.cat([p.reshape(len(p), *first.shape[1:]) for p in parts]).cpu()
            for d, piece in zip(out, host.split([len(p) for p in parts])):
                d[key] = piece
    return out


class DetectionAdapter(TaskAdapter):
    """``DetectionHead`` (FCOS / Faster R-CNN) on the pyramid of its own HRNetV2p neck (config ``neck`` =
    HRNetV2p kwargs) over the shared features. The head sees the padded batch (no second padding: its size must be
    a multiple of the head's ``size_divisible``, the coarsest pyramid stride)."""

    kind = 'detection'
    feature = 'concat'
    head_type = 'DetectionHead'

    def build_neck(self, backbone_channels, concat_align_corners):
        neck = dict(self.cfg.get('neck', None) or {})
        neck = fill(neck, 'in_channels', list(backbone_channels), f'heads.{self.name}.neck', 'the backbone outputs')
        neck_mod = HRNetV2p(**neck)
        # the neck's own resize-concat equals the shared concat map when both align the same way
        self.feature = 'concat' if neck_mod.align_corners == concat_align_corners else 'branches'
        self.in_shape = neck_mod.output_shape()
        return neck_mod

    def build(self, backbone_channels, concat_align_corners):
        cfg = {k: v for k, v in self.cfg.items() if k not in ('type', 'neck')}
        from hrvision.heads.detection import DetectionHead   # torchvision's detection models load here (heads.LAZY)
        return DetectionHead(self.in_shape, **cfg)

    def through_neck(self, neck, feat):
        return neck([feat] if isinstance(feat, Tensor) else list(feat))

    def _images(self, head, inputs: Tensor, samples):
        """The padded batch (as the shared features) as torchvision's ``ImageList`` with each image's valid size
        (``img_shape``, as the single-task model): the padded size would let boxes reach into the padding."""
        h, w = (int(v) for v in inputs.shape[-2:])
        d = head.size_divisible
        if h % d or w % d:
            raise ConfigError(f'heads.{self.name}: the multi-task batch is padded to {h}x{w}, not a multiple of the '
                              f'detector size_divisible {d} (its coarsest pyramid stride): set '
                              f'data_preprocessor.pad_size_divisor to a multiple of {d}')
        from hrvision.heads.detection import ImageList
        return ImageList(inputs, [tuple(im.shape[-2:]) for im in DetectionBridge.valid_images(inputs, samples)])

    def tensor(self, head, feat, inputs):
        return {'features': feat, **head(feat)}

    def loss(self, head, feat, inputs, samples):
        return head.loss(feat, self._images(head, inputs, samples), DetectionBridge.targets(samples, inputs.device))

    def predict(self, head, feat, inputs, samples, context):
        dets = head.predict(feat, self._images(head, inputs, samples))
        context.setdefault('dets', {})[self.name] = dets
        DetectionBridge.predict(dets, samples, cpu=True)

    def single_task_layout(self):
        return {'backbone': '@backbone', 'neck': '@neck', 'head': '@head'}


ADAPTERS: dict[str, type[TaskAdapter]] = {a.head_type: a for a in (SegmentationAdapter, OCRAdapter, PoseAdapter,
                                                                     FaceAdapter, DetectionAdapter)}


def build_adapter(name: str, cfg: dict | None) -> TaskAdapter:
    """The adapter for ``cfg['type']``; unknown types name the registered task heads."""
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(f'heads.{name} must be a dict with a "type" (one of {sorted(ADAPTERS)}); got {cfg!r}')
    kind = cfg['type']
    MODELS.import_from_location()
    if isinstance(kind, str) and kind in MODELS.aliases:   # an old head name (e.g. an old checkpoint's config)
        kind = MODELS.get(kind).__name__                    # warns once, like every registry alias
        cfg = dict(cfg, type=kind)
    if kind not in ADAPTERS:
        raise KeyError(f'heads.{name}: unknown head type {kind!r}; registered task heads: {sorted(ADAPTERS)}')
    return ADAPTERS[kind](name, dict(cfg))
