#!/usr/bin/env bash
# viscoder serve as a Ray job:  jobs/serve.sh --config configs/... [key=value ...]
exec "$(dirname "${BASH_SOURCE[0]}")/submit.sh" serve "$@"
