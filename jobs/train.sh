#!/usr/bin/env bash
# viscoder train as a Ray job:  jobs/train.sh --config configs/... [key=value ...]
exec "$(dirname "${BASH_SOURCE[0]}")/submit.sh" train "$@"
