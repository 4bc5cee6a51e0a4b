"""Every httpd.conf fragment in docs/*.md and README passes `apache2 -t` with the module, so the
examples cannot drift from the code. A fragment is a ```apache block, or an indented block whose
every line is a directive, a section tag or a comment. The paths it names are filled in inside a
sandbox with files of the kind its directive needs (bundles, keys, certificates, store
directories), LoadModule lines must use Debian's module directory, and ${APACHE_LOG_DIR} is
set as Debian's envvars set it."""

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess

import pytest

from dcr_httpd import HTTPD_BIN, MODULE_DIR, _make_cert
from services import child_writable_dir

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEBIAN_MODULES = "/usr/lib/apache2/modules/"
WORD = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
# modules the harness loads itself, or that Debian enables by default (apache2.conf, a2enmod)
BASE_MODULES = ["mpm_event", "authz_core", "ssl", "socache_shmcb", "alias", "mime",
                "authz_host", "authn_core", "authz_user", "auth_basic", "setenvif", "env"]


def is_directive_line(line):
    s = line.strip()
    if not s or s.startswith("#"):
        return True
    word = s.split()[0].lstrip("<").lstrip("/").rstrip(">")
    # directives and sections are CamelCase (SQL keywords are all capitals, shell commands
    # lower case)
    return bool(WORD.match(word)) and word[0].isupper() and any(c.islower() for c in word)


def fragments():
    out = []
    files = sorted(glob.glob(os.path.join(TOP, "docs", "*.md"))) + [os.path.join(TOP, "README")]
    for path in files:
        lines = open(path, encoding="utf-8").read().split("\n")
        i = 0
        while i < len(lines):
            if lines[i].strip() == "```apache":
                j = i + 1
                while lines[j].strip() != "```":
                    j += 1
                out.append((path, i + 2, "\n".join(lines[i + 1:j])))
                i = j + 1
                continue
            # an indented block after a blank line
            if lines[i].startswith("    ") and lines[i].strip() and (i == 0 or not lines[i - 1].strip()):
                indent = len(lines[i]) - len(lines[i].lstrip())
                j = i
                while j < len(lines) and (not lines[j].strip() or
                                          len(lines[j]) - len(lines[j].lstrip()) >= indent):
                    j += 1
                block = [l[indent:] for l in lines[i:j]]
                if all(is_directive_line(l) for l in block) and any(l.strip() for l in block):
                    out.append((path, i + 1, "\n".join(block).rstrip()))
                i = j
                continue
            i += 1
    return out


FRAGMENTS = fragments()


def test_fragments_found():
    names = {os.path.basename(p) for p, _, _ in FRAGMENTS}
    # the places the docs show configuration; a change that hides one from this test fails
    for f in ("README", "spiffe.md", "vc.md", "storage.md", "storage-socache.md", "interop.md",
              "directives.md", "discovery.md"):
        assert f in names, sorted(names)


