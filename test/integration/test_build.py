"""The build as an admin meets it: configure names the Debian package of a missing dependency,
and `make install` puts the module where httpd loads modules (and nothing else)."""

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


def test_make_install_puts_the_module_where_httpd_loads_modules(tmp_path, configure):
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
    installed = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert installed == [moddir.lstrip("/") + "/mod_dcr_trusted.so"]
