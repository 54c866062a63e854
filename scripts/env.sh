# shellcheck shell=bash
# Sourced by the Makefile's recipes and usable by hand: `. scripts/env.sh`.
# Puts the venv first on PATH (molecule calls ansible-config) and makes the collections importable.
_dcvkit_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$_dcvkit_root/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$_dcvkit_root/.collections"
export ANSIBLE_CONFIG="$_dcvkit_root/ansible.cfg"
# Host B of the lab is Ubuntu 22.04 when that image could be built, Debian 12 otherwise.
if [ -z "${DCVKIT_IMAGE_B:-}" ]; then
  if podman image exists localhost/dcvkit-lab-ubuntu2204:latest 2>/dev/null; then
    export DCVKIT_IMAGE_B=localhost/dcvkit-lab-ubuntu2204:latest
  else
    export DCVKIT_IMAGE_B=localhost/dcvkit-lab-debian12:latest
  fi
fi
export DCVKIT_IMAGE_A="${DCVKIT_IMAGE_A:-localhost/dcvkit-lab-debian12:latest}"
# CI logs are read as plain text.
if [ "${CI:-}" = true ]; then export NO_COLOR=1 ANSIBLE_NOCOLOR=1 PY_COLORS=0 ANSIBLE_FORCE_COLOR=0; fi
