#!/usr/bin/env bash
# CI step (scripts/test.sh): the package cannot rot.
#   1. make dist ships every file of the repository (and only those, plus autotools output);
#   2. dpkg-buildpackage -us -uc -b builds libapache2-mod-dcr-trusted from that tarball, unit
#      tests included (what make distcheck would run; DEB_BUILD_OPTIONS=nocheck skips them);
#   3. lintian has nothing to say (errors, warnings);
#   4. the .deb holds exactly what `make install` places, the module, dcr_trusted.load and
#      .conf among them, and the apache2-maintscript-helper calls;
#   5. the shipped .load and .conf, enabled with a2enmod in a copy of /etc/apache2 (dpkg -x, no
#      chroot), pass apache2 -t with the module loaded;
#   6. with DCR_PACKAGE_INSTALL=1 (.ci/run, a throwaway machine): dpkg -i enables the module,
#      dpkg -r disables it, dpkg -P removes its configuration.
# Usage: scripts/check-package.sh [configured build dir, default ./build]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
pkg=libapache2-mod-dcr-trusted
jobs=$(nproc 2>/dev/null || echo 2)
work=$(mktemp -d /tmp/dcr-package.XXXXXX)
trap 'rm -rf "$work"' EXIT

fail() { echo "check-package: $*" >&2; exit 1; }
say() { echo "check-package: $*"; }

# 1. The tarball against the repository.
(cd "$build" && rm -f mod_dcr_trusted-*.tar.gz && make -s dist >/dev/null 2>&1) ||
    fail "make dist failed"
tarball=$(ls "$build"/mod_dcr_trusted-*.tar.gz)
name=$(basename "$tarball" .tar.gz)
tar tzf "$tarball" | sed "s|^$name/||" | grep -v -e '/$' -e '^$' | sort >"$work/dist.txt"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
    # Tracked and new (not ignored) files, less those deleted in the work tree.
    git -C "$top" ls-files --cached --others --exclude-standard | sort -u >"$work/all.txt"
    git -C "$top" ls-files --deleted | sort -u >"$work/deleted.txt"
    comm -23 "$work/all.txt" "$work/deleted.txt" >"$work/repo.txt"
    missing=$(comm -13 "$work/dist.txt" "$work/repo.txt")
    [ -z "$missing" ] || fail "make dist leaves out:"$'\n'"$missing"
    extra=$(comm -23 "$work/dist.txt" "$work/repo.txt" |
        grep -v -E '^(configure|aclocal\.m4|Makefile\.in|build-aux/[^/]+|m4/[^/]+)$' || true)
    [ -z "$extra" ] || fail "make dist ships files that are not in the repository:"$'\n'"$extra"
    say "$(basename "$tarball"): the $(wc -l <"$work/repo.txt") files of the repository"
else
    say "not a git checkout: tarball contents not compared"
fi

