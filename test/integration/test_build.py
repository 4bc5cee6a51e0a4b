"""The build as an admin meets it: configure names the Debian package of a missing dependency,
and `make install` puts the module where httpd loads modules, with its a2enmod files, schemas
and docs."""

import glob
import os
import shutil
import subprocess

import pytest

from dcr_httpd import REPO

DEPS = [  # pkg-config module, Debian package configure must name
    ("cjose", "libcjose-dev"),
    ("jansson", "libjansson-dev"),
    ("libcurl", "libcurl4-openssl-dev"),
    ("apr-util-1", "libaprutil1-dev"),
]


def pc_dirs():
    out = subprocess.run(["pkg-config", "--variable", "pc_path", "pkg-config"],
                         capture_output=True, text=True, check=True).stdout.strip()
    return [d for d in out.split(":") if os.path.isdir(d)]


@pytest.fixture(scope="module")
def configure():
    path = os.path.join(REPO, "configure")
    if not os.path.exists(path):
        subprocess.run(["autoreconf", "-fi"], cwd=REPO, check=True, capture_output=True)
    return path


@pytest.mark.parametrize("module,package", DEPS)
def test_missing_dependency_names_its_package(tmp_path, configure, module, package):
    pcdir = tmp_path / "pc"
    pcdir.mkdir()
    for d in pc_dirs():  # every .pc file the machine has, but the one we take away
        for f in glob.glob(os.path.join(d, "*.pc")):
            if os.path.basename(f) != module + ".pc":
                shutil.copy(f, pcdir)
    build = tmp_path / "build"
    build.mkdir()
    p = subprocess.run([configure, "-q"], cwd=build, capture_output=True, text=True,
                       env=dict(os.environ, PKG_CONFIG_LIBDIR=str(pcdir), PKG_CONFIG_PATH=""))
    assert p.returncode != 0
    assert package in p.stderr, p.stderr


def test_make_install_places_the_module_and_the_a2enmod_files(tmp_path, configure):
    """The default configure installs what the Debian package ships (scripts/check-package.sh
    compares the two): the module, dcr_trusted.load and .conf for a2enmod, the SQL schemas and
    the docs; `make uninstall` takes all of it away again."""
    build = tmp_path / "build"
    build.mkdir()
    subprocess.run([configure, "-q"], cwd=build, check=True, capture_output=True)
    subprocess.run(["make", "-s", "-j2", "mod_dcr_trusted.la"], cwd=build, check=True,
                   capture_output=True)
    dest = tmp_path / "dest"
    subprocess.run(["make", "-s", "install", "DESTDIR=%s" % dest], cwd=build, check=True,
                   capture_output=True)
    moddir = subprocess.run(["apxs", "-q", "LIBEXECDIR"], capture_output=True, text=True,
                            check=True).stdout.strip()
    confdir = subprocess.run(["apxs", "-q", "SYSCONFDIR"], capture_output=True, text=True,
                             check=True).stdout.strip() + "/mods-available"
    docs = ["README"] + sorted(f for f in os.listdir(os.path.join(REPO, "docs"))
                               if f.endswith(".md"))
    schemas = sorted(f for f in os.listdir(os.path.join(REPO, "sql")) if f.endswith(".sql"))
    expected = sorted([moddir.lstrip("/") + "/mod_dcr_trusted.so",
                       confdir.lstrip("/") + "/dcr_trusted.load",
                       confdir.lstrip("/") + "/dcr_trusted.conf"] +
                      ["usr/share/mod-dcr-trusted/sql/" + f for f in schemas] +
                      ["usr/share/doc/libapache2-mod-dcr-trusted/" + f for f in docs])
    installed = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert installed == expected
    assert "pgsql.sql" in schemas and "directives.md" in docs
    load = (dest / confdir.lstrip("/") / "dcr_trusted.load").read_text().splitlines()
    # a2enmod enables what the module needs first (the way Debian's .load files say it).
    assert load == ["# Depends: socache_shmcb",
                    "LoadModule dcr_trusted_module %s/mod_dcr_trusted.so" % moddir]
    with open(os.path.join(REPO, "conf", "dcr_trusted.conf")) as f:
        assert (dest / confdir.lstrip("/") / "dcr_trusted.conf").read_text() == f.read()
    subprocess.run(["make", "-s", "uninstall", "DESTDIR=%s" % dest], cwd=build, check=True,
                   capture_output=True)
    assert [p for p in dest.rglob("*") if p.is_file()] == []
