#!/usr/bin/env bash
# The GPU check (issue 26), in one go on a machine with CUDA: about 5-8 minutes on one H100.
#
#   1. the README demo on CUDA (fp32), then the demo config trained with --amp (fp16) and tested: mIoU, ms/iter,
#      peak memory;
#   2. --resume on CUDA: 20 + 20 iterations against 40 straight (max weight difference: exact resume is not
#      promised on CUDA, docs/gpu.md), and randomness.deterministic=True (expected to refuse bilinear backward);
#   3. torchrun on every GPU present (NCCL): train + in-training validation, then hrvision test of the checkpoint
#      with 1 process and with all of them;
#   4. inference speed against timm with --device cuda (benchmarks/infer_speed.py) and the backbone alone
#      (benchmarks/backbone_speed.py).
#
# Usage:  bash benchmarks/gpu_check.sh [OUT_DIR]
#   OUT_DIR (default: $OUT when set, else ./gpu_check_out) receives gpu_check.md, the part to paste into
#   benchmarks/RESULTS.md, and logs/ with every step's output. Python: $PYTHON, else .venv/bin/python, else python.
#   GPU_CHECK_FULL=1 adds seg W48 to the inference benchmark and benchmarks/seg_speed.py (AMP, channels_last).
#   GPU_CHECK_DRY=1 runs every step on the CPU with tiny sizes: a check of this script's plumbing, no figures.
# Without CUDA (and without GPU_CHECK_DRY) nothing runs: one line on stderr, exit 2. Exit 1 when a step failed
# (gpu_check.md says which and why); 0 otherwise.
set -u -o pipefail

# step NAME EXPECT CMD...: run CMD (time limit $TIMEOUT s) into logs/NAME.log; EXPECT=ok or fail (a refusal wanted)
step() {
  local name=$1 expect=$2 start rc status
  shift 2
  start=$(date +%s)
  echo "[gpu_check] $name: $*" | tee -a "$LOGS/commands.txt"
  timeout "$TIMEOUT" "$@" >"$LOGS/$name.log" 2>&1
  rc=$?
  if { [ "$expect" = ok ] && [ $rc -eq 0 ]; } || { [ "$expect" = fail ] && [ $rc -ne 0 ] && [ $rc -ne 124 ]; }; then
    status=ok
  else
    status="FAILED (exit $rc$([ $rc -eq 124 ] && echo ": over ${TIMEOUT} s"))"
    FAILED=1
  fi
  STEPS+=("| $name | $status | $(( $(date +%s) - start )) | $(grep -v '^[][{}, ]*$' "$LOGS/$name.log" | tail -n 1 | tr '|' '/' | cut -c1-160) |")
  echo "[gpu_check] $name: $status"
}

