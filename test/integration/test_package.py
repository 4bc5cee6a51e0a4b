"""What an admin gets from the packaged module: the commented dcr_trusted.conf lists every
directive the module has, each line parses with its default, and `a2enmod dcr_trusted` in a
Debian layout enables the module with its dependencies. The .deb itself is built and checked
by scripts/check-package.sh (a CI step of scripts/test.sh)."""

import os
import re
import shutil
import subprocess

import pytest

from dcr_httpd import Vhost, REPO, _make_cert, find_module
from services import child_writable_dir
from test_doc_examples import Sandbox, prepare

CONF = os.path.join(REPO, "conf", "dcr_trusted.conf")
LOAD_IN = os.path.join(REPO, "conf", "dcr_trusted.load.in")
DOCS = os.path.join(REPO, "docs")
# A directive line of dcr_trusted.conf: "#DCRName args" (explanations are "# text").
DIRECTIVE = re.compile(r"^#(DCR\w+)(?:\s+(.*))?$")


def conf_directives():
    """[(name, args)] of the commented directive lines, in file order."""
    out = []
    with open(CONF) as f:
        for line in f:
            m = DIRECTIVE.match(line.rstrip("\n"))
            if m:
                out.append((m.group(1), (m.group(2) or "").strip()))
    return out


def module_directives(httpd_factory):
    """The module's directive table, as mod_info shows it from the running module."""
    h = httpd_factory(modules=["info"],
                      extra_conf="<Location /server-info>\n    SetHandler server-info\n"
                                 "</Location>")
    r = h.session().get(h.url + "/server-info?mod_dcr_trusted.c", timeout=10)
    assert r.status_code == 200, r.text
    names = set(re.findall(r"<dd><tt>(DCR\w+) - ", r.text))
    assert "DCRStore" in names, r.text[:2000]  # the page is the module's, with its table
    return names


def test_conf_lists_every_directive_of_the_module(httpd_factory):
    # A directive added to the module's table without a line in dcr_trusted.conf fails here.
    table = module_directives(httpd_factory)
    listed = {n for n, _ in conf_directives()}
    assert sorted(table - listed) == [], "directives missing from conf/dcr_trusted.conf"
    assert sorted(listed - table) == [], "conf/dcr_trusted.conf names unknown directives"


def test_conf_comments_are_on_their_own_lines():
    # httpd refuses "Directive value # comment": no directive line may carry one.
    for name, args in conf_directives():
        assert "#" not in args, "%s %s" % (name, args)
    with open(CONF) as f:
        active = [l for l in f if l.strip() and not l.lstrip().startswith("#")]
    # Nothing is active as shipped: the module is loaded but serves nothing until configured.
    assert [l.strip() for l in active] == ["<IfModule dcr_trusted_module>", "</IfModule>"]


def doc_defaults():
    """{directive: first `literal` of its '- Default:' line} from every page of docs/."""
    out, current = {}, None
    for page in sorted(os.listdir(DOCS)):
        with open(os.path.join(DOCS, page)) as f:
            for line in f:
                m = re.match(r"^###\s+(DCR\w+)\s*$", line)
                if m:
                    current = m.group(1)
                    continue
                m = re.match(r"^- Default:\s*`([^`]*)`", line)
                if m and current and current not in out:
                    out[current] = m.group(1)
    return out


def test_conf_defaults_are_the_documented_ones():
    docs = doc_defaults()
    assert docs.get("DCRMaxBodySize") == "65536"  # the parser reads the pages at all
    checked = 0
    for name, args in conf_directives():
        if name in docs:
            assert args.split()[:len(docs[name].split())] == docs[name].split(), \
                "%s: conf says '%s', docs say default '%s'" % (name, args, docs[name])
            checked += 1
    assert checked >= 20