class Sandbox:
    """Files for the paths a fragment names, made under root/ with the kind they need."""

    def __init__(self, root, crt, key, ca):
        self.root, self.crt, self.key, self.ca = root, crt, key, ca

    def map(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def make_dir(self, d, child=False):
        os.makedirs(d, exist_ok=True)
        for p in [d] + [os.path.dirname(d)]:
            os.chmod(p, 0o755)
        if child and os.geteuid() == 0:
            import pwd
            pw = pwd.getpwnam("nobody")
            os.chown(d, pw.pw_uid, pw.pw_gid)

    def write(self, path, data):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(path, mode) as f:
            f.write(data)
        os.chmod(path, 0o644)

    def fill(self, directive, args, path):
        """The sandbox file for absolute path `path` named by `directive`."""
        from jwcrypto import jwk
        new = self.map(path)
        d = directive.lower()
        ec = jwk.JWK.generate(kty="EC", crv="P-256", kid="k1")
        if d == "dcrtrustdomain":
            pub = json.loads(ec.export_public())
            pub["use"] = "jwt-svid"
            self.write(new, json.dumps({"keys": [pub], "spiffe_sequence": 1}))
        elif d == "dcrvcissuer" and args[1].startswith("jwks:"):
            self.write(new, json.dumps({"keys": [json.loads(ec.export_public())]}))
        elif d == "dcrvcissuer" and args[1].startswith("pem:"):
            self.write(new, ec.export_to_pem())
        elif d in ("dcrvcissuer", "dcrfetchcafile", "sslcacertificatefile", "oidccabundlepath",
                   "sslcertificatechainfile"):
            self.write(new, open(self.ca).read())
        elif d == "dcrupstreamtoken":
            self.write(new, "an-initial-access-token\n")
        elif d == "dcrupstreamcredentials":
            self.write(new, "a-client-secret\n")
        elif d == "dcrinitialaccesstoken":  # one SHA-256 hash a line
            self.write(new, "%s\n" % hashlib.sha256(b"example-token").hexdigest())
        elif d == "sslcertificatefile":
            self.write(new, open(self.crt).read())
        elif d == "sslcertificatekeyfile":
            self.write(new, open(self.key).read())
        elif d == "dcrmetadatadocument":  # the docs' examples serve as.example.com on 443
            self.write(new, json.dumps({"issuer": "https://as.example.com"}))
        elif d in ("dcrstore", "dbdparams"):  # a store: its directory, writable by User
            self.make_dir(os.path.dirname(new), child=True)
        elif d in ("oidcmetadatadir", "oidccachedir"):
            self.make_dir(new, child=True)
        elif d == "alias":
            self.write(new, "{}\n")
        else:
            self.make_dir(os.path.dirname(new))
        return new


PATH = re.compile(r"(?<![\w/.])(/(?:etc|var|run|srv|opt|home)/[^\s\"'(),]+)")


def prepare(fragment, sandbox):
    """The fragment with its paths in the sandbox; the modules it loads (besides the base)."""
    modules, out = [], []
    for line in fragment.split("\n"):
        s = line.strip()
        words = s.split()
        if words and words[0] == "LoadModule":
            assert words[2].startswith(DEBIAN_MODULES), \
                "LoadModule must use Debian's module path: " + line
            name = os.path.basename(words[2])[len("mod_"):-len(".so")]
            if name != "dcr_trusted":
                modules.append(name)
            continue  # the harness loads what is needed (the module under test included)
        if words and not s.startswith("#"):
            for p in PATH.findall(line):
                line = line.replace(p, sandbox.fill(words[0], words[1:], p))
        out.append(line)
    text = "\n".join(out)
    if "OIDC" in text and "auth_openidc" not in modules:
        modules.append("auth_openidc")
    return text, modules


@pytest.mark.parametrize("path, line, fragment", FRAGMENTS,
                         ids=["%s:%d" % (os.path.basename(p), l) for p, l, _ in FRAGMENTS])
def test_fragment_passes_configtest(httpd_factory, path, line, fragment):
    root = child_writable_dir("dcr-doc-")
    try:
        crt, key, ca = _make_cert(root, ["as.example.com", "localhost"])
        text, modules = prepare(fragment, Sandbox(os.path.join(root, "fs"), crt, key, ca))
        for m in modules:
            if not os.path.exists(os.path.join(MODULE_DIR, "mod_%s.so" % m)):
                pytest.skip("mod_%s is not installed" % m)
        h = httpd_factory([], start=False, modules=[m for m in BASE_MODULES + modules
                                                    if m not in ("mpm_event",)])
        h.server_conf = "<Directory />\n    Require all denied\n</Directory>"  # as Debian
        h.extra_conf = text
        h.write_conf()
        env = dict(h.env(), APACHE_LOG_DIR=h.path("logs"), APACHE_RUN_DIR=h.path("run"))
        p = subprocess.run([HTTPD_BIN, "-d", h.root, "-f", h.conf_file, "-t"],
                           capture_output=True, text=True, timeout=30, env=env)
        assert p.returncode == 0, "%s:%d\n%s\n---\n%s" % (path, line, text, p.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)
