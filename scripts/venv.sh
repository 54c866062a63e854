#!/usr/bin/env bash
# Creates .venv from requirements-dev.txt and .collections/ (the collections the tests need, taken from the
# `ansible` wheel on PyPI since Galaxy is unreachable, plus this collection itself as a symlink so that
# FQCNs and `ansible_collections.dcvkit.session_manager` imports resolve). Skips work already done.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"
root=$(repo_root); cd "$root"

stamp=.venv/.dcvkit-stamp
want=$(cat requirements-dev.txt requirements-collections.txt | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/ansible-playbook ]; then
  echo "venv .venv: up to date"
else
  t0=$SECONDS
  step "creating .venv (pinned requirements-dev.txt)"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  if ! out=$(.venv/bin/python -m pip install -q -r requirements-dev.txt 2>&1); then
    grep -v '^WARNING: Location' <<<"$out" >&2
    die "pip could not install requirements-dev.txt (see above); .venv is incomplete"
  fi
  .venv/bin/python -c 'import ansible, molecule, testinfra, cryptography, selenium' \
    || die "venv is incomplete: pip did not install requirements-dev.txt (see above)"

  # Third-party collections from the pinned `ansible` wheel, cached outside the repo across `make clean`.
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/dcvkit; mkdir -p "$cache"
  spec=$(grep -v '^#' requirements-collections.txt | grep -v '^$')
  wheel_req=$(head -n 1 <<<"$spec")
  wheel="$cache/${wheel_req/==/-}-py3-none-any.whl"
  [ -f "$wheel" ] || .venv/bin/python -m pip download -q --no-deps "$wheel_req" -d "$cache" 2>&1 | grep -v '^WARNING: Location' || true
  [ -f "$wheel" ] || die "could not download $wheel_req from PyPI"
  rm -rf .collections/ansible_collections; mkdir -p .collections/ansible_collections
  tail -n +2 <<<"$spec" | .venv/bin/python -c '
import sys, zipfile
names = [line.strip().replace(".", "/") for line in sys.stdin if line.strip()]
with zipfile.ZipFile(sys.argv[1]) as wheel:
    for member in wheel.namelist():
        if any(member.startswith("ansible_collections/%s/" % n) for n in names):
            wheel.extract(member, ".collections")
missing = [n for n in names if not __import__("os").path.isdir(".collections/ansible_collections/" + n)]
if missing:
    sys.exit("collections not in the wheel: %s" % missing)
' "$wheel"
  echo "$want" >"$stamp"
  echo "venv .venv: built in $((SECONDS - t0)) s"
fi

link=.collections/ansible_collections/dcvkit/session_manager
if [ ! -L "$link" ]; then
  mkdir -p "$(dirname "$link")"
  ln -sfn ../../.. "$link"
fi
