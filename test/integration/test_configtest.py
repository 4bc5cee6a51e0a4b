"""Safe to operate: `apache2 -t` opens and validates every file a directive names and refuses
the mistakes that would otherwise start cleanly and fail every request; a reload with a broken
file is refused by the configtest (as Debian's apache2ctl graceful runs it) and the running
server keeps serving; mod_dbd configured in the main server serves a vhost's DCRStore dbd."""

import json
import os
import re
import shutil
import sqlite3
import subprocess

import pytest

from dcr_httpd import Vhost, _make_cert, free_port
from services import child_writable_dir
from test_spiffe import TrustDomain

META = {"grant_types": ["client_credentials"], "client_name": "workload"}


@pytest.fixture
def keydir():
    d = child_writable_dir("dcr-keys-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def truncate(path, keep=0.5):
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: int(len(data) * keep)])


def configtest_fails(httpd_factory, vhosts, *words, server_conf="", extra_conf="", modules=()):
    """-t exits non-zero and its message holds every word; the start refuses the same way."""
    h = httpd_factory(vhosts, server_conf=server_conf, extra_conf=extra_conf, start=False,
                      modules=modules)
    h.allow_errors(r"\[(?:[a-z_]+:)?(emerg|crit|alert|error)\]", r"AH00016")
    p = h.config_test()
    assert p.returncode != 0, p.stdout + p.stderr
    assert "Syntax OK" not in p.stdout + p.stderr
    for w in words:
        assert w in p.stderr, p.stderr
    proc = h.start(expect_fail=True)
    out = proc.stderr + h.error_log_text()
    for w in words:
        assert w in out, out
    return p.stderr


def vc_files(d):
    """A good JWKS, PEM key and x5c root (the CA of a throwaway chain) for DCRVCIssuer."""
    from jwcrypto import jwk
    k = jwk.JWK.generate(kty="EC", crv="P-256", kid="k1")
    jwks = os.path.join(d, "issuer.jwks")
    with open(jwks, "w") as f:
        json.dump({"keys": [json.loads(k.export_public())]}, f)
    pem = os.path.join(d, "issuer.pem")
    with open(pem, "wb") as f:
        f.write(k.export_to_pem())
    _crt, _key, ca = _make_cert(d, ["issuer.test"])
    for p in (jwks, pem, ca):
        os.chmod(p, 0o644)
    return jwks, pem, ca


# -- every file named by a directive is read and validated by -t ------------------------------

@pytest.mark.parametrize("kind", ["bundle", "jwks", "pem", "x5c-root", "cafile"])
def test_half_written_file_fails_configtest(httpd_factory, keydir, kind):
    td = TrustDomain("example.org", os.path.join(keydir, "bundle.json"))
    jwks, pem, ca = vc_files(keydir)
    path = {"bundle": td.path, "jwks": jwks, "pem": pem, "x5c-root": ca, "cafile": ca}[kind]
    lines = ["DCRStore socache:shmcb", "DCRTrustDomain example.org %s" % td.path]
    if kind in ("jwks", "pem", "x5c-root"):
        lines.append("DCRVCIssuer https://issuer.example %s:%s" % (kind, path))
    if kind == "cafile":
        lines.append("DCRFetchCAFile %s" % path)
    # the intact configuration passes -t
    h = httpd_factory([Vhost(conf=lines)], start=False)
    p = h.config_test()
    assert p.returncode == 0, p.stderr
    truncate(path)
    out = configtest_fails(httpd_factory, [Vhost(conf=lines)], path)
    assert "as.example.test" in out


@pytest.mark.parametrize("kind", ["bundle", "jwks", "cafile"])
def test_missing_file_fails_configtest(httpd_factory, keydir, kind):
    gone = os.path.join(keydir, "not-there.pem")
    lines = {"bundle": ["DCRTrustDomain example.org %s" % gone],
             "jwks": ["DCRVCIssuer https://issuer.example jwks:%s" % gone],
             "cafile": ["DCRRequireStatement Off", "DCRFetchCAFile %s" % gone]}[kind]
    configtest_fails(httpd_factory, [Vhost(conf=["DCRStore socache:shmcb"] + lines)], gone)


