"""The interop tests' Node.js packages (interop/package.json, exact versions, locked by
interop/package-lock.json): installed into interop/node_modules by `npm ci` on first use or when
stale, once for all pytest runs sharing the tree (a file lock). node_modules is not committed."""

import fcntl
import json
import os
import shutil
import subprocess

import pytest

INTEROP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "interop")


def pinned():
    """package.json's dependencies: {name: exact version}."""
    with open(os.path.join(INTEROP, "package.json")) as f:
        return json.load(f)["dependencies"]


def installed(packages):
    out = {}
    for pkg in packages:
        try:
            with open(os.path.join(INTEROP, "node_modules", pkg, "package.json")) as f:
                out[pkg] = json.load(f)["version"]
        except (OSError, ValueError, KeyError):
            out[pkg] = None
    return out


def ensure_node_modules():
    """Every pinned package at its version in interop/node_modules (`npm ci` when not);
    returns {name: version}. Fails the test when node or npm is missing or npm ci fails."""
    if not shutil.which("node"):
        pytest.fail("node not found: install Debian's nodejs (.ci/packages-interop.txt)")
    want = pinned()
    with open(os.path.join(INTEROP, ".npm.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel runs in one tree install once
        if installed(want) != want:
            npm = shutil.which("npm")
            if not npm:
                pytest.fail("npm not found: it is needed once to install %s into %s "
                            "(see docs/interop.md)" % (want, INTEROP))
            p = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                               cwd=INTEROP, capture_output=True, text=True, timeout=600)
            if p.returncode != 0:
                pytest.fail("npm ci in %s failed:\n%s%s" % (INTEROP, p.stdout, p.stderr))
    assert installed(want) == want
    return want


def node_env(ca_file=None):
    """The environment for node: no proxy variables; NODE_EXTRA_CA_CERTS when a CA is given."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    if ca_file:
        env["NODE_EXTRA_CA_CERTS"] = ca_file
    return env
