"""Security findings of issue 11 seen over HTTP: no client_credentials for public clients,
metadata URLs that name no internal host, a body buffer sized by what arrives, and ports above
65535 refused instead of wrapping (DCRFetchAllow, status list URLs)."""

import json
import os
import shutil
import socket
import ssl
import time

import pytest

from dcr_httpd import Vhost
from services import child_writable_dir
from store_util import JWKS_URI, sqlite_count as count
from test_vc import env, post, refused  # noqa: F401 (env is a fixture)


@pytest.fixture
def open_reg(httpd_factory):
    """(server, db): open registration (no statement) on a SQLite store, to count rows."""
    store = child_writable_dir("dcr-hardening-")
    db = os.path.join(store, "clients.db")
    h = httpd_factory([Vhost(conf=["DCRStore sqlite:%s" % db, "DCRRequireStatement Off"])])
    yield h, db
    shutil.rmtree(store, ignore_errors=True)


def register(h, body):
    return h.session().post(h.endpoint, json=body, timeout=30)


def bad_metadata(r, text):
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_client_metadata", r.text
    assert text in r.json()["error_description"], r.text
    assert r.headers.get("Cache-Control") == "no-store"


# -- RFC 6749 4.4: client_credentials only for confidential clients ---------------------------

def test_public_client_never_gets_client_credentials(open_reg):
    h, db = open_reg
    # the only grant of a client without keys: refused, nothing stored
    bad_metadata(register(h, {"grant_types": ["client_credentials"]}), "confidential")
    bad_metadata(register(h, {"grant_types": ["client_credentials", "refresh_token"]}),
                 "refresh_token")
    bad_metadata(register(h, {"grant_types": ["client_credentials"], "jwks_uri": JWKS_URI,
                              "token_endpoint_auth_method": "none"}), "confidential")
    assert count(db) == 0
    # next to another grant: dropped like an out-of-policy grant
    r = register(h, {"grant_types": ["authorization_code", "client_credentials"],
                     "redirect_uris": ["https://client.example.org/cb"]})
    assert r.status_code == 201, r.text
    assert r.json()["token_endpoint_auth_method"] == "none"
    assert r.json()["grant_types"] == ["authorization_code"]
    # and what is stored says the same
    reg = r.json()
    got = h.session().get(reg["registration_client_uri"].replace(
        h.vhost.public_base, h.vhost.url), timeout=30,
        headers={"Authorization": "Bearer " + reg["registration_access_token"]})
    assert got.status_code == 200 and got.json()["grant_types"] == ["authorization_code"]
    # a confidential client keeps it
    r = register(h, {"grant_types": ["client_credentials"], "jwks_uri": JWKS_URI})
    assert r.status_code == 201, r.text
    assert r.json()["token_endpoint_auth_method"] == "private_key_jwt"
    assert r.json()["grant_types"] == ["client_credentials"]
    assert count(db) == 2


def test_update_keeps_the_rules(open_reg):
    """RFC 7592 update goes through the same rules; a refused update changes nothing."""
    h, db = open_reg
    r = register(h, {"grant_types": ["client_credentials"], "jwks_uri": JWKS_URI,
                     "logo_uri": "https://client.example.org/logo.png"})
    assert r.status_code == 201, r.text
    reg = r.json()
    url = reg["registration_client_uri"].replace(h.vhost.public_base, h.vhost.url)
    auth = {"Authorization": "Bearer " + reg["registration_access_token"]}
    s = h.session()
    # dropping the keys makes it public: client_credentials was its only grant
    bad_metadata(s.put(url, headers=auth, timeout=30, json={
        "client_id": reg["client_id"], "grant_types": ["client_credentials"]}), "confidential")
    bad_metadata(s.put(url, headers=auth, timeout=30, json={
        "client_id": reg["client_id"], "grant_types": ["client_credentials"],
        "jwks_uri": JWKS_URI, "logo_uri": "https://169.254.169.254/latest/"}), "internal host")
    got = s.get(url, headers=auth, timeout=30).json()
    assert got["grant_types"] == ["client_credentials"] and got["jwks_uri"] == JWKS_URI
    assert got["logo_uri"] == "https://client.example.org/logo.png"
    assert got["token_endpoint_auth_method"] == "private_key_jwt"


def test_vc_without_keys_gets_no_client_credentials(env):
    make, issuer, status, db = env
    h = make()
    # vc1's credentialSubject asks for client_credentials and carries no keys
    r = post(h, issuer.vc1(), grant_types=["client_credentials"], redirect_uris=None)
    bad_metadata(r, "confidential")
    assert count(db) == 0
    r = post(h, issuer.vc1(), grant_types=["client_credentials"], jwks_uri=JWKS_URI)
    assert r.status_code == 201, r.text
    assert r.json()["grant_types"] == ["client_credentials"]


# -- metadata URLs name no internal host ------------------------------------------------------

@pytest.mark.parametrize("member", ["jwks_uri", "logo_uri", "client_uri", "policy_uri", "tos_uri",
                                    "client_uri#fr"])
