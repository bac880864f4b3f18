"""``hrvision bench deploy`` (hrvision/deploy_bench.py): one table backend x precision -> latency, images/s, the
metric and its difference from torch fp32, file size; JSON, markdown and a PNG chart with ``--out``; the torch row
equals ``hrvision test``; the bf16 row says when the CPU lacks bf16; refusals in one line."""
import json
import os
import subprocess
import sys

import pytest

from tests.test_quantize import ENV, ROOT, test_json, tiny  # noqa: F401  (tiny models + synthetic data)

pytest.importorskip('onnxruntime')


def cli(*args):
    return subprocess.run([sys.executable, '-m', 'hrvision', *map(str, args)], capture_output=True, text=True,
                          env=ENV, timeout=900, cwd=str(ROOT))


@pytest.mark.slow
def test_bench_deploy_table_json_and_chart(tiny, tmp_path):  # noqa: F811
    cfg, ckpt, _ = tiny['seg']
    out = tmp_path / 'bench'
    r = cli('bench', 'deploy', cfg, ckpt, '--shape', 64, 96, '--calib', 2, '--rounds', 2, '--images', 2,
            '--eval-split', 'test', '--out', out, '--calib-method', 'percentile', '--keep-fp32', 'first')
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out / 'deploy_bench.json').read_text())
    assert res['calib_method'] == 'percentile 99.999' and res['keep_fp32'] == 'first'   # the flags reach the int8 file
    assert 'percentile 99.999 calibration, fp32 layers: first' in r.stdout
    assert (out / 'deploy_bench.md').read_text().strip() in r.stdout
    assert (out / 'deploy_bench.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert res['threads'] == 1 and res['images'] == 2 and res['rounds'] == 2
    rows = {(x['backend'], x['precision']): x for x in res['rows']}
    have_ov = True
    try:
        import openvino  # noqa: F401
    except ImportError:
        have_ov = False
    want = {('torch', 'fp32'), ('onnxruntime', 'fp32'), ('onnxruntime', 'int8'), ('openvino', 'fp32'),
            ('openvino', 'bf16'), ('openvino', 'int8')}
    assert set(rows) == want
    ref = test_json(cli('test', cfg, ckpt, '--work-dir', tmp_path / 'wd').stdout)['seg/mIoU']
    torch_row = rows['torch', 'fp32']
    assert torch_row['metrics']['seg/mIoU'] == pytest.approx(ref, abs=1e-9) and torch_row['diff']['seg/mIoU'] == 0
    assert torch_row['file_bytes'] == os.path.getsize(ckpt)
    ort = rows['onnxruntime', 'fp32']   # fp32 file: the same metric to float rounding
    assert ort['metrics']['seg/mIoU'] == pytest.approx(ref, abs=1e-3)
    assert rows['onnxruntime', 'int8']['file_bytes'] < ort['file_bytes']
    for key, row in rows.items():
        measured = row['status'] == 'ok'
        if key == ('openvino', 'bf16'):
            from hrvision.quantize import bf16_supported
            assert measured == (have_ov and bf16_supported()), row['status']
            if not measured:
                assert 'bf16' in row['status'] and 'not measured' in row['status']
                assert 'not measured' in next(ln for ln in r.stdout.splitlines() if ln.startswith('| openvino | bf16'))
            continue
        assert measured == (have_ov or key[0] != 'openvino'), row
        if measured:
            assert len(row['rounds_ms']) == 2 and row['latency_ms'] > 0
            assert row['images_per_s'] == pytest.approx(1000 / row['latency_ms'])
            assert row['diff']['seg/mIoU'] == pytest.approx(row['metrics']['seg/mIoU'] - ref, abs=1e-12)
    assert '1 thread(s)' in r.stdout and 'median of 2 interleaved rounds' in r.stdout


def test_bench_deploy_refusals(tiny, tmp_path, capsys):  # noqa: F811
    from hrvision.cli import main
    cfg, ckpt, _ = tiny['seg']
    for extra, says in ((['--backends', 'torch', '--precisions', 'int8'], 'no row of the ladder'),
                        (['--eval-split', 'train', '--cfg-options', 'train_dataloader=None'], 'train'),
                        (['--precisions', 'fp32', '--keep-fp32', 'last'], '--keep-fp32: only with an int8 row')):
        capsys.readouterr()
        assert main(['bench', 'deploy', cfg, ckpt, '--shape', '64', '96', *extra]) == 2, extra
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith('hrvision: error:') and says in err[-1], err
    for flag, bad in (('--calib-method', 'kl'), ('--keep-fp32', 'all')):   # argparse: one line, exit 2
        capsys.readouterr()
        with pytest.raises(SystemExit) as e:
            main(['bench', 'deploy', cfg, ckpt, '--shape', '64', '96', flag, bad])
        assert e.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"argument {flag}: invalid choice: '{bad}'" in err[0], err
    f = tmp_path / 'file'
    f.write_text('x')
    assert main(['bench', 'deploy', cfg, ckpt, '--shape', '64', '96', '--out', str(f)]) == 2


def test_table_marks_unmeasured_rows():
    from hrvision.deploy_bench import table
    res = dict(config='c.py', threads=1, rounds=3, images=2, eval_split='val', notes=['n1'], torch='2', load_average=[1],
               rows=[dict(backend='torch', precision='fp32', status='ok', latency_ms=10.0, images_per_s=100.0,
                          metrics={'seg/mIoU': 0.5}, diff={'seg/mIoU': 0.0}, file_bytes=2_000_000),
                     dict(backend='openvino', precision='bf16', status='not measured: no bf16', latency_ms=None,
                          images_per_s=None, metrics={}, diff={}, file_bytes=None)])
    text = table(res)
    assert '| torch | fp32 | 10.0 | 100.00 | 0.5000 | +0.0000 | 2.00 |' in text
    assert '| openvino | bf16 | not measured: no bf16 |' in text
    assert '- n1' in text
