#!/usr/bin/env bash
# Run the whole platform locally: six services + web console as processes against RabbitMQ and a
# persistent local MongoDB wire server (SecantusDB, data in .run/data/). Ctrl-C stops it.
#   ./scripts/run.sh                  all services, persistent data
#   ./scripts/run.sh --memory         throw-away run (in-memory stores)
#   ./scripts/run.sh run --only intake classifier
#   ./scripts/run.sh token --role supervisor     a local staff token
# MONGODB_URL, when set, wins over the local server.
set -euo pipefail
cd "$(dirname "$0")/.."
# --inexact: never remove what ./scripts/test.sh installed (pytest & co.), so the two never fight.
./scripts/bootstrap.sh --no-dev --inexact
export PATH="$HOME/.local/bin:$PATH"
exec uv run --frozen --no-sync python -m servicekit.launcher "$@"
