# shellcheck shell=bash
# Shared helpers for the setup scripts (sourced, not run).
step() { printf '==> %s\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }
