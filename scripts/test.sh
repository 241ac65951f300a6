#!/usr/bin/env bash
# Run every test: unit, service (in-memory broker) and end-to-end (real RabbitMQ at RABBITMQ_URL).
#   ./scripts/test.sh                 everything
#   ./scripts/test.sh services/intake -k lifecycle    any pytest arguments
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
export PATH="$HOME/.local/bin:$PATH"
exec uv run --frozen pytest "$@"
