#!/usr/bin/env bash
# Run the whole platform locally (six services as processes against RabbitMQ). Ctrl-C stops it.
#   ./scripts/run.sh                  all services
#   ./scripts/run.sh run --only intake classifier
#   ./scripts/run.sh token --role supervisor     a local staff token
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh --no-dev
export PATH="$HOME/.local/bin:$PATH"
exec uv run --frozen --no-dev python -m servicekit.launcher "$@"
