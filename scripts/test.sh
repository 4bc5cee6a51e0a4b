#!/usr/bin/env bash
# The whole test suite from a fresh checkout: dependencies, build, unit tests (plain and under
# ASan/UBSan, fuzz corpora replayed), the Debian package built from make dist's tarball
# (scripts/check-package.sh), then the integration suite against a real httpd.
# Ends with each runner's own summary; exits non-zero when anything failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

step() { printf '\n=== %s ===\n' "$*"; }
die() { echo "test.sh: $*" >&2; exit 1; }

step "dependencies"
scripts/install-deps.sh || die "could not install the Debian packages"
[ -x configure ] || autoreconf -fi >/dev/null 2>&1 || die "autoreconf failed"

build() { # dir, configure flags...
    local dir=$1; shift
    mkdir -p "$dir"
    if ! (cd "$dir" && { [ -f Makefile ] || "$top"/configure -q "$@"; } &&
        make -s -j"$jobs") >"$dir/build.log" 2>&1; then
        cat "$dir/build.log"
        die "build in $dir failed"
    fi
}

summaries() { # dir: each Check program's closing line, then automake's totals
    grep -h -E '^[0-9]+%: Checks' "$1"/test/unit/*.log "$1"/test/fuzz/*.log 2>/dev/null
    grep -h -E '^# (TOTAL|PASS|FAIL|ERROR)' "$1"/test-suite.log 2>/dev/null || true
}

failed=0
step "unit tests"
build build
(cd build && make -s -j"$jobs" check >/dev/null 2>&1) || failed=1
summaries build
[ $failed -eq 0 ] || { cat build/test-suite.log; }

step "unit tests under AddressSanitizer and UndefinedBehaviorSanitizer"
build build-asan --enable-sanitizers
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 make -s -j"$jobs" check >/dev/null 2>&1) || failed=1
summaries build-asan
[ $failed -eq 0 ] || { cat build-asan/test-suite.log; }

step "Debian package (make dist, dpkg-buildpackage, lintian, a2enmod and apache2 -t)"
scripts/check-package.sh build || failed=1

# Debian's python3 (python3-pytest, -requests, -jwcrypto), whatever else is first on PATH.
pytest() { /usr/bin/python3 -m pytest -q -p no:cacheprovider "$@"; }

# The request paths run under the sanitizers; the rest with the plain build. Each file runs
# once: what the sanitizer-built module passes, the plain one does too (same code), and CI
# time is bounded.
sanitized=(test_endpoint.py test_spiffe.py test_vc.py test_vc_secret.py test_store_sqlite.py
    test_store_pgsql.py test_bounded_store.py test_store_lifecycle.py
    test_endpoint_lifecycle.py test_initial_access_token.py test_upstream.py test_metadata.py
    test_upstream_keycloak.py)

step "integration tests with the sanitizer-built module in httpd (the request paths)"
DCR_HTTPD_PRELOAD="$(gcc -print-file-name=libasan.so)" \
    DCR_MODULE="$top/build-asan/.libs/mod_dcr_trusted.so" \
    pytest "${sanitized[@]/#/test/integration/}" || failed=1

step "integration tests (real httpd), the other files"
DCR_MODULE="$top/build/.libs/mod_dcr_trusted.so" \
    pytest test/integration "${sanitized[@]/#/--ignore=test/integration/}" || failed=1
# pytest's summary stays the closing line; the exit code tells the rest.
exit $failed
