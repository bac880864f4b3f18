"""PoseTrack file readers: every malformed field is refused with one line naming the file, entry and field."""
import json
import re

import pytest

from hrvision.errors import DataError
from hrvision.tasks.posetrack.evaluate import evaluate
from hrvision.tasks.posetrack.formats import read_video


def video_2018(**person):
    ann = dict(id=1, image_id=5, track_id=0, keypoints=[10, 10, 1] * 17, bbox=[0, 0, 50, 80],
               bbox_head=[5, 5, 10, 10], scores=[0.9] * 17)
    ann.update(person)
    return dict(images=[dict(id=5, file_name='images/val/v/000000.jpg', frame_id=0, is_labeled=True)],
                annotations=[{k: v for k, v in ann.items() if v is not None}])


@pytest.mark.parametrize('change, predictions, words', [
    (dict(keypoints=[1, 2, 3]), False, 'annotations[0] field "keypoints" must be a list of 51 numbers'),
    (dict(track_id=None), False, 'annotations[0] lacks "track_id"'),
    (dict(track_id='a'), False, 'annotations[0] field "track_id" must be an integer'),
    (dict(bbox_head=None), False, 'has annotated keypoints but no "bbox_head"'),
    (dict(bbox_head=[1, 2]), False, 'annotations[0] field "bbox_head" must be a list of 4 numbers'),
    (dict(scores=None), True, 'annotations[0] lacks "scores"'),
    (dict(scores=[1] * 15), True, 'annotations[0] field "scores" must be a list of 17 numbers'),
    (dict(score='high'), True, 'annotations[0] field "score" must be a number'),
    (dict(image_id=6), False, 'annotations[0] has image_id 6, not among the images of this file'),
    # values outside the format's range, contradictions inside the file
    (dict(keypoints=[10, 10, 3] * 17), False, 'annotations[0] field "keypoints": visibility flags must be 0, 1 or 2'),
    (dict(bbox=[0, 0, -50, 80]), True, 'annotations[0] field "bbox" (x, y, w, h) has a negative width or height'),
    (dict(bbox_head=[5, 5, 10, -1]), False, 'annotations[0] field "bbox_head" (x, y, w, h) has a negative'),
    (dict(scores=[]), False, None),            # ground truth: scores are not read
])
def test_2018_refusals(tmp_path, change, predictions, words):
    path = tmp_path / 'v.json'
    path.write_text(json.dumps(video_2018(**change)))
    if words is None:
        read_video(str(path), predictions)
        return
    with pytest.raises(DataError, match='.*'.join(map(re.escape, [str(path), words]))):
        read_video(str(path), predictions)


def test_2018_structure_refusals(tmp_path):
    path = tmp_path / 'v.json'
    for data, words in (([], 'expected a JSON object'), (dict(images=[]), 'missing or non-list field "annotations"'),
                        (dict(video_2018(), images=[dict(id=5, file_name='a.jpg', ignore_regions_x=[[1, 2]],
                                                         ignore_regions_y=[[1]])]), 'ignore_regions_x'),
                        (dict(video_2018(), categories=[dict(keypoints=['nose'])]), 'the 17 PoseTrack names'),
                        (dict(annolist=[dict(annorect=[])]), 'annolist[0] lacks "image"')):
        path.write_text(json.dumps(data))
        with pytest.raises(DataError, match=words.replace('[', r'\[').replace(']', r'\]')):
            read_video(str(path))


def test_2017_refusals(tmp_path):
    path = tmp_path / 'v.json'
    rect = dict(track_id=[0], annopoints=[dict(point=[dict(id=[0], x=[1], y=[2])])])
    for r, words in ((rect, 'lacks the head box "x1", "y1", "x2", "y2"'),
                     (dict(rect, x1=[0], y1=[0], x2=[9], y2=[9], annopoints=[dict(point=[dict(id=[15], x=[1],
                                                                                            y=[2])])]),
                      'field "id" must be a joint id 0-14')):
        path.write_text(json.dumps(dict(annolist=[dict(image=[dict(name='a/000000.jpg')], annorect=[r])])))
        with pytest.raises(DataError, match=words.replace('[', r'\[').replace('(', r'\(')):
            read_video(str(path))


def test_duplicate_track_id_in_a_prediction_frame_is_refused(tmp_path):
    gt, pred = tmp_path / 'gt.json', tmp_path / 'pred.json'
    gt.write_text(json.dumps(video_2018()))
    data = video_2018()
    data['annotations'].append(dict(data['annotations'][0], id=2))
    pred.write_text(json.dumps(data))
    with pytest.raises(DataError, match='has a track id twice'):
        evaluate({'v': read_video(str(gt))}, {'v': read_video(str(pred), predictions=True)})


@pytest.mark.parametrize('second, words', [
    (dict(id=1, track_id=1), 'annotations[1] field "id": duplicate annotation id 1 (also annotations[0])'),
    (dict(id=2, track_id=0), 'annotations[1] field "track_id": track id 0 twice in image 5'),
])
def test_2018_contradictions_in_one_file(tmp_path, second, words):
    data = video_2018()
    data['annotations'].append(dict(data['annotations'][0], **second))
    path = tmp_path / 'v.json'
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match=re.escape(f'{path}: {words}')):
        read_video(str(path))


def test_2017_swapped_head_box_corners_are_refused(tmp_path):
    path = tmp_path / 'v.json'
    rect = dict(track_id=[0], x1=[20], y1=[0], x2=[9], y2=[9], annopoints=[dict(point=[dict(id=[0], x=[1], y=[2])])])
    path.write_text(json.dumps(dict(annolist=[dict(image=[dict(name='a/000000.jpg')], annorect=[rect])])))
    with pytest.raises(DataError, match=re.escape(f'{path}: annolist[0].annorect[0] head box fields "x1", "y1", '
                                                  '"x2", "y2": the corners are swapped')):
        read_video(str(path))


def test_empty_scores_read_as_the_official_stand_in(tmp_path):
    from hrvision.tasks.posetrack.formats import MISSING_SCORE
    path = tmp_path / 'v.json'
    path.write_text(json.dumps(video_2018(scores=[])))
    person = read_video(str(path), predictions=True).frames[0].people[0]
    assert person.default_scores and (person.scores == MISSING_SCORE).all() and MISSING_SCORE == -9999


def test_detection_file_with_a_negative_box_is_refused(tmp_path):
    from hrvision.tasks.posetrack.video import read_detections
    path = tmp_path / 'dets.json'
    path.write_text(json.dumps([dict(image_id=5, bbox=[1, 2, 30, 40], score=0.9),
                                dict(image_id=5, bbox=[40, 2, -30, 40], score=0.8)]))
    with pytest.raises(DataError, match=re.escape(f'{path}: detection [1] field "bbox" (x, y, w, h) has a negative')):
        read_detections(str(path))
