#!/usr/bin/env bash
# ansible-test needs the collection at .../ansible_collections/dcvkit/session_manager; it is run on a copy of
# the files git would ship (tracked, plus new files not ignored), so build output and the venv stay out of it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
# Outside the repository (ansible-test lists files with git when it finds a checkout above it), and one
# directory per run, so that runs from several checkouts at once do not delete each other's copy.
base=${XDG_CACHE_HOME:-$HOME/.cache}/dcvkit; mkdir -p "$base"
work=$(mktemp -d "$base/sanity.XXXXXX"); trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/dcvkit/session_manager
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf - | tar -C "$dest" -xf -
cd "$dest"
for f in tests/sanity/ignore-*.txt; do
  [ ! -s "$f" ] || { echo "ERROR: $f is not empty: fix the finding instead of ignoring it" >&2; exit 1; }
done
# ansible-test bootstraps pip in its test venvs with a script from a host that is unreachable here; seed its
# cache with one that uses the Python's bundled ensurepip instead (scripts/ansible-test-get-pip.py).
pip_version=$(python3 - <<'PY'
import re, ansible_test._internal.python_requirements as r
print(re.search(r"pip='([0-9.]+)'", open(r.__file__).read()).group(1))
PY
)
cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
mkdir -p "$(dirname "$cache")"
cmp -s "$root/scripts/ansible-test-get-pip.py" "$cache" || cp "$root/scripts/ansible-test-get-pip.py" "$cache"
ansible-test sanity --python 3.11 --color no --exclude scripts/ansible-test-get-pip.py "$@"