def test_metadata_urls_name_no_internal_host(open_reg, member):
    h, db = open_reg
    for url in ["https://127.0.0.1:%d/jwks" % h.vhost.port, "https://[::1]/x",
                "https://169.254.169.254/latest/meta-data/", "https://10.0.0.7/x",
                "https://100.64.0.1/x", "https://2130706433/x", "https://localhost/x",
                "https://svc.localhost/x", "https://metadata.google.internal/computeMetadata/v1/",
                "https://db/x", "https://127.0.0.1./x"]:
        r = register(h, {"redirect_uris": ["https://client.example.org/cb"], member: url})
        bad_metadata(r, "internal host")
    assert count(db) == 0
    r = register(h, {"redirect_uris": ["https://client.example.org/cb"],
                     member: "https://client.example.org/x"})
    assert r.status_code == 201, r.text


def test_native_loopback_redirects_stay_allowed(open_reg):
    h, db = open_reg
    r = register(h, {"application_type": "native",
                     "redirect_uris": ["http://127.0.0.1:49152/cb", "http://[::1]/cb",
                                       "http://localhost:8080/cb"]})
    assert r.status_code == 201, r.text


def test_statement_urls_name_no_internal_host(env):
    make, issuer, status, db = env
    h = make()
    r = post(h, issuer.vc2(logo_uri="https://192.168.0.1/logo.png"))
    bad_metadata(r, "internal host")
    assert count(db) == 0


# -- the body buffer follows what arrives -----------------------------------------------------

def _children_vm_kb(h):
    """{pid: VmSize in kB} of the server's child processes."""
    parent, out = h.pid(), {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/status" % pid) as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if int(fields.get("PPid", "0").strip()) == parent:
            out[int(pid)] = int(fields.get("VmSize", "0 kB").split()[0])
    return out


def test_body_buffer_follows_content_length(httpd_factory):
    """Requests that say 100 bytes and send 10 hold workers: each must cost about what it
    said, not DCRMaxBodySize (16 MiB here), or a few slow clients reserve gigabytes."""
    # prefork with idle children to spare: one request per process, none started meanwhile
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb", "DCRRequireStatement Off",
                                   "DCRMaxBodySize 16777216"])], mpm="prefork",
                      extra_conf="StartServers 9\nMinSpareServers 1\nMaxSpareServers 10\n")
    assert register(h, {"redirect_uris": ["https://client.example.org/cb"]}).status_code == 201
    time.sleep(1)
    before = _children_vm_kb(h)
    ctx = ssl.create_default_context(cafile=h.ca_file)
    ctx.check_hostname = False
    held = []
    try:
        for _ in range(6):
            s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", h.vhost.port)),
                                server_hostname="localhost")
            s.sendall(b"POST /register HTTP/1.1\r\nHost: localhost\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                      b'{"client_n')
            held.append(s)
        time.sleep(1.5)  # every handler is now waiting for the rest of its body
        after = _children_vm_kb(h)
    finally:
        for s in held:
            s.close()
    # a child started meanwhile counts against the largest idle child
    base = max(before.values())
    grown = sum(vm - before.get(pid, base) for pid, vm in after.items())
    # 6 x 16 MiB = 98304 kB with a buffer of DCRMaxBodySize each
    assert grown < 6 * 16384 // 2, "children grew by %d kB (%s -> %s)" % (grown, before, after)


@pytest.mark.parametrize("size,status", [(20000, 201), (65536, 201), (65537, 413)])
def test_chunked_body_grows_to_the_limit(httpd_factory, size, status):
    """A chunked body's buffer grows as data arrives, up to DCRMaxBodySize and no further."""
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb", "DCRRequireStatement Off"])])
    body = json.dumps({"redirect_uris": ["https://client.example.org/cb"],
                       "client_name": "chunked"})
    body = (body + " " * (size - len(body))).encode()
    pieces = [body[i:i + 3000] for i in range(0, len(body), 3000)]
    r = h.session().post(h.endpoint, data=iter(pieces), timeout=30,
                         headers={"Content-Type": "application/json"})
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert r.status_code == status, r.text
    if status == 201:
        assert r.json()["client_name"] == "chunked"


# -- ports above 65535 ------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["status.example:65979", "status.example:0",
                                   "127.0.0.1:-443", "status.example:"])
def test_fetch_allow_port_out_of_range_fails_startup(httpd_factory, value):
    h = httpd_factory(vhosts=[Vhost(conf=["DCRStore socache:shmcb", "DCRFetchAllow " + value])],
                      start=False)
    p = h.config_test()
    assert p.returncode != 0
    assert "DCRFetchAllow: '%s' is not host or host:port" % value in p.stderr + p.stdout


def test_status_url_port_does_not_wrap(env):
    """127.0.0.1:(port + 65536) once read as the allowed 127.0.0.1:port; the fetch then failed
    and DCRVCStatusUnavailable allow waved a credential through unchecked."""
    make, issuer, status, db = env
    h = make(["DCRVCStatusUnavailable allow"])
    h.allow_errors(r"status list .* unavailable")
    wrapped = "https://127.0.0.1:%d/status/1" % (status.port + 65536)
    entry = {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
             "statusListIndex": "3", "statusListCredential": wrapped}
    r = post(h, issuer.vc2(status=entry))
    refused(r, 400, "invalid_software_statement")
    assert "not allowed" in r.json()["error_description"]
    assert count(db) == 0
