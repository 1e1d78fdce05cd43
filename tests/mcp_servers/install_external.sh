#!/usr/bin/env bash
# Install MCP servers written by others, for tests/integration/test_mcp_redteam.py:
#   npm:  @modelcontextprotocol/server-filesystem and server-memory into tests/.npm/
#   PyPI: mcp-server-time and mcp-server-git into their own venv, tests/.mcp-venv/
# (both folders are gitignored). Idempotent; without npm, the registries or the network it
# says so and exits 0: the tests that need these servers are then skipped with the reason.
set -uo pipefail
cd "$(dirname "$0")/../.."

NPM_VERSION="${MCP_REFERENCE_NPM_VERSION:-2026.8.31}"
PYPI_PINS="mcp-server-time==${MCP_SERVER_TIME_VERSION:-2026.10.19} mcp-server-git==${MCP_SERVER_GIT_VERSION:-2026.10.19}"
NPM_DIR=tests/.npm
VENV=tests/.mcp-venv
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] && PYTHON=.venv/bin/python

npm_marker="$NPM_DIR/.external-installed-$NPM_VERSION"
if [ -f "$npm_marker" ] && [ -x "$NPM_DIR/node_modules/.bin/mcp-server-filesystem" ]; then
    echo "server-filesystem and server-memory $NPM_VERSION already installed in $NPM_DIR"
elif ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "npm/node not found: the server-filesystem/server-memory tests will be skipped"
else
    mkdir -p "$NPM_DIR"
    [ -f "$NPM_DIR/package.json" ] || echo '{"private": true, "name": "stoa-test-npm"}' > "$NPM_DIR/package.json"
    if timeout 300 npm install --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error \
            "@modelcontextprotocol/server-filesystem@$NPM_VERSION" \
            "@modelcontextprotocol/server-memory@$NPM_VERSION"; then
        rm -f "$NPM_DIR"/.external-installed-*
        touch "$npm_marker"
        echo "installed server-filesystem and server-memory $NPM_VERSION in $NPM_DIR"
    else
        echo "npm install failed (registry unreachable?): those tests will be skipped"
    fi
fi

pypi_marker="$VENV/.installed-$(echo "$PYPI_PINS" | tr ' =' '_-')"
if [ -f "$pypi_marker" ] && [ -x "$VENV/bin/mcp-server-time" ]; then
    echo "mcp-server-time and mcp-server-git already installed in $VENV"
elif ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
    echo "could not create $VENV: the mcp-server-time/git tests will be skipped"
else
    # shellcheck disable=SC2086
    if timeout 600 "$VENV/bin/python" -m pip install -q --disable-pip-version-check $PYPI_PINS; then
        rm -f "$VENV"/.installed-*
        touch "$pypi_marker"
        echo "installed $PYPI_PINS in $VENV"
    else
        echo "pip install failed (PyPI unreachable?): the mcp-server-time/git tests will be skipped"
    fi
fi
exit 0
