"""Every zoo entry builds, and the conversion of its source file (the zoo's own path: ``load_source`` =
``load_weights`` strict) places every key of that file and fills every tensor of the model.

No download: the source files' key lists are kept in the repo (``tests/reference/zoo_keys/INDEX.json`` -> the list
of each alias; OpenMMLab and timm lists made with the libraries' own model code, official ones with the official
code; ``tests/make_zoo_keys.py`` says how), and their tensors are made on the meta device.
"""
from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
import torch

from hrvision import zoo, zoo_download

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / 'tests' / 'reference'
INDEX = json.loads((REFERENCE / 'zoo_keys' / 'INDEX.json').read_text(encoding='utf-8'))
# why the zoo may fill a model tensor the source lacks (hrvision.weight_formats), and what it may drop
FILLED = re.compile(r'^zero bias: |^background rows \(zeros\)')
DROPPED = {'classification': re.compile(r'^(incre_modules|downsamp_modules|final_layer|classifier)\.')}


def read(rel: str) -> dict:
    with gzip.open(REFERENCE / rel, 'rt', encoding='utf-8') as f:
        return json.load(f)


def test_every_zoo_entry_has_its_source_key_list():
    assert sorted(INDEX) == sorted(e.alias for e in zoo.ENTRIES)
    for alias, rel in INDEX.items():
        assert (REFERENCE / rel).is_file(), f'{alias}: {rel} missing'


@pytest.mark.parametrize('alias', sorted(INDEX))
def test_key_list_names_its_file_and_how_it_was_made(alias):
    entry = zoo.get_entry(alias)
    data = read(INDEX[alias])
    assert data['state_dict'] and all(len(r) == 3 for r in data['state_dict'])
    if entry.source_format in ('mmpose', 'mmseg', 'mmdet'):
        assert data['file'] == entry.filename and data['source_format'] == entry.source_format
        assert re.match(rf'{entry.source_format} \d+\.\d+\.\d+: the keys of its own model, built from configs/',
                        data['provenance'])
        assert f'its metafile pairs with {entry.filename}' in data['provenance']
    elif entry.timm_tag:
        assert data['file'] == entry.timm_tag and data['provenance'].startswith('timm ')
    else:   # official: the listing made with the official code (tests/make_reference.py)
        assert entry.source_format == 'official' and '/' not in INDEX[alias]


@pytest.mark.parametrize('alias', sorted(INDEX))
def test_each_entry_builds_and_its_converted_keys_are_its_sources(alias):
    """Built on the meta device (shapes only). The strict load must leave no model tensor unset and no source key
    unplaced; the model's keys are the source's kept keys plus only the documented fills."""
    entry = zoo.get_entry(alias)
    model = zoo_download.build_model(entry, meta=True)
    rows = read(INDEX[alias])['state_dict']
    sd = {k: torch.empty(s, dtype=getattr(torch, t), device='meta') for k, s, t in rows}
    report, dropped = zoo_download.load_source(entry, sd, model, entry.filename)
    assert not report.missing_keys and not report.unexpected_keys
    model_keys = set(model.state_dict())
    assert set(report.loaded_keys) == model_keys - {k for k in model_keys if k.endswith('num_batches_tracked')
                                                    and k not in report.loaded_keys}
    kept = [k for k in sd if k not in dropped]
    added = [k for k, why in report.filled.items() if why.startswith('zero bias')]   # the others change rows
    assert len(report.loaded_keys) == len(kept) + len(added)   # each kept key placed once
    assert all(FILLED.match(why) for why in report.filled.values()), report.filled
    drop = DROPPED.get(entry.task)
    assert all(drop and drop.match(k) for k in dropped), dropped
    if entry.source_format in ('mmseg', 'mmdet'):
        assert report.format == entry.source_format and report.converted


def test_openmmlab_lists_agree_with_the_layout_facts():
    """The lists made with the libraries' code equal, key for key and shape for shape, the layouts written down in
    tests/make_zoo_keys.py from their configs (and the weight_formats docstring): a list edited by hand, or a fact
    that is wrong, fails here."""
    import tests.make_zoo_keys as mk
    assert mk.fact_problems() == []
    kept = {p.name for p in (REFERENCE / 'zoo_keys').iterdir()} - {'INDEX.json'}
    listed = {Path(rel).name for rel in INDEX.values() if rel.startswith('zoo_keys/')} | \
        {f'{stem}.json.gz' for stem in mk.SOURCES}
    assert kept == listed   # no stale list
