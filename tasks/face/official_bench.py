"""``hrvision bench 300w|cofw|aflw``: a checkpoint on the official test set, one line per subset as the official
face test prints its result (``nme:... [008]:... [010]:...``, then our AUC and the image count), a CED plot per
subset and the per-image NME.

One inference pass over the config's test set; the subsets are the faces' ``subsets`` tags (300W full / common /
challenging, COFW test, AFLW full / frontal: :mod:`.official_datasets`). Writes ``<name>_results.json``,
``<name>_table.txt`` and ``ced.png`` to ``--out``.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp

import numpy as np

from hrvision.atomic import atomic_write_text

from .bench import AUC_RULE, build_from_config, predict_dataset
from .metric import compute_nme, metadata_norm, norm_label, official_lines, plot_ced, subset_groups, summarize

PUBLISHED = {   # official README, HRNetV2-W18, NME % (SPEC §5.3)
    '300w': dict(common=2.91, challenging=5.11, full=3.34, test=3.85),
    'cofw': dict(test=3.45),
    'aflw': dict(full=1.57, frontal=1.46),
}


def run_official_bench(name: str, config: str, checkpoint: str | None, data_root: str | None = None,
                       out_dir: str | None = None, device: str | None = None) -> dict:
    """Evaluate, print the official lines, write JSON / table / CED; returns the result dict."""
    model, dataset, batch = build_from_config(config, data_root, checkpoint, device)
    records, ips = predict_dataset(model, dataset, batch, device)
    if not records:
        raise ValueError(f'the test set of {config} is empty')
    how, pts = metadata_norm(dataset.metainfo, f'hrvision bench {name} ({config})')
    box = [r['box_size'] for r in records] if how == 'bbox' else None
    nme = compute_nme(np.stack([r['pred'] for r in records]), np.stack([r['gt'] for r in records]), box,
                      norm_indices=pts, by_box=how == 'bbox')
    tags = [dataset.get_data_info(i).get('subsets') or () for i in range(len(records))]
    groups = subset_groups(tags) or {'test': np.arange(len(records))}
    table = official_lines({n: nme[i] for n, i in groups.items()})
    print(table)
    metrics = {n: summarize(nme[i]) for n, i in groups.items()}
    result = dict(config=config, checkpoint=checkpoint, dataset=name, num_images=len(records),
                  normalisation=f'landmarks {pts[0]}/{pts[1]} (metainfo.norm_indices)' if pts else 'box_size',
                  metrics=metrics, published_nme_percent=PUBLISHED.get(name, {}), eval_images_per_s=ips,
                  auc_rule=AUC_RULE, per_image=[dict(img_id=r['img_id'], nme=float(e)) for r, e in zip(records, nme)])
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        files = {k: osp.join(out_dir, f) for k, f in (('results', f'{name}_results.json'),
                                                       ('table', f'{name}_table.txt'), ('ced', 'ced.png'))}
        atomic_write_text(files['results'], json.dumps(result, indent=1))
        atomic_write_text(files['table'], table + '\n')
        plot_ced({n: nme[i] for n, i in groups.items() if len(i)}, 0.10, files['ced'], title=f'CED on {name}',
                 xlabel=norm_label((how, pts)))
        result['files'] = files
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument('--config', required=True, help='mmengine config (e.g. configs/face/hrnetv2_w18_300w.py)')
    p.add_argument('--checkpoint', default=None, help='hrvision/runner checkpoint or official state dict '
                                                      '(HR18-300W.pth, ...); omit to score the initialisation')
    p.add_argument('--data-root', default=None, help="the dataset folder (default: the config's data_root)")
    p.add_argument('--out', default=None, help='folder for <name>_results.json, <name>_table.txt, ced.png')
    p.add_argument('--device', default=None, help='cpu / cuda (default: cuda when available)')


def runner_for(name: str):
    def run(args: argparse.Namespace) -> dict:
        return run_official_bench(name, args.config, args.checkpoint, args.data_root, args.out, args.device)
    return run
