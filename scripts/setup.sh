#!/usr/bin/env bash
# Sets flywheel up on a fresh machine, idempotently:
#   1. system packages (as root, via apt-get): libopenblas-dev for the fast
#      native backend, bubblewrap for the code sandbox;
#   2. npm dependencies (from package-lock.json);
#   3. the native addon (C++ over OpenBLAS) and the WebAssembly kernels.
# A step that cannot be done (no root, no compiler) is reported and skipped:
# flywheel then runs on its portable backend / in-process sandbox.
set -uo pipefail
cd "$(dirname "$0")/.."
say() { printf 'setup: %s\n' "$*" >&2; }

need=()
dpkg -s libopenblas-dev >/dev/null 2>&1 || need+=(libopenblas-dev)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing system packages: ${need[*]}"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null \
      || say "warning: apt-get install ${need[*]} failed; continuing without them"
  else
    say "warning: missing ${need[*]}; install them as root (apt-get install ${need[*]}) for the fast backend and the kernel sandbox"
  fi
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error || { say "error: npm ci failed"; exit 1; }
fi

addon=native/build/Release/flywheel.node
if [ -f native/binding.gyp ]; then
  if [ ! -f "$addon" ] || [ -n "$(find native -maxdepth 1 -newer "$addon" -type f 2>/dev/null)" ]; then
    say "building the native backend (C++ over OpenBLAS)"
    npm run --silent build:native >/tmp/flywheel-native-build.log 2>&1 \
      || say "warning: native backend did not build (see /tmp/flywheel-native-build.log); using the portable backend"
  fi
fi

if [ -f scripts/build-wasm.mjs ]; then
  npm run --silent build:wasm >/tmp/flywheel-wasm-build.log 2>&1 \
    || say "warning: wasm kernels did not build (see /tmp/flywheel-wasm-build.log); using the js kernels"
fi
say "done ($(node bin/flywheel.js doctor --line 2>/dev/null || echo 'run ./flywheel doctor to see the backend'))"
