"""`hrvision data synth-coco-pose` writes real COCO keypoint files that pycocotools and the dataset read."""
import json

import numpy as np

from hrvision.cli import main
from hrvision.data.coco import load_coco
from hrvision.tasks.pose.dataset import CocoKeypointDataset


def test_synth_cli_writes_coco(tmp_path, capsys):
    out = tmp_path / 'synth'
    assert main(['data', 'synth-coco-pose', str(out), '--n', '12', '--n-val', '4', '--seed', '2']) == 0
    counts = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert counts['train_images'] == 12 and counts['val_images'] == 4
    coco = load_coco(str(out / 'annotations' / 'person_keypoints_train.json'), keypoints=17)
    assert coco.loadCats(1)[0]['keypoints'][0] == 'nose' and len(coco.loadCats(1)[0]['skeleton']) == 19
    kps = np.array([a['keypoints'] for a in coco.dataset['annotations']]).reshape(-1, 17, 3)
    assert set(np.unique(kps[..., 2])) <= {0, 1, 2} and (kps[..., 2] == 2).any()
    assert (kps[..., 2] == 1).any(), 'occluders should hide some labelled joints'
    for a in coco.dataset['annotations']:
        assert a['num_keypoints'] == int((np.array(a['keypoints'])[2::3] > 0).sum())
    assert sorted(p.suffix for p in (out / 'train').iterdir()) == ['.jpg'] * 12
    assert sorted(p.suffix for p in (out / 'val').iterdir()) == ['.png'] * 4
    ds = CocoKeypointDataset('annotations/person_keypoints_val.json', data_root=str(out), data_prefix=dict(img='val/'),
                             bbox_file=str(out / 'annotations' / 'person_detections_val.json'), test_mode=True,
                             pipeline=[dict(type='LoadPoseImage'), dict(type='TopDownAffine', input_size=(96, 128)),
                                       dict(type='PackPoseInputs')])
    assert len(ds) == counts['detections'] and ds[0]['inputs'].shape == (3, 128, 96)
    # left joints of a camera-facing figure lie on the image right
    assert (kps[..., 5, 0] > kps[..., 6, 0])[(kps[..., 5, 2] > 0) & (kps[..., 6, 2] > 0)].all()
