#!/usr/bin/env bash
# Install the MCP reference server @modelcontextprotocol/server-everything from the npm
# registry into tests/.npm/ (gitignored), for tests/integration/test_mcp_everything.py.
# Idempotent; without npm (or without the registry) it says so and exits 0: those tests are
# then skipped with a reason.
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION="${MCP_EVERYTHING_VERSION:-2026.8.31}"
DIR=tests/.npm
BIN="$DIR/node_modules/.bin/mcp-server-everything"

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "npm/node not found: the server-everything tests will be skipped"
    exit 0
fi
if [ -x "$BIN" ] && [ -f "$DIR/.installed-$VERSION" ]; then
    echo "server-everything $VERSION already installed in $DIR"
    exit 0
fi
mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || echo '{"private": true, "name": "stoa-test-npm"}' > "$DIR/package.json"
if timeout 300 npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error \
        "@modelcontextprotocol/server-everything@$VERSION"; then
    rm -f "$DIR"/.installed-*
    touch "$DIR/.installed-$VERSION"
    echo "installed server-everything $VERSION in $DIR"
else
    echo "npm install failed (registry unreachable?): the server-everything tests will be skipped"
    exit 0
fi
