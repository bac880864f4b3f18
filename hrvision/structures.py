"""The data sample that carries ground truth and predictions through the pipeline.

One class for every task (mmpose/mmseg style): fields are set only when a task needs them.

=====================  ==========================================================  ========
field                   meaning                                                     task
=====================  ==========================================================  ========
``gt_sem_seg``          (H, W) long, train ids, 255 = ignore                        seg
``pred_sem_seg``        (H, W) long                                                 seg
``seg_logits``          (C, H, W) float, at label size                              seg
``gt_keypoints``        (K, 2) float, input-crop pixel coordinates                  pose/face
``keypoints_visible``   (K,) float                                                  pose/face
``gt_heatmaps``         (K, h, w) float targets from the codec                      pose/face
``target_weight``       (K,) float                                                  pose/face
``pred_keypoints``      (K, 2) float, original-image coordinates                    pose/face
``keypoint_scores``     (K,) float                                                  pose/face
``gt_instances``        InstanceData(bboxes (N,4) xyxy, labels (N,))                det
``pred_instances``      InstanceData(bboxes, labels, scores)                        det
``gt_pose``             InstanceData(bboxes, keypoints (P,K,2), keypoints_visible)  multi-task (whole image)
``pred_pose``           InstanceData(bboxes, scores, keypoints, keypoint_scores,    multi-task
                        areas), original-image coordinates
``gt_face``             InstanceData(keypoints, keypoints_visible)                  multi-task landmarks
=====================  ==========================================================  ========

Metainfo keys: ``img_path``, ``img_id``, ``ori_shape`` (H, W), ``img_shape`` (H, W after
transforms), ``center``/``scale`` (top-down crops), ``flip``, ``tasks`` (multi-task: the head
names the sample is labelled for).
"""
from mmengine.structures import BaseDataElement, InstanceData, PixelData


class DataSample(BaseDataElement):
    """Ground truth + predictions for one image (see module docstring for the fields)."""


__all__ = ['DataSample', 'InstanceData', 'PixelData']