def test_cafile_without_certificates_fails_configtest(httpd_factory, keydir):
    path = os.path.join(keydir, "ca.pem")
    with open(path, "w") as f:
        f.write("not a certificate\n")
    configtest_fails(httpd_factory,
                     [Vhost(conf=["DCRStore socache:shmcb", "DCRRequireStatement Off",
                                  "DCRFetchCAFile %s" % path])],
                     "DCRFetchCAFile", path, "no PEM certificate")


def test_graceful_with_broken_bundle_is_refused_and_server_keeps_serving(httpd_factory, keydir):
    td = TrustDomain("example.org", os.path.join(keydir, "bundle.json"))
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb",
                                   "DCRTrustDomain example.org %s" % td.path])])
    aud = h.vhost.public_base + "/register"
    post = lambda n: h.session().post(h.endpoint, json=dict(
        META, software_statement=td.svid(aud, sub="spiffe://example.org/w%d" % n)))
    assert post(1).status_code == 201
    pid = h.pid()
    truncate(td.path)
    # what `apache2ctl graceful` does on Debian: configtest first, signal only when it passes
    p = h.config_test()
    assert p.returncode != 0
    assert td.path in p.stderr and "DCRTrustDomain example.org" in p.stderr
    # refused: no signal is sent; the running server still serves with the keys it has
    assert h.pid() == pid
    r = post(2)
    assert r.status_code == 201, r.text
    # the fixed file passes and the reload goes through
    td.write(sequence=2)
    assert h.config_test().returncode == 0
    h.graceful()
    assert post(3).status_code == 201


def test_stop_works_with_a_broken_bundle(httpd_factory, keydir):
    # `-k stop` reads the configuration too: a broken file must not keep httpd running
    td = TrustDomain("example.org", os.path.join(keydir, "bundle.json"))
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb",
                                   "DCRTrustDomain example.org %s" % td.path])])
    pid = h.pid()
    truncate(td.path)
    p = h.apachectl("stop")
    assert p.returncode == 0, p.stderr
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except OSError:
            break
        import time
        time.sleep(0.05)
    else:
        raise AssertionError("httpd still runs after -k stop")
    h.running = False


# -- mistakes that used to start cleanly and fail every request -------------------------------

def test_handler_without_tls_while_tls_required(httpd_factory):
    out = configtest_fails(httpd_factory, [Vhost(tls=False)], "DCRRequireTLS", "as.example.test",
                           "SSLEngine")
    assert "403" in out


def test_main_server_location_on_a_plain_vhost_warns_and_403s(httpd_factory):
    # the main server's <Location> reaches every vhost, a plain one too: there the 403s are
    # what DCRRequireTLS is for, so the start goes on and says so
    tls = Vhost(name="as.example.test", conf=["DCRRequireStatement Off"], location=None)
    plain = Vhost(name="plain.example.test", tls=False, conf=["DCRRequireStatement Off"],
                  location=None)
    h = httpd_factory([tls, plain], start=False, server_conf="\n".join([
        "DCRStore socache:shmcb", "<Location /register>", "    SetHandler dcr-registration",
        "</Location>"]))
    h.allow_errors(r"serves the main server's <Location>")
    assert h.config_test().returncode == 0
    h.start()
    warned = [l for l in h.error_log_lines() if "refused with 403" in l]
    assert any("plain.example.test" in l for l in warned), h.error_log_text()
    assert not any("as.example.test" in l for l in warned), warned
    s = h.session()
    # a confidential client (its keys at a URL): client_credentials is not for public ones
    open_meta = dict(META, jwks_uri="https://workload.example/jwks")
    assert s.post(tls.url + "/register", json=open_meta).status_code == 201
    r = s.post(plain.url + "/register", json=open_meta)
    assert r.status_code == 403 and r.json()["error"] == "invalid_request"


