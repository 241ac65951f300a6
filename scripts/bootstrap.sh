#!/usr/bin/env bash
# Install what the project needs on a fresh machine: uv (pinned) and the locked Python environment.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION="0.13.9"
export PATH="$HOME/.local/bin:$PATH"
if ! command -v uv >/dev/null 2>&1 || [ "$(uv --version | awk '{print $2}')" != "$UV_VERSION" ]; then
  echo "installing uv $UV_VERSION" >&2
  python3 -m pip install --quiet --user "uv==$UV_VERSION" 2>/dev/null \
    || python3 -m pip install --quiet "uv==$UV_VERSION"
fi
uv sync --frozen --quiet "$@"
