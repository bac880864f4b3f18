"""PoseTrack: video pose estimation and tracking (the article's Table 3), evaluated by the official protocol.

    hrvision data synth-posetrack data/synth_posetrack                      # synthetic videos, 2018 format
    hrvision eval posetrack GT_DIR PRED_DIR                                  # mAP + MOTA table, JSON line
    hrvision bench posetrack CONFIG CKPT --data-root R                      # estimate, track, evaluate, videos

Modules: ``joints`` (joint sets, COCO->PoseTrack mapping), ``formats`` (2018 / 2017 files), ``dataset``
(training crops), ``evaluate`` (per-joint AP and CLEAR-MOT), ``tracker`` (greedy OKS + IoU identities, box
propagation), ``synth``, ``video`` (estimation + tracking over a sequence), ``bench``, ``cli``.
"""
from .dataset import PoseTrackDataset
from .evaluate import evaluate, format_table
from .formats import read_dir, read_video, write_video

__all__ = ['PoseTrackDataset', 'evaluate', 'format_table', 'read_dir', 'read_video', 'write_video']
from . import cli  # noqa: E402,F401  (registers the CLI commands)

from hrvision.registry import register_config_key  # noqa: E402

register_config_key('posetrack_joints', "the joint set a model's outputs are (bench posetrack; 'coco' or 'posetrack')")