def test_handler_without_tls_passes_with_require_tls_off(httpd_factory):
    h = httpd_factory([Vhost(tls=False, conf=["DCRStore socache:shmcb", "DCRRequireStatement Off",
                                               "DCRRequireTLS Off"])], start=False)
    assert h.config_test().returncode == 0


def test_tls_from_main_server_sslengine(httpd_factory):
    # SSLEngine in the main server is inherited by a vhost that does not set it (mod_ssl)
    h = httpd_factory([Vhost(tls=False, conf=["DCRStore socache:shmcb", "DCRRequireStatement Off",
                                               "SSLCertificateFile {crt}", "SSLCertificateKeyFile {key}"])],
                      start=False)
    h.vhosts[0].conf = h.vhosts[0].conf.format(crt=h.crt, key=h.key)
    h.server_conf = "SSLEngine on\nSSLCertificateFile %s\nSSLCertificateKeyFile %s" % (h.crt, h.key)
    h.write_conf()
    p = h.config_test()
    assert p.returncode == 0, p.stderr


def test_statement_required_without_any_anchor(httpd_factory):
    configtest_fails(httpd_factory, [Vhost(conf=["DCRStore socache:shmcb"])],
                     "DCRRequireStatement", "trust anchor", "as.example.test")


@pytest.mark.parametrize("line, words", [
    ("DCRAllowedGrantTypes authorization_code client_credential",
     ["DCRAllowedGrantTypes", "client_credential"]),
    ("DCRAllowedResponseTypes codes", ["DCRAllowedResponseTypes", "codes"]),
    ("DCRFetchTimeout 3600", ["DCRFetchTimeout", "3600"]),
])
def test_bad_values_fail_configtest(httpd_factory, line, words):
    configtest_fails(httpd_factory, [Vhost(conf=["DCRStore socache:shmcb",
                                                 "DCRRequireStatement Off", line])], *words)


@pytest.mark.parametrize("line", [
    "DCRAllowedGrantTypes client_credentials urn:ietf:params:oauth:grant-type:jwt-bearer",
    "DCRAllowedResponseTypes code none",
    "DCRFetchTimeout 60",
])
def test_good_values_pass_configtest(httpd_factory, line):
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb", "DCRRequireStatement Off", line])],
                      start=False)
    p = h.config_test()
    assert p.returncode == 0, p.stderr


def test_vhost_without_servername_warns_with_the_audience(httpd_factory):
    h = httpd_factory([], start=False)
    port = free_port()
    h.extra_conf = "\n".join([
        "Listen 127.0.0.1:%d" % port,
        "<VirtualHost 127.0.0.1:%d>" % port,
        "    SSLEngine on", "    SSLCertificateFile %s" % h.crt,
        "    SSLCertificateKeyFile %s" % h.key,
        "    DCRStore socache:shmcb", "    DCRRequireStatement Off",
        "    <Location /register>", "        SetHandler dcr-registration", "    </Location>",
        "</VirtualHost>"])
    h.write_conf()
    h.allow_errors(r"has no ServerName")
    h.start()
    lines = [l for l in h.error_log_lines() if "has no ServerName" in l]
    assert len(lines) == 1, h.error_log_text()
    assert re.search(r"audience https://[^ ]+:%d/register" % port, lines[0]), lines[0]


# -- what the log tells an admin --------------------------------------------------------------

def test_startup_line_per_endpoint(httpd_factory, keydir):
    td = TrustDomain("example.org", os.path.join(keydir, "bundle.json"))
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb",
                                   "DCRTrustDomain example.org %s" % td.path])])
    lines = [l for l in h.error_log_lines() if "[dcr_trusted:info]" in l
             and "dcr-registration at" in l]
    assert len(lines) == 1, h.error_log_text()
    line = lines[0]
    assert "dcr-registration at %s/register" % h.vhost.public_base in line
    assert "store socache:shmcb" in line
    assert "trust domain example.org: 2 key(s)" in line
    # and one line again after a graceful restart
    h.graceful()
    assert len([l for l in h.error_log_lines() if "dcr-registration at" in l]) == 2