# 2. The package, built from the unpacked tarball as from a clean checkout.
tar xzf "$tarball" -C "$work"
src="$work/$name"
version=${name#mod_dcr_trusted-}
[ "$(cd "$src" && dpkg-parsechangelog -S Version)" = "$version" ] ||
    fail "debian/changelog's version is not configure.ac's $version"
if ! (cd "$src" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=$jobs}" \
    dpkg-buildpackage -us -uc -b) >"$work/deb.log" 2>&1; then
    tail -60 "$work/deb.log"
    fail "dpkg-buildpackage failed"
fi
deb="$work/${pkg}_${version}_$(dpkg --print-architecture).deb"
[ -f "$deb" ] || fail "no $deb"
say "built $(basename "$deb")"

# 3. lintian: clean, or an override in debian/ says why.
lintian --fail-on error,warning "$deb" 2>&1 | grep -v 'running with root privileges' || true
lintian --fail-on error,warning "$deb" >/dev/null 2>&1 || fail "lintian complains (above)"
say "lintian: clean"

# 4. The package's files against make install's (in the tree the package was built in).
make -s -C "$src" install DESTDIR="$work/inst" >/dev/null 2>&1 || fail "make install failed"
(cd "$work/inst" && find . -type f | sed 's|^\./||' | sort) >"$work/install.txt"
dpkg-deb --fsys-tarfile "$deb" | tar t | sed 's|^\./||' | grep -v -e '/$' -e '^$' |
    grep -v -x -e "usr/share/doc/$pkg/changelog.gz" -e "usr/share/doc/$pkg/copyright" |
    sed "s|^\(usr/share/doc/$pkg/.*\)\.gz$|\1|" | sort >"$work/deb.txt"
if ! diff -u "$work/install.txt" "$work/deb.txt"; then
    fail "the .deb and make install differ (above: - make install, + .deb)"
fi
for f in usr/lib/apache2/modules/mod_dcr_trusted.so etc/apache2/mods-available/dcr_trusted.load \
    etc/apache2/mods-available/dcr_trusted.conf usr/share/mod-dcr-trusted/sql/pgsql.sql \
    usr/share/mod-dcr-trusted/sql/sqlite.sql "usr/share/doc/$pkg/directives.md"; do
    grep -q -x "$f" "$work/deb.txt" || fail "the .deb lacks $f"
done
dpkg-deb -e "$deb" "$work/control"
grep -q 'apache2_invoke enmod' "$work/control/postinst" || fail "postinst does not a2enmod"
grep -q 'apache2_invoke dismod' "$work/control/prerm" || fail "prerm does not a2dismod"
grep -q 'apache2_invoke dismod' "$work/control/postrm" || fail "postrm does not purge"
dpkg-deb -f "$deb" Depends | grep -q 'apache2-api-' || fail "no apache2-api dependency"
grep -q -x /etc/apache2/mods-available/dcr_trusted.conf "$work/control/conffiles" ||
    fail "dcr_trusted.conf is not a conffile"
say "the .deb holds what make install places ($(wc -l <"$work/install.txt") files)"

# 5. The shipped .load and .conf in a Debian layout: a copy of /etc/apache2, nothing enabled
#    but an MPM, the module from dpkg -x.
dpkg -x "$deb" "$work/root"
conf="$work/apache2"
cp -a /etc/apache2 "$conf"
for d in mods-enabled conf-enabled sites-enabled; do
    rm -rf "${conf:?}/$d" && mkdir "$conf/$d"
done
cp "$work/root/etc/apache2/mods-available/dcr_trusted."* "$conf/mods-available/"
grep -q -x 'LoadModule dcr_trusted_module /usr/lib/apache2/modules/mod_dcr_trusted.so' \
    "$conf/mods-available/dcr_trusted.load" || fail "unexpected LoadModule line in the .load"
sed -i "s|/usr/lib/apache2/modules/mod_dcr_trusted.so|$work/root&|" \
    "$conf/mods-available/dcr_trusted.load"
# a2enmod keeps who enabled what in APACHE_STATE_DIRECTORY (/var/lib/apache2): a copy too.
mkdir -p "$work/state"
export APACHE_CONFDIR="$conf" APACHE_STATE_DIRECTORY="$work/state"
a2enmod -q mpm_event authz_core >/dev/null
a2enmod dcr_trusted >"$work/a2enmod.log" 2>&1 || { cat "$work/a2enmod.log"; fail "a2enmod failed"; }
for f in dcr_trusted.load dcr_trusted.conf socache_shmcb.load; do
    [ -L "$conf/mods-enabled/$f" ] || fail "a2enmod dcr_trusted did not enable $f"
done
apache2ctl -t -D DUMP_MODULES >"$work/modules.txt" 2>&1 || { cat "$work/modules.txt"; fail "apache2 -t failed"; }
grep -q 'dcr_trusted_module (shared)' "$work/modules.txt" || fail "the module is not loaded"
unset APACHE_CONFDIR APACHE_STATE_DIRECTORY
say "a2enmod dcr_trusted in a Debian layout: apache2 -t passes, module loaded"

# 6. A real installation, on a throwaway machine only.
if [ "${DCR_PACKAGE_INSTALL:-0}" = 1 ]; then
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' &&
        fail "$pkg is installed already: not touching it"
    # The maintainer scripts restart a running apache2 (as they should); one that was not
    # running is stopped again afterwards, should policy-rc.d have let them start it.
    running() { [ -f /run/apache2/apache2.pid ] && kill -0 "$(cat /run/apache2/apache2.pid)" 2>/dev/null; }
    was_running=0; running && was_running=1
    shmcb_was=$(a2query -m socache_shmcb >/dev/null 2>&1 && echo 1 || echo 0)
    dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -i failed"; }
    [ -L /etc/apache2/mods-enabled/dcr_trusted.load ] || fail "not enabled on installation"
    [ -L /etc/apache2/mods-enabled/socache_shmcb.load ] || fail "socache_shmcb not enabled"
    apache2ctl -t >"$work/t.log" 2>&1 || { cat "$work/t.log"; fail "apache2ctl -t failed"; }
    dpkg -r "$pkg" >>"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -r failed"; }
    [ ! -e /etc/apache2/mods-enabled/dcr_trusted.load ] || fail "still enabled after removal"
    [ -f /etc/apache2/mods-available/dcr_trusted.conf ] || fail "removal took the conffile"
    dpkg -P "$pkg" >>"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; fail "dpkg -P failed"; }
    [ ! -e /etc/apache2/mods-available/dcr_trusted.conf ] || fail "purge left the conffile"
    [ $was_running = 1 ] || ! running || apache2ctl stop >/dev/null 2>&1 || true
    # a2enmod enabled socache_shmcb for it; a2dismod leaves dependencies alone. Undo that.
    if [ "$shmcb_was" = 0 ]; then
        a2dismod -q -f -p socache_shmcb >/dev/null 2>&1 || true
        a2query -m socache_shmcb >/dev/null 2>&1 && fail "cannot disable socache_shmcb again"
    fi
    say "dpkg -i enabled the module, dpkg -r disabled it, dpkg -P removed its files"
fi
say "OK"