main() {   # the whole run is one function: bash has read all of it before the first step (safe to edit meanwhile)
OUT_DIR=${1:-${OUT:-./gpu_check_out}}
case $OUT_DIR in /*) ;; *) OUT_DIR="$PWD/$OUT_DIR" ;; esac
cd "$(dirname "$0")/.." || exit 2
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON; elif [ -x .venv/bin/python ]; then PY=$PWD/.venv/bin/python; else PY=python; fi
DRY=${GPU_CHECK_DRY:-0}
NGPU=$("$PY" -c 'import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)' 2>/dev/null | tail -n 1)
case $NGPU in '' | *[!0-9]*) NGPU=0 ;; esac
if [ "$NGPU" -lt 1 ] && [ "$DRY" != 1 ]; then
  echo "gpu_check.sh: torch ($PY) sees no CUDA device; this check needs a GPU (nothing was run; GPU_CHECK_DRY=1 runs it on the CPU)" >&2
  exit 2
fi

if [ "$DRY" = 1 ]; then
  DEV=cpu; NPROC=1; ITERS=4; HALF=2; TIMEOUT=600
  DATA_N=(--n-train 4 --n-val 2); DEMO=(--quick --iters 2)
  INFER=(--tasks face --rounds 1 --images 1 --threads 1); BACKBONE=(--models hrnet_w18_small --batches 1 --repeats 1 --warmup 0)
else
  DEV=cuda; NPROC=$NGPU; ITERS=40; HALF=20; TIMEOUT=300
  DATA_N=(--n-train 40 --n-val 10); DEMO=()
  TASKS=(face pose seg_w18s); [ "${GPU_CHECK_FULL:-0}" = 1 ] && TASKS+=(seg_w48)
  INFER=(--tasks "${TASKS[@]}" --rounds 3 --images 4 --threads 8)
  BACKBONE=(--models hrnet_w18 hrnet_w32 hrnet_w48 --batches 1 32 --repeats 7 --threads 8 --fold-bn)
fi
mkdir -p "$OUT_DIR/logs" || exit 2
W=$OUT_DIR/work
LOGS=$OUT_DIR/logs
REPORT=$OUT_DIR/gpu_check.md
DATA=$W/data
CFG=configs/segmentation/demo_synthetic.py
ROOTS=("train_dataloader.dataset.data_root=$DATA" "val_dataloader.dataset.data_root=$DATA"
       "test_dataloader.dataset.data_root=$DATA")
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4} PYTHONUNBUFFERED=1
STEPS=()
FAILED=0

HRV=("$PY" -m hrvision)
step data ok "${HRV[@]}" data synth-cityscapes "$DATA" "${DATA_N[@]}"
step demo ok "${HRV[@]}" demo --work-dir "$W/demo" "${DEMO[@]}"
step amp_train ok "${HRV[@]}" train "$CFG" --amp --work-dir "$W/amp" --cfg-options "${ROOTS[@]}" \
  "train_cfg.max_iters=$([ "$DRY" = 1 ] && echo $ITERS || echo 300)" "train_cfg.val_interval=100000"
AMP_CKPT=$(ls "$W"/amp/iter_*.pth 2>/dev/null | sort -V | tail -n 1)
step amp_test ok "${HRV[@]}" test "$CFG" "${AMP_CKPT:-missing.pth}" --work-dir "$W/amp_test" --cfg-options "${ROOTS[@]}"

SHORT=("${ROOTS[@]}" "train_cfg.val_interval=100000" "default_hooks.checkpoint.interval=$HALF")
step straight ok "${HRV[@]}" train "$CFG" --work-dir "$W/straight" --cfg-options "${SHORT[@]}" "train_cfg.max_iters=$ITERS"
step resume_part ok "${HRV[@]}" train "$CFG" --work-dir "$W/resume" --cfg-options "${SHORT[@]}" "train_cfg.max_iters=$HALF"
step resume ok "${HRV[@]}" train "$CFG" --resume --work-dir "$W/resume" --cfg-options "${SHORT[@]}" "train_cfg.max_iters=$ITERS"
step resume_diff ok "$PY" - "$W/straight/iter_$ITERS.pth" "$W/resume/iter_$ITERS.pth" <<'EOF'
import sys, torch
a, b = (torch.load(p, map_location='cpu', weights_only=True)['state_dict'] for p in sys.argv[1:3])
d = {k: (a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].is_floating_point()}
worst = max(d, key=d.get)
print(f'resumed vs straight: {sum(v == 0 for v in d.values())}/{len(d)} tensors equal; max |diff| {d[worst]:.3g} ({worst})')
EOF
if [ "$DEV" = cuda ]; then   # mmengine: torch.use_deterministic_algorithms(True); bilinear backward has no such kernel
  step deterministic fail env CUBLAS_WORKSPACE_CONFIG=:4096:8 "${HRV[@]}" train "$CFG" --work-dir "$W/det" \
    --cfg-options "${SHORT[@]}" "train_cfg.max_iters=2" "randomness.deterministic=True"
fi

if [ "$DEV" = cuda ]; then
  DDP=("$PY" -m torch.distributed.run --standalone --nproc_per_node="$NPROC")
else
  DDP=("$PY" -m torch.distributed.run --standalone --nproc_per_node=1)
fi
step torchrun_train ok "${DDP[@]}" -m hrvision train "$CFG" --launcher pytorch --work-dir "$W/ddp" \
  --cfg-options "${ROOTS[@]}" "train_cfg.max_iters=$ITERS" "train_cfg.val_interval=$ITERS"
step torchrun_test ok "${DDP[@]}" -m hrvision test "$CFG" "$W/ddp/iter_$ITERS.pth" --launcher pytorch \
  --work-dir "$W/ddp_test" --cfg-options "${ROOTS[@]}"
step test_1proc ok "${HRV[@]}" test "$CFG" "$W/ddp/iter_$ITERS.pth" --work-dir "$W/ddp_test1" --cfg-options "${ROOTS[@]}"

step infer_speed ok "$PY" benchmarks/infer_speed.py --device "$DEV" "${INFER[@]}"
step backbone_speed ok "$PY" benchmarks/backbone_speed.py --device "$DEV" "${BACKBONE[@]}"
if [ "${GPU_CHECK_FULL:-0}" = 1 ] && [ "$DEV" = cuda ]; then
  step seg_speed ok "$PY" benchmarks/seg_speed.py --device cuda --arch hrnet_w48 --iters 10 --skip-pipeline
fi

# ---- the report ------------------------------------------------------------------------------------------------
"$PY" - "$OUT_DIR" "$DEV" "$NPROC" "$FAILED" "${STEPS[@]}" >"$REPORT" <<'EOF'
import datetime, glob, json, os, re, statistics, subprocess, sys
out, dev, nproc, failed, steps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == '1', sys.argv[5:]
logs, work = os.path.join(out, 'logs'), os.path.join(out, 'work')


def log(name):
    p = os.path.join(logs, f'{name}.log')
    return open(p, errors='replace').read() if os.path.isfile(p) else ''


def first(pattern, text, default='n/a'):
    """The last match of ``pattern`` in ``text`` (a number to 4 decimals)."""
    m = re.findall(pattern, text)
    if not m:
        return default
    try:
        return f'{float(m[-1]):.4f}'
    except ValueError:
        return m[-1]


def train_stats(run):
    """median s/iter and peak memory (MiB) from mmengine's scalars.json of a work dir."""
    rows = []
    for p in glob.glob(os.path.join(work, run, '*', 'vis_data', 'scalars.json')):
        rows += [json.loads(line) for line in open(p) if line.strip()]
    t = [r['time'] for r in rows if 'time' in r][1:]   # the first logged window holds the start-up
    mem = [r['memory'] for r in rows if 'memory' in r]
    return (f'{statistics.median(t) * 1000:.1f}' if t else 'n/a'), (f'{max(mem)}' if mem else 'n/a')


import torch
name = ', '.join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())) if dev == 'cuda' else 'CPU (dry run)'
try:
    smi = subprocess.run(['nvidia-smi', '--query-gpu=driver_version', '--format=csv,noheader'], capture_output=True,
                         text=True, timeout=20).stdout.strip().splitlines()[0]
except Exception:
    smi = 'n/a'
print(f'### GPU check ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, `bash benchmarks/gpu_check.sh`)\n')
print(f'{name}; driver {smi}; torch {torch.__version__} (CUDA {torch.version.cuda}); {nproc} process(es) under '
      f'torchrun.{" **Some steps failed: see the table.**" if failed else ""}\n')
print('| step | status | seconds | last line of its log |\n|---|---|---|---|')
print('\n'.join(steps))
fp32_t, fp32_m = train_stats('demo')
amp_t, amp_m = train_stats('amp')
print('\n| segmentation demo (W18-small-v1, 128x256, batch 4, 300 iterations) | mIoU | ms/iter | peak MiB |')
print('|---|---|---|---|')
print(f'| fp32 (`hrvision demo`) | {first(r"demo mIoU: ([0-9.]+)", log("demo"))} | {fp32_t} | {fp32_m} |')
print(f'| AMP fp16 (`hrvision train --amp`, then `hrvision test`) | {first(r"mIoU[^0-9]*([0-9.]+)", log("amp_test"))} '
      f'| {amp_t} | {amp_m} |')
print(f'\nResume on {dev}: {first(r"(resumed vs straight: .*)", log("resume_diff"))}.')
det = log('deterministic')
if det:
    print(f'randomness.deterministic=True: {first(r"(RuntimeError: .*)", det, "trained without error")[:300]}')
print(f'\ntorchrun ({nproc} process(es)): in-training val mIoU '
      f'{first(r"seg/mIoU: ([0-9.]+)", log("torchrun_train"))}; hrvision test of its checkpoint: '
      f'{first(r"mIoU[^0-9]*([0-9.]+)", log("torchrun_test"))} ({nproc} process(es)), '
      f'{first(r"mIoU[^0-9]*([0-9.]+)", log("test_1proc"))} (1 process).')
rows = [json.loads(line) for line in log('infer_speed').splitlines() if line.startswith('{"task"')]
if rows:
    keys = list(rows[0]['images_per_s'])
    print('\nEnd-to-end inference, images/s (`benchmarks/infer_speed.py --device ' + dev + '`; timm = network alone):\n')
    print('| task | image | ' + ' | '.join(keys) + ' | best / timm |')
    print('|---|---|' + '---|' * len(keys) + '---|')
    for r in rows:
        print(f'| {r["task"]} | {r["image"]} | ' + ' | '.join(str(r['images_per_s'][k]) for k in keys)
              + f' | {r["best_vs_timm"]} ({r["best"]}) |')
table = [line for line in log('backbone_speed').splitlines() if line.startswith(('|', '#'))]
if table:
    print('\nBackbone forward (`benchmarks/backbone_speed.py --device ' + dev + '`):\n')
    print('\n'.join(table))
seg = [line for line in log('seg_speed').splitlines() if line.startswith(('|', '#'))]
if seg:
    print('\nSegmentation W48 train / inference (`benchmarks/seg_speed.py --device cuda`):\n')
    print('\n'.join(seg))
EOF
echo "[gpu_check] report: $REPORT"
return "$FAILED"
}

main "$@"
exit $?
