#!/usr/bin/env bash
# Runs the openstacksdk / openstackclient compatibility suite (tests/sdk):
# prepares .venv, builds the neutrino binary, runs pytest. Extra arguments go
# to pytest, e.g. scripts/test-sdk.sh -k tags -x
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

scripts/setup-python.sh
cargo build -p neutrino
set +e
.venv/bin/pytest -q tests/sdk "$@"
status=$?
set -e
exit "$status"
