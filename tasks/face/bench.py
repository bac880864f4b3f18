"""``hrvision bench wflw``: evaluate a checkpoint on WFLW test and its six subsets, paper-style.

One inference pass over the full test list; the subsets are looked up in the official subset
lists (``list_98pt_test_<subset>.txt``, or ``<csv stem>_<subset>.csv`` next to an HRNet CSV) and
matched to the full list by image and landmarks; without those files the attribute flags of the
full list are used. Writes ``wflw_results.json``, ``wflw_table.txt``, ``ced.png`` and
``landmarks.png`` (predicted red vs ground truth green) to ``out_dir``.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import time
from typing import Sequence

import numpy as np
import torch

from hrvision.atomic import atomic_write_text

from .dataset import ATTRIBUTES, SUBSETS, find_subset_indices, read_hrnet_csv, read_wflw_list, subset_file
from .metric import compute_nme, metadata_norm, plot_ced, summarize

COLUMNS = (('test', 'Test'), ('largepose', 'Pose'), ('expression', 'Expression'), ('illumination', 'Illumination'),
           ('makeup', 'Make-up'), ('occlusion', 'Occlusion'), ('blur', 'Blur'))
AUC_RULE = ('AUC@t = (1/t) * integral_0^t CED(e) de, exact for the empirical CED: mean_i max(0, 1 - NME_i/t)')


def build_from_config(config: str, data_root: str | None, checkpoint: str | None, device: str | None = None):
    """(model in eval mode, test dataset, batch size) from an mmengine config; ``data_root`` overrides the
    config's. The checkpoint (hrvision, official or runner file) loads through :func:`hrvision.init_model`:
    refused if any weight of the model stays unset."""
    import hrvision
    from hrvision.engine.config_checks import load_config_file
    from hrvision.registry import DATASETS
    cfg = load_config_file(config)
    model = hrvision.init_model(cfg, checkpoint, device)
    ds_cfg = dict(cfg.test_dataloader.dataset)
    if data_root is not None:
        ds_cfg['data_root'] = data_root
    ds_cfg['test_mode'] = True
    dataset = DATASETS.build(ds_cfg)
    batch = int(cfg.test_dataloader.get('batch_size', 16))
    return model, dataset, batch


@torch.no_grad()
def predict_dataset(model, dataset, batch_size: int = 16, device: str | None = None) -> tuple[list[dict], float]:
    """Run ``model`` over ``dataset``; returns per-image records and the images/s of the whole loop."""
    from mmengine.dataset import pseudo_collate
    from tqdm import tqdm
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    model.to(device)
    records = []
    t0 = time.perf_counter()
    # progress on stderr, only on a terminal (disable=None); the runner's loops log their own
    for start in tqdm(range(0, len(dataset), batch_size), desc='predict', unit='batch', disable=None, leave=False):
        data = pseudo_collate([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
        for ds in model.test_step(data):
            meta = ds.metainfo
            records.append(dict(img_path=meta['img_path'], img_id=meta.get('img_id'), center=meta['center'],
                                scale=float(meta['scale']), gt=np.asarray(meta['ori_keypoints'], np.float64),
                                pred=ds.pred_keypoints.cpu().numpy().astype(np.float64),
                                attributes=np.asarray(meta.get('attributes', []), np.int64),
                                box_size=meta.get('box_size')))
    elapsed = time.perf_counter() - t0
    return records, len(records) / max(elapsed, 1e-9)


def subset_indices(dataset, records: Sequence[dict]) -> dict[str, np.ndarray]:
    """Positions of each subset's faces in the full test list (official lists, else attribute flags)."""
    ann = dataset.ann_file
    full = [dict(img_rel=r['img_id'], keypoints=r['gt']) for r in records]
    out = {}
    for j, name in enumerate(SUBSETS):
        if ann.lower().endswith('.csv'):
            path = osp.splitext(ann)[0] + f'_{name}.csv'
            reader = lambda p: read_hrnet_csv(p, dataset.num_landmarks)  # noqa: E731
        else:
            path = osp.join(dataset.data_root, subset_file(name))
            reader = lambda p: read_wflw_list(p, dataset.num_landmarks)  # noqa: E731
        if osp.isfile(path) and os.path.getsize(path) > 0:
            out[name] = find_subset_indices(full, reader(path), path)
        elif osp.isfile(path):
            out[name] = np.zeros(0, np.int64)   # an empty subset list
        elif all(len(r['attributes']) == len(ATTRIBUTES) for r in records):
            flags = np.array([r['attributes'][j] for r in records], bool)
            out[name] = np.flatnonzero(flags)
    return out


