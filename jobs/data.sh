#!/usr/bin/env bash
# viscoder data as a Ray job:  jobs/data.sh --config configs/... [key=value ...]
exec "$(dirname "${BASH_SOURCE[0]}")/submit.sh" data "$@"
