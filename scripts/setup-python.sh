#!/usr/bin/env bash
# Create or refresh the Python virtualenv used by the SDK compatibility suite
# (tests/sdk). Idempotent: when .venv exists and already holds exactly the
# versions pinned in tests/sdk/requirements.txt it does nothing.
#
#   scripts/setup-python.sh            # uses python3 from PATH
#   PYTHON=/usr/bin/python3.11 scripts/setup-python.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQS="$ROOT/tests/sdk/requirements.txt"
PYTHON="${PYTHON:-python3}"

say() { printf 'setup-python: %s\n' "$*"; }
die() { printf 'setup-python: error: %s\n' "$*" >&2; exit 1; }

[ -f "$REQS" ] || die "missing $REQS"
command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found; install CPython 3 (3.11 or later)"

# Prints the pinned requirements that the venv does not satisfy (one per
# line); prints nothing when every pin is installed at its exact version.
missing_pins() {
    "$VENV/bin/python" - "$REQS" <<'PY'
import re, sys
from importlib import metadata
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*==\s*([^\s;]+)", line)
    if not m:
        print(line)
        continue
    name, want = m.groups()
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        have = None
    if have != want:
        print(f"{name}=={want} (installed: {have or 'none'})")
PY
}

venv_usable() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1 \
        && "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}

make_venv() {
    local log
    log="$(mktemp)"
    if "$PYTHON" -m venv "$VENV" >"$log" 2>&1; then
        rm -f "$log"
        return 0
    fi
    # Debian splits ensurepip/venv into python3-venv; install it when we can.
    say "'$PYTHON -m venv' failed:"
    sed 's/^/    /' "$log" >&2
    rm -f "$log"
    rm -rf "$VENV"
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        local pyver pkgs
        pyver="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
        pkgs="python3-venv"
        # python3.X-venv exists on Debian/Ubuntu; add it when apt knows it.
        say "installing python3-venv with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null \
            || die "apt-get update failed"
        if apt-cache show "python${pyver}-venv" >/dev/null 2>&1; then
            pkgs="$pkgs python${pyver}-venv"
        fi
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs >/dev/null \
            || die "apt-get install $pkgs failed"
        "$PYTHON" -m venv "$VENV" || die "'$PYTHON -m venv $VENV' still fails after installing $pkgs"
    else
        die "'$PYTHON -m venv' does not work and this is not root with apt-get; install the python3-venv package (e.g. 'sudo apt-get install python3-venv') and run this script again"
    fi
}

if venv_usable; then
    todo="$(missing_pins || true)"
    if [ -z "$todo" ]; then
        say "$VENV is up to date ($(grep -Ev "^\s*(#|$)" "$REQS" | paste -sd " " -))"
        exit 0
    fi
    say "$VENV exists but differs from $REQS:"
    printf '    %s\n' "$todo"
else
    if [ -e "$VENV" ]; then
        say "$VENV is broken; recreating it"
        rm -rf "$VENV"
    fi
    say "creating $VENV with $("$PYTHON" --version 2>&1)"
    make_venv
fi

say "installing pinned packages from $REQS"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip \
    || die "could not upgrade pip in $VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQS" \
    || die "pip install -r $REQS failed"

todo="$(missing_pins || true)"
[ -z "$todo" ] || die "after installing, still not matching the pins: $todo"
say "done: $VENV holds $(grep -Ev "^\s*(#|$)" "$REQS" | paste -sd " " -)"