def test_each_conf_line_parses_with_its_value(httpd_factory):
    """Uncommented, every directive line of the shipped conf is accepted by httpd -t (the
    SQL-store ones after the DCRStore line they follow in the file)."""
    # no endpoint: the lines only have to parse (DCRUpstream, say, refuses an endpoint on the
    # harness's socache store)
    h = httpd_factory(vhosts=[Vhost(location=None)], start=False, modules=["dbd"])
    store = None
    # apache2 -t reads every file a directive names: the conf's example paths are made in a
    # sandbox with files of the kind each directive needs (test_doc_examples.Sandbox)
    root = child_writable_dir("dcr-conf-")
    crt, key, ca = _make_cert(root, ["as.example.com", "localhost"])
    sandbox = Sandbox(os.path.join(root, "fs"), crt, key, ca)

    def config_test(lines):
        if any(l and l.startswith("DCRStore dbd") for l in lines):  # mod_dbd's own lines
            lines = ["DBDriver sqlite3", "DBDParams /var/lib/apache2/dcr_trusted/dbd.db"] + lines
        h.server_conf = "\n".join(prepare(line, sandbox)[0] for line in lines)
        h.write_conf()
        return h.config_test()

    bad = config_test(["DCRStore socache:shmcb", "DCRNoSuchDirective 1"])
    assert bad.returncode != 0  # the harness can fail
    lines = conf_directives()
    assert len(lines) >= 30
    for name, args in lines:
        line = "%s %s" % (name, args)
        if name == "DCRStore":
            store = line
            p = config_test([line])
        else:
            p = config_test([store, line])
        assert p.returncode == 0, "%s: %s" % (line, p.stderr)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def debian_confdir(tmp_path):
    """A copy of the system's /etc/apache2 with the built module's .load and .conf in
    mods-available, the .load made from conf/dcr_trusted.load.in as make does."""
    if not os.path.exists("/etc/apache2/apache2.conf") or not shutil.which("a2enmod"):
        pytest.skip("no Debian apache2 layout (apache2, a2enmod)")
    confdir = tmp_path / "apache2"
    shutil.copytree("/etc/apache2", confdir, symlinks=True)
    for d in ("mods-enabled", "conf-enabled", "sites-enabled"):
        shutil.rmtree(confdir / d)
        (confdir / d).mkdir()
    avail = confdir / "mods-available"
    with open(LOAD_IN) as f:
        load = f.read().replace("@moddir@", os.path.dirname(find_module()))
    (avail / "dcr_trusted.load").write_text(load)
    shutil.copy(CONF, avail / "dcr_trusted.conf")
    # The minimum Debian itself enables (a2enmod resolves the rest from # Depends lines).
    # a2enmod records who enabled what under APACHE_STATE_DIRECTORY: never the system's.
    state = tmp_path / "state"
    state.mkdir()
    env = dict(os.environ, APACHE_CONFDIR=str(confdir), APACHE_STATE_DIRECTORY=str(state))
    subprocess.run(["a2enmod", "-q", "mpm_event", "authz_core"], env=env, check=True,
                   capture_output=True)
    return confdir, env


def test_a2enmod_enables_the_module_and_its_dependencies(debian_confdir):
    confdir, env = debian_confdir
    enabled = confdir / "mods-enabled"
    assert not (enabled / "socache_shmcb.load").exists()
    p = subprocess.run(["a2enmod", "dcr_trusted"], env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    for f in ("dcr_trusted.load", "dcr_trusted.conf", "socache_shmcb.load"):
        assert (enabled / f).is_symlink(), f
        assert os.path.exists(os.path.realpath(enabled / f)), f
    # The layout as enabled parses, and the module is loaded by it.
    p = subprocess.run(["apache2ctl", "-t", "-D", "DUMP_MODULES"], env=env,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "dcr_trusted_module (shared)" in p.stdout
    assert "socache_shmcb_module (shared)" in p.stdout
    p = subprocess.run(["a2dismod", "dcr_trusted"], env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert not (enabled / "dcr_trusted.load").exists()
    assert not (enabled / "dcr_trusted.conf").exists()
