#!/usr/bin/env bash
# The training recipe's MFU check on one GPU (issue 16): benchmarks/train_mfu.py on the
# Qwen2.5-Coder-1.5B shape, then the 7B shape while time is left, gradient checkpointing on
# and off, bf16, ZeRO-3, packed 2048-token rows; sized to finish in under 8 minutes.
#
#   scripts/gpu_mfu.sh wheels   # here (network to PyPI): fill .gpu-wheels/ with what the GPU
#                               # machine lacks; git-ignored (.git/info/exclude), ~7 MB
#   scripts/gpu_mfu.sh          # on the GPU machine: install those wheels, run, write $OUT
#   scripts/gpu_mfu.sh dry      # here, on CPU: the same sequence on the tiny shape with the
#                               # venv's packages (no install), to check the script itself
#
# The GPU machine (an H200 with Python 3.12, torch 2.11 CUDA 13, transformers, accelerate; no
# network, no DeepSpeed, no Ray, no vLLM) gets the wheels as files: with the device tool,
#   run(command="bash scripts/gpu_mfu.sh", carry=[".gpu-wheels"], timeout_s=540)
# Results land in $OUT: gpu_mfu.log, versions.txt and mfu-<shape>-gc-<on|off>.json.
# The code path run there is viscoder/train/fit.py, which imports no Ray.
set -uo pipefail
cd "$(dirname "$0")/.."
WHEELS=.gpu-wheels
PYTHON=${PYTHON:-python3}

# What `viscoder train`'s worker code path imports that the GPU image lacks, at the versions
# this repo's venv tests (keep in step with .venv: `.venv/bin/python -m pip list`).
DEEPSPEED=deepspeed==0.19.8
PURE=(trl==1.16.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 fsspec==2026.9.0
      pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
      hjson==3.1.0 typing-extensions==4.16.0)

build_wheels() {
    local py=.venv/bin/python
    mkdir -p "$WHEELS"
    grep -qxF "/$WHEELS/" .git/info/exclude 2>/dev/null || echo "/$WHEELS/" >> .git/info/exclude
    # DeepSpeed ships only an sdist; its setup.py imports torch, hence no build isolation.
    # DS_BUILD_OPS unset: no op is compiled here, the GPU machine JIT-builds any it needs.
    "$py" -m pip wheel "$DEEPSPEED" --no-deps --no-build-isolation --no-cache-dir -w "$WHEELS" || return 1
    "$py" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d "$WHEELS" "${PURE[@]}" || return 1
    ls -l "$WHEELS"
}

run_on_gpu() {  # run_on_gpu [dry]
    local dry=${1:-} start=$SECONDS budget=465 device=cuda small=1.5b big=7b extra=()
    OUT=${OUT:-$(mktemp -d)}
    exec > >(tee -a "$OUT/gpu_mfu.log") 2>&1
    echo "[gpu_mfu] $(date -u +%FT%TZ) in $PWD, results in $OUT"
    export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
    if [[ $dry ]]; then
        PYTHON=.venv/bin/python device=cpu small=dry1 big=dry2
        extra=(--accumulation 2 --warmup-steps 1 --steps 2 --seq-len 1024)
    else
        ls "$WHEELS"/*.whl >/dev/null || { echo "no wheels in $WHEELS: run '$0 wheels' here and carry it"; exit 1; }
        "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/gpu-mfu-site "$WHEELS"/*.whl || exit 1
        export PYTHONPATH=/tmp/gpu-mfu-site:$PWD DS_ACCELERATOR=cuda
        nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$OUT/versions.txt"
    fi
    "$PYTHON" - <<'EOF' 2>&1 | tee -a "$OUT/versions.txt"
import importlib.metadata as md, importlib.util, sys
import torch
print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda)
for name in ("transformers", "accelerate", "deepspeed", "trl", "datasets", "pyarrow", "pydantic",
             "tokenizers", "huggingface-hub", "flash-attn"):
    try:
        print(name, md.version(name))
    except md.PackageNotFoundError:
        print(name, "not installed")
print("ray importable:", importlib.util.find_spec("ray") is not None)
import deepspeed, trl.trainer.sft_trainer, viscoder.train.fit  # noqa: E401 - fail here, not mid-run
print("imports ok; ray imported by the code path:", "ray" in sys.modules)
EOF
    one() {  # one() NAME SHAPE GC CAP: run if time is left, limited to CAP seconds
        local left=$(( budget - (SECONDS - start) )) limit=$4
        (( left < limit )) && limit=$left
        if (( limit < 60 )); then echo "[gpu_mfu] skip $1 gc $3: ${left}s left"; return; fi
        echo "[gpu_mfu] $1 gc $3 (limit ${limit}s, at $(( SECONDS - start ))s)"
        timeout -k 10 "$limit" "$PYTHON" benchmarks/train_mfu.py --shape "$2" --device "$device" \
            --gradient-checkpointing "$3" --profile --out "$OUT/mfu-$1-gc-$3.json" "${extra[@]}"
        echo "[gpu_mfu] $1 gc $3: exit $? at $(( SECONDS - start ))s"
    }
    local s15=qwen2.5-coder-1.5b s7=qwen2.5-coder-7b
    [[ $dry ]] && s15=tiny s7=tiny
    one "$small" "$s15" on 150
    one "$small" "$s15" off 150
    one "$big" "$s7" on 220      # ZeRO-3 on one GPU: ~125 GB of states, tight
    one "$big" "$s7" off 150     # likely out of memory without checkpointing
    "$PYTHON" benchmarks/train_mfu.py --report "$OUT"/mfu-*.json
    echo "[gpu_mfu] done in $(( SECONDS - start ))s"
}

case "${1:-run}" in
    wheels) build_wheels ;;
    run) run_on_gpu ;;
    dry) run_on_gpu dry ;;
    *) echo "usage: $0 [wheels|run|dry]"; exit 2 ;;
esac