def format_table(metrics: dict[str, dict], title: str = 'WFLW') -> str:
    """Rows NME (%), FR@0.10 (%), AUC@0.10 over the columns Test, Pose, ..., Blur (paper layout)."""
    cols = [(k, h) for k, h in COLUMNS if k in metrics]
    w = 13
    lines = [f'{title:<16}' + ''.join(f'{h:>{w}}' for _, h in cols)]
    rows = (('NME (%)', 'NME', 100, '.2f'), ('FR@0.10 (%)', 'FR@0.10', 100, '.2f'), ('AUC@0.10', 'AUC@0.10', 1, '.4f'),
            ('images', 'count', 1, 'd'))
    for label, key, mult, fmt in rows:
        cells = []
        for k, _ in cols:
            v = metrics[k].get(key, float('nan'))
            cells.append(f'{v * mult:>{w}{fmt}}' if not (isinstance(v, float) and np.isnan(v)) else f'{"-":>{w}}')
        lines.append(f'{label:<16}' + ''.join(cells))
    return '\n'.join(lines)


def run_wflw_bench(config: str, checkpoint: str | None, data_root: str | None = None, out_dir: str | None = None,
                   num_vis: int = 8, device: str | None = None) -> dict:
    """Evaluate, print the table, write JSON/PNGs; returns the result dict."""
    model, dataset, batch = build_from_config(config, data_root, checkpoint, device)
    records, ips = predict_dataset(model, dataset, batch, device)
    if not records:
        raise ValueError(f'the test set of {config} under {data_root} is empty')
    k = records[0]['gt'].shape[0]
    how, pts = metadata_norm(dataset.metainfo, f'hrvision bench wflw ({config})')   # the dataset's normaliser
    box = [r['box_size'] for r in records] if how == 'bbox' else None
    nme = compute_nme(np.stack([r['pred'] for r in records]), np.stack([r['gt'] for r in records]), box,
                      norm_indices=pts, by_box=how == 'bbox')
    groups = {'test': np.arange(len(records))}
    groups.update(subset_indices(dataset, records) if k == 98 else {})
    metrics = {name: summarize(nme[idx]) for name, idx in groups.items()}
    table = format_table(metrics, title=f'{k}-point')
    print(table)
    result = dict(config=config, checkpoint=checkpoint, data_root=dataset.data_root, num_images=len(records),
                  num_landmarks=k,
                  normalisation=f'landmarks {pts[0]}/{pts[1]} (metainfo.norm_indices)' if pts else 'box_size',
                  metrics=metrics, eval_images_per_s=ips, auc_rule=AUC_RULE,
                  per_image=[dict(img_id=r['img_id'], nme=float(e)) for r, e in zip(records, nme)])
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        atomic_write_text(osp.join(out_dir, 'wflw_results.json'), json.dumps(result, indent=1))
        atomic_write_text(osp.join(out_dir, 'wflw_table.txt'), table + '\n')
        curves = {h: nme[groups[n]] for n, h in COLUMNS if n in groups and len(groups[n])}
        plot_ced(curves, 0.10, osp.join(out_dir, 'ced.png'), title=f'CED on {k}-point test')
        from hrvision.data.io import read_image
        from .vis import save_landmark_grid
        pick = np.linspace(0, len(records) - 1, min(num_vis, len(records))).round().astype(int)
        items = [dict(image=read_image(records[i]['img_path']), pred=records[i]['pred'], gt=records[i]['gt'],
                      center=records[i]['center'], scale=records[i]['scale'], title=f'NME {nme[i] * 100:.1f}%')
                 for i in pick]
        save_landmark_grid(osp.join(out_dir, 'landmarks.png'), items, skeleton=dataset.metainfo.get('skeleton') or ())
        result['files'] = {n: osp.join(out_dir, n) for n in ('wflw_results.json', 'wflw_table.txt', 'ced.png',
                                                             'landmarks.png')}
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``hrvision bench wflw`` and ``benchmarks/wflw.py`` (one definition)."""
    p.add_argument('--config', required=True, help='mmengine config (e.g. configs/face/hrnetv2_w18_wflw.py)')
    p.add_argument('--checkpoint', default=None,
                   help='hrvision/runner checkpoint or official state dict (HR18-WFLW.pth); omit to score the '
                        'untrained initialisation (a baseline)')
    p.add_argument('--data-root', default=None, help='WFLW root (default: the config\'s data_root)')
    p.add_argument('--out', default=None, help='folder for wflw_results.json, wflw_table.txt, ced.png, landmarks.png')
    p.add_argument('--num-vis', type=int, default=8, help='faces in landmarks.png')
    p.add_argument('--device', default=None, help='cpu / cuda (default: cuda when available)')


def run(args: argparse.Namespace) -> dict:
    return run_wflw_bench(args.config, args.checkpoint, args.data_root, args.out, num_vis=args.num_vis,
                          device=args.device)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description='WFLW accuracy benchmark (NME / FR@0.10 / AUC@0.10, test + six subsets)')
    add_arguments(p)
    run(p.parse_args(argv))
    return 0