def test_audience_mismatch_logged_with_both_values(httpd_factory, keydir):
    td = TrustDomain("example.org", os.path.join(keydir, "bundle.json"))
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb",
                                   "DCRTrustDomain example.org %s" % td.path])])
    r = h.session().post(h.endpoint, json=dict(
        META, software_statement=td.svid("https://other.example/register")))
    assert r.status_code == 400 and r.json()["error"] == "invalid_software_statement"
    lines = [l for l in h.error_log_lines() if "audience mismatch" in l]
    assert len(lines) == 1, h.error_log_text()
    assert "[dcr_trusted:info]" in lines[0]
    assert "expected %s/register" % h.vhost.public_base in lines[0]
    assert "https://other.example/register" in lines[0]


def test_socache_store_warns_once_that_registrations_do_not_last(httpd_factory):
    h = httpd_factory()
    lines = [l for l in h.error_log_lines() if "keeps registrations in a cache" in l]
    assert len(lines) == 1, h.error_log_text()
    assert "[dcr_trusted:warn]" in lines[0] and "graceful" in lines[0]


# -- store files: children open them, so -t checks that User can -------------------------------

def test_sqlite_directory_missing_fails_configtest(httpd_factory, keydir):
    db = os.path.join(keydir, "nowhere", "clients.db")
    configtest_fails(httpd_factory, [Vhost(conf=["DCRStore sqlite:%s" % db,
                                                 "DCRRequireStatement Off"])],
                     db, "does not exist")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: children run as User nobody")
def test_sqlite_directory_user_cannot_write_fails_configtest(httpd_factory):
    d = child_writable_dir("dcr-ro-")
    try:
        os.chown(d, 0, 0)
        os.chmod(d, 0o755)
        db = os.path.join(d, "clients.db")
        configtest_fails(httpd_factory, [Vhost(conf=["DCRStore sqlite:%s" % db,
                                                     "DCRRequireStatement Off"])],
                         "User nobody", d)
        assert not os.path.exists(db)  # -t creates nothing
    finally:
        shutil.rmtree(d, ignore_errors=True)


# -- mod_dbd as admins configure it -----------------------------------------------------------

def dbd_register_and_read(h):
    s = h.session()
    r = s.post(h.endpoint, json={"redirect_uris": ["https://c.example/cb"]})
    assert r.status_code == 201, r.text
    reg = r.json()
    path = reg["registration_client_uri"][len(h.vhost.public_base):]
    got = s.get(h.url + path, headers={"Authorization": "Bearer " + reg["registration_access_token"]})
    assert got.status_code == 200, got.text
    return reg


@pytest.mark.parametrize("layout", ["inherited", "own"])
def test_dbd_store_in_vhost(httpd_factory, keydir, layout):
    db = os.path.join(keydir, "dbd.db")
    dbd = ["DBDriver sqlite3", "DBDParams %s" % db]
    vconf = ["DCRStore dbd", "DCRRequireStatement Off"]
    if layout == "own":
        vconf = dbd + vconf
    h = httpd_factory([Vhost(conf=vconf)], modules=["dbd"], start=False,
                      server_conf="\n".join(dbd) if layout == "inherited" else "")
    assert h.config_test().returncode == 0
    h.start()
    reg = dbd_register_and_read(h)
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT COUNT(*) FROM dcr_clients").fetchone()[0] == 1
    finally:
        con.close()
    h.restart()
    assert dbd_register_and_read(h)["client_id"] != reg["client_id"]


def test_dbd_store_without_mod_dbd(httpd_factory):
    configtest_fails(httpd_factory, [Vhost(conf=["DCRStore dbd", "DCRRequireStatement Off"])],
                     "a2enmod dbd", "/usr/lib/apache2/modules/mod_dbd.so")


def test_dbd_store_without_dbdriver(httpd_factory):
    configtest_fails(httpd_factory, [Vhost(conf=["DCRStore dbd", "DCRRequireStatement Off"])],
                     "DBDriver", "as.example.test", modules=["dbd"])
