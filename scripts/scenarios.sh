#!/usr/bin/env bash
# Lists the molecule scenarios in the order `make test` runs them: the lab first, the whole stack last.
cd "$(dirname "$0")/../molecule" 2>/dev/null || exit 0
all=$(for d in */molecule.yml; do [ -e "$d" ] && dirname "$d"; done)
order=(lab standins pki broker_gateway default)
for s in "${order[@]}"; do grep -qx "$s" <<<"$all" && echo "$s"; done
grep -vxF -f <(printf '%s\n' "${order[@]}") <<<"$all" || true
