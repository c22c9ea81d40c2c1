#!/usr/bin/env bash
# viscoder bench as a Ray job:  jobs/bench.sh --config configs/... [key=value ...]
exec "$(dirname "${BASH_SOURCE[0]}")/submit.sh" bench "$@"
