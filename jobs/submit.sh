#!/usr/bin/env bash
# Submit one viscoder stage as a Ray job, with the project's shared runtime environment.
#
#   jobs/submit.sh STAGE [viscoder STAGE arguments...]
#
# No logic of its own: `ray job submit` uploads this repository (minus what
# jobs/runtime_env.yaml excludes) and runs `python -m viscoder.cli STAGE ARGS` on the cluster.
# The cluster is RAY_ADDRESS (e.g. http://127.0.0.1:8265 after `ray dashboard cluster.yaml`).
# Extra `ray job submit` options go in RAY_JOB_SUBMIT_ARGS (e.g. "--no-wait --submission-id x").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STAGE="$1"
shift
# shellcheck disable=SC2086  # RAY_JOB_SUBMIT_ARGS is a list of options on purpose
exec "${RAY:-ray}" job submit ${RAY_JOB_SUBMIT_ARGS:-} \
  --working-dir "$ROOT" --runtime-env "$ROOT/jobs/runtime_env.yaml" \
  -- python -m viscoder.cli "$STAGE" "$@"
