#!/usr/bin/env bash
# Build the Oxford/Paris AP tool. Usage: build_compute_ap.sh [output_path]  (default: next to this script).
# Recompiles only when the binary is missing or older than compute_ap.cpp. Compiler: $CXX (default g++).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/compute_ap.cpp"
out="${1:-$here/compute_ap}"
if [[ ! -x "$out" || "$src" -nt "$out" ]]; then
    mkdir -p "$(dirname "$out")"
    "${CXX:-g++}" -O2 -std=c++17 -Wall -Wextra -o "$out" "$src"
    echo "built $out"
else
    echo "$out is up to date"
fi
