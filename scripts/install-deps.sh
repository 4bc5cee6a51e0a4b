#!/usr/bin/env bash
# Installs the Debian packages listed in scripts/packages.txt (and .ci/packages-*.txt) that are
# missing. Idempotent; needs root (apt-get).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mapfile -t wanted < <(cat "$top"/scripts/packages.txt "$top"/.ci/packages-*.txt 2>/dev/null |
    sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)
# The interop tests run the MCP SDK on Node.js: Debian's npm only where no npm came with the
# machine's Node.js (installing it beside a newer nodejs would fail).
command -v npm >/dev/null 2>&1 || wanted+=(npm)
missing=()
for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages: ${missing[*]} (run as root)" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packaged services must not hold the ports or data the tests use: tests start their own.
for svc in apache2 postgresql memcached redis-server; do
    service "$svc" stop >/dev/null 2>&1 || true
done
