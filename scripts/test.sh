#!/usr/bin/env bash
# Run every test: unit, service (in-memory broker) and end-to-end (real RabbitMQ at RABBITMQ_URL).
#   ./scripts/test.sh                 everything
#   ./scripts/test.sh services/intake -k lifecycle    any pytest arguments
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
# Browser tests drive Debian's Chromium (with CJK fonts for the Chinese pages): install it when missing.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo_cmd="sudo"
  if [ "$(id -u)" -eq 0 ] || [ -n "$sudo_cmd" ]; then
    echo "installing chromium for the browser tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  else
    echo "chromium is missing and cannot be installed here: browser tests will be skipped (fail under CI=true)" >&2
  fi
fi
export PATH="$HOME/.local/bin:$PATH"
exec uv run --frozen pytest "$@"
