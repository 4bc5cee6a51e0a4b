"""VC-JWT software statements against a real httpd: both encodings register with metadata from
the credential winning over the request; revoked (W3C Bitstring list) and suspended (IETF token
list) credentials, an unreachable list (refused unless DCRVCStatusUnavailable allow), an
untrusted issuer and a missing required type are refused, and no refusal stores anything. The
status lists come from this test's own HTTPS server on 127.0.0.1 (DCRFetchAllow)."""

import base64
import gzip
import http.server
import json
import os
import shutil
import ssl
import threading
import time
import uuid
import zlib

import pytest
from jwcrypto import jwk, jwt

from dcr_httpd import Vhost, _make_cert, free_port
from services import child_writable_dir
from store_util import sqlite_count as count

ISSUER = "https://issuer.example.org"
SUBJECT = "https://agent.example.com"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class StatusServer:
    """HTTPS on 127.0.0.1 serving {path: (content_type, body)}; counts hits per path."""

    def __init__(self, directory):
        self.crt, self.key, self.ca = _make_cert(directory, ["status.test"])
        os.chmod(self.ca, 0o644)
        self.docs, self.hits, self.redirects = {}, {}, {}
        self.port = free_port()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                if self.path in outer.redirects:
                    self.send_response(302)
                    self.send_header("Location", outer.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path not in outer.docs:
                    self.send_error(404)
                    return
                ctype, body = outer.docs[self.path]
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.crt, self.key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "https://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def audience(vhost):
    """The registration endpoint URL the module builds (ServerName, port, Location): the
    default audience a VC names in aud (DCRVCBinding aud)."""
    return vhost.public_base + (vhost.location or "")


class Issuer:
    """aud: what the credentials it mints name in aud (None: no aud); env's make() sets it to
    the server's endpoint, so the tests' VCs are bound to it (DCRVCBinding's default)."""

    def __init__(self, directory, ident=ISSUER):
        self.id = ident
        self.aud = None
        self.ec = jwk.JWK.generate(kty="EC", crv="P-256", kid="k1")
        self.ed = jwk.JWK.generate(kty="OKP", crv="Ed25519", kid="ed1")
        self.jwks = os.path.join(directory, "issuer-%d.jwks" % id(self))
        with open(self.jwks, "w") as f:
            json.dump({"keys": [json.loads(self.ec.export_public()),
                                json.loads(self.ed.export_public())]}, f)
        os.chmod(self.jwks, 0o644)

    def sign(self, payload, typ="vc+jwt", key=None, kid=None):
        key = key or self.ec
        pub = json.loads(key.export_public())
        alg = "EdDSA" if pub["kty"] == "OKP" else "ES256"
        hdr = {"alg": alg, "kid": kid or pub["kid"]}
        if typ:
            hdr["typ"] = typ
        t = jwt.JWT(header=hdr, claims=payload)
        t.make_signed_token(key)
        return t.serialize()

    def bind(self, payload):
        """payload with this issuer's aud, when it has one."""
        if self.aud is not None and "aud" not in payload:
            payload["aud"] = self.aud
        return payload

    def vc2(self, status=None, token_status=None, types=("OAuthClientCredential",), **subject):
        now = int(time.time())
        cs = {"id": SUBJECT, "client_name": "Agent from the VC",
              "redirect_uris": ["https://agent.example.com/cb"],
              "grant_types": ["authorization_code"], "software_id": "agent-1"}
        cs.update(subject)
        p = {"@context": ["https://www.w3.org/ns/credentials/v2"],
             "id": "urn:uuid:%s" % uuid.uuid4(),  # each its own credential (single use)
             "type": ["VerifiableCredential"] + list(types), "issuer": self.id,
             "validFrom": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600)),
             "validUntil": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 86400)),
             "credentialSubject": cs}
        if status:
            p["credentialStatus"] = status
        if token_status:
            p["status"] = {"status_list": token_status}
        return self.sign(self.bind(p))

    def vc1(self):
        now = int(time.time())
        return self.sign(self.bind(
            {"iss": self.id, "sub": SUBJECT, "nbf": now - 60, "exp": now + 3600,
             "jti": "urn:uuid:%s" % uuid.uuid4(),
             "vc": {"@context": ["https://www.w3.org/2018/credentials/v1"],
                    "type": ["VerifiableCredential", "OAuthClientCredential"],
                    "credentialSubject": {"client_name": "Agent 1.1",
                                          "grant_types": ["client_credentials"]}}}),
            typ="JWT", key=self.ed)

    def bitstring_list(self, url, set_bits=(), purpose="revocation"):
        bits = bytearray(16384)
        for i in set_bits:
            bits[i // 8] |= 0x80 >> (i % 8)
        now = int(time.time())
        return self.sign({"@context": ["https://www.w3.org/ns/credentials/v2"],
                          "type": ["VerifiableCredential", "BitstringStatusListCredential"],
                          "issuer": self.id,
                          "validFrom": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                     time.gmtime(now - 3600)),
                          "credentialSubject": {"id": url + "#list",
                                                "type": "BitstringStatusList",
                                                "statusPurpose": purpose, "ttl": 300000,
                                                "encodedList": "u" + b64(gzip.compress(
                                                    bytes(bits), mtime=0))}}).encode()

    def token_list(self, url, values):
        raw = bytearray(64)  # 2 bits per entry, LSB first
        for i, v in values.items():
            raw[i // 4] |= v << (2 * (i % 4))
        now = int(time.time())
        return self.sign({"sub": url, "iat": now - 10, "exp": now + 3600, "ttl": 300,
                          "status_list": {"bits": 2, "lst": b64(zlib.compress(bytes(raw), 9))}},
                         typ="statuslist+jwt").encode()


@pytest.fixture
def env(httpd_factory, tmp_path_factory):
    """(make_server, issuer, status_server, db): make_server(extra_lines) starts httpd."""
    keys = child_writable_dir("dcr-vc-")
    store = child_writable_dir("dcr-vc-store-")
    status = StatusServer(keys)
    issuer = Issuer(keys)
    db = os.path.join(store, "clients.db")

    def make(extra=(), issuers=None, mpm="event"):
        lines = ["DCRStore sqlite:%s" % db, "DCRRequireStatement On",
                 "DCRFetchCAFile %s" % status.ca, "DCRFetchAllow 127.0.0.1:%d" % status.port,
                 "DCRFetchTimeout 3"]
        for iss in issuers or [issuer]:
            lines.append("DCRVCIssuer %s jwks:%s" % (iss.id, iss.jwks))
        h = httpd_factory(vhosts=[Vhost(conf=lines + list(extra))], start=False, mpm=mpm)
        for iss in issuers or [issuer]:
            iss.aud = audience(h.vhost)
        h.start()
        return h

    yield make, issuer, status, db
    status.stop()
    shutil.rmtree(keys, ignore_errors=True)
    shutil.rmtree(store, ignore_errors=True)


def post(h, statement, **meta):
    body = {"client_name": "from the request", "grant_types": ["authorization_code"],
            "redirect_uris": ["https://agent.example.com/cb"]}
    body.update(meta)
    if statement is not None:
        body["software_statement"] = statement
    return h.session().post(h.vhost.endpoint, json=body, timeout=30)


def refused(r, status, error):
    assert r.status_code == status, r.text
    assert r.json()["error"] == error, r.text
    assert r.headers.get("Cache-Control") == "no-store"


def test_both_encodings_register(env):
    make, issuer, status, db = env
    h = make()
    st = issuer.vc2()
    r = post(h, st, token_endpoint_auth_method="client_secret_basic")
    assert r.status_code == 201, r.text
    reg = r.json()
    assert reg["client_name"] == "Agent from the VC"  # the credential wins
    assert reg["software_id"] == "agent-1"
    assert reg["software_statement"] == st
    assert reg["vc_issuer"] == ISSUER and reg["vc_subject"] == SUBJECT
    assert reg["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in reg

    st1 = issuer.vc1()
    # keys make it confidential: client_credentials is not for public clients
    r = post(h, st1, grant_types=["client_credentials"],
             jwks_uri="https://agent.example.com/jwks")
    assert r.status_code == 201, r.text
    assert r.json()["client_name"] == "Agent 1.1"
    assert r.json()["vc_subject"] == SUBJECT
    assert count(db) == 2

    # keys in the credential: private_key_jwt by the default rule
    client_jwks = {"keys": [json.loads(jwk.JWK.generate(kty="EC", crv="P-256",
                                                        kid="c1").export_public())]}
    r = post(h, issuer.vc2(jwks=client_jwks))
    assert r.status_code == 201, r.text
    assert r.json()["token_endpoint_auth_method"] == "private_key_jwt"


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_revoked_and_suspended_refused(env, mpm):
    make, issuer, status, db = env
    list_url = status.url("/status/1")
    tok_url = status.url("/tsl/1")
    status.docs["/status/1"] = ("application/vc+jwt", issuer.bitstring_list(list_url, [94567]))
    status.docs["/tsl/1"] = ("application/statuslist+jwt",
                             issuer.token_list(tok_url, {3: 1, 5: 2}))
    h = make(mpm=mpm)

    def w3c(index):
        return {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                "statusListIndex": str(index), "statusListCredential": list_url}

    r = post(h, issuer.vc2(status=w3c(94567)))
    refused(r, 400, "invalid_software_statement")
    assert "revoked" in r.json()["error_description"]
    r = post(h, issuer.vc2(token_status={"idx": 5, "uri": tok_url}))
    refused(r, 400, "invalid_software_statement")
    assert "suspended" in r.json()["error_description"]
    r = post(h, issuer.vc2(token_status={"idx": 3, "uri": tok_url}))
    refused(r, 400, "invalid_software_statement")
    assert count(db) == 0

    # distinct software_id: the same subject and software_id would replace (DCRReregister)
    assert post(h, issuer.vc2(status=w3c(94566), software_id="a")).status_code == 201
    assert post(h, issuer.vc2(token_status={"idx": 4, "uri": tok_url},
                              software_id="b")).status_code == 201
    assert count(db) == 2
    # the lists are cached (DCRCache) for their ttl: fetched once each across processes
    for _ in range(6):  # new connections: under prefork, other processes
        assert post(h, issuer.vc2(status=w3c(1))).status_code == 201
    assert status.hits["/status/1"] == 1, status.hits
    assert status.hits["/tsl/1"] == 1, status.hits


def test_unreachable_list(env):
    make, issuer, status, db = env
    gone = "https://127.0.0.1:%d/status/9" % status.port  # a 404 on the list server
    entry = {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
             "statusListIndex": "7", "statusListCredential": gone}
    h = make()
    h.allow_errors(r"temporarily_unavailable: .*/status/9")
    r = post(h, issuer.vc2(status=entry))
    refused(r, 503, "temporarily_unavailable")
    assert r.headers.get("Retry-After")
    # a failed list is not fetched again for 30 s: no worker waits on it meanwhile
    refused(post(h, issuer.vc2(status=entry)), 503, "temporarily_unavailable")
    assert status.hits["/status/9"] == 1, status.hits
    # a host neither the issuer's nor listed: refused as a statement defect, never fetched
    entry2 = dict(entry, statusListCredential="https://127.0.0.2:%d/status/9" % status.port)
    refused(post(h, issuer.vc2(status=entry2)), 400, "invalid_software_statement")
    assert count(db) == 0
    h.stop()
    h.allow_errors(r"status list .* unavailable")

    h2 = make(["DCRVCStatusUnavailable allow"])
    h2.allow_errors(r"status list .* unavailable")
    r = post(h2, issuer.vc2(status=entry))
    assert r.status_code == 201, r.text
    assert count(db) == 1


def test_list_signed_by_another_issuer_refused(env):
    """Issue 5: only the credential's own issuer speaks about its status."""
    make, issuer, status, db = env
    other = Issuer(os.path.dirname(issuer.jwks), "https://second.example.org")
    url_b = status.url("/status/b")
    url_a = status.url("/status/a")
    status.docs["/status/b"] = ("application/vc+jwt", other.bitstring_list(url_b))  # bit clear
    status.docs["/status/a"] = ("application/vc+jwt", issuer.bitstring_list(url_a))
    h = make(issuers=[issuer, other])

    def entry(url):
        return {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                "statusListIndex": "42", "statusListCredential": url}

    r = post(h, issuer.vc2(status=entry(url_b)))
    refused(r, 400, "invalid_software_statement")
    assert "credential's issuer" in r.json()["error_description"]
    assert count(db) == 0
    # the same list is good for B's own credentials, and A's own list for A's
    assert post(h, other.vc2(status=entry(url_b), software_id="b")).status_code == 201
    assert post(h, issuer.vc2(status=entry(url_a), software_id="a")).status_code == 201
    assert count(db) == 2


def test_local_checks_before_status_fetch(env):
    """A credential refused by policy never makes the server fetch its status list."""
    make, issuer, status, db = env
    url = status.url("/status/p")
    status.docs["/status/p"] = ("application/vc+jwt", issuer.bitstring_list(url))
    entry = {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
             "statusListIndex": "3", "statusListCredential": url}
    h = make(["DCRVCRequireType OAuthClientCredential"])
    refused(post(h, issuer.vc2(status=entry, types=())), 400, "unapproved_software_statement")
    assert "/status/p" not in status.hits, status.hits
    # a list that is down does not turn a policy refusal into a 503
    gone = dict(entry, statusListCredential=status.url("/status/gone"))
    refused(post(h, issuer.vc2(status=gone, types=())), 400, "unapproved_software_statement")
    assert "/status/gone" not in status.hits, status.hits
    assert count(db) == 0
    assert post(h, issuer.vc2(status=entry)).status_code == 201
    assert status.hits["/status/p"] == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: httpd children run as User nobody")
def test_ca_file_only_root_can_read(env):
    """DCRFetchCAFile is read by the parent as root at startup and handed to libcurl from
    memory (like mod_ssl's certificates): a CA file the children cannot read still serves
    every status-list fetch."""
    make, issuer, status, db = env
    os.chmod(status.ca, 0o600)
    url = status.url("/status/root-only")
    status.docs["/status/root-only"] = ("application/vc+jwt", issuer.bitstring_list(url))
    entry = {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
             "statusListIndex": "3", "statusListCredential": url}
    h = make()
    r = post(h, issuer.vc2(status=entry))
    assert r.status_code == 201, r.text
    assert status.hits["/status/root-only"] == 1


def test_iss_and_issuer_disagree(env):
    make, issuer, status, db = env
    other = Issuer(os.path.dirname(issuer.jwks), "https://second.example.org")
    h = make(issuers=[issuer, other])
    now = int(time.time())
    payload = {"iss": issuer.id, "@context": ["https://www.w3.org/ns/credentials/v2"],
               "type": ["VerifiableCredential"], "issuer": other.id,
               "validFrom": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60)),
               "credentialSubject": {"id": SUBJECT, "client_name": "Mixed"}}
    for signer in (issuer, other):
        r = post(h, signer.sign(payload))
        refused(r, 400, "invalid_software_statement")
        assert "iss and issuer disagree" in r.json()["error_description"], r.text
    assert count(db) == 0


def test_untrusted_issuer_and_policy(env):
    make, issuer, status, db = env
    rogue = Issuer(os.path.dirname(issuer.jwks), "https://rogue.example")
    h = make(["DCRVCRequireType OAuthClientCredential"])
    refused(post(h, rogue.vc2()), 400, "unapproved_software_statement")
    refused(post(h, issuer.vc2(types=())), 400, "unapproved_software_statement")
    # right issuer name, wrong key
    forged = rogue.vc2().split(".")
    good = issuer.vc2().split(".")
    refused(post(h, ".".join([good[0], good[1], forged[2]])), 400,
            "invalid_software_statement")
    assert count(db) == 0
    assert post(h, issuer.vc2()).status_code == 201


def test_bad_directives_fail_startup(httpd_factory, tmp_path):
    h = httpd_factory(vhosts=[Vhost(conf=["DCRStore socache:shmcb",
                                          "DCRVCIssuer https://i.example jwks:%s"
                                          % (tmp_path / "missing.jwks")])], start=False)
    h.allow_errors(r"DCRVCIssuer https://i.example: cannot read")
    p = h.start(expect_fail=True)
    assert "DCRVCIssuer https://i.example" in p.stderr + h.error_log_text()
    h2 = httpd_factory(vhosts=[Vhost(conf=["DCRStore socache:shmcb",
                                           "DCRVCAuthMethod client_secret_jwt"])], start=False)
    p = h2.start(expect_fail=True)
    assert "only client_secret_basic and client_secret_post" in p.stderr + h2.error_log_text()


def test_redirects_are_checked(env):
    make, issuer, status, db = env
    list_url = status.url("/status/1")
    status.docs["/status/1"] = ("application/vc+jwt", issuer.bitstring_list(list_url, [3]))
    status.redirects["/moved"] = list_url
    status.redirects["/away"] = "https://127.0.0.2:%d/status/1" % status.port
    h = make()

    def entry(path, index):
        return {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                "statusListIndex": str(index), "statusListCredential": status.url(path)}

    assert post(h, issuer.vc2(status=entry("/moved", 2))).status_code == 201
    r = post(h, issuer.vc2(status=entry("/moved", 3)))
    refused(r, 400, "invalid_software_statement")
    assert "revoked" in r.json()["error_description"]
    refused(post(h, issuer.vc2(status=entry("/away", 2))), 400, "invalid_software_statement")
    assert count(db) == 1


def _cert(subject_key, cn, issuer_cert, issuer_key, ca, san=None):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    b = (x509.CertificateBuilder().subject_name(name)
         .issuer_name(issuer_cert.subject if issuer_cert else name)
         .public_key(subject_key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(hours=1))
         .not_valid_after(now + datetime.timedelta(days=2))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.UniformResourceIdentifier(san)]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def test_x5c_root_issuer(env, httpd_factory):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    make, issuer, status, db = env
    ident = "https://ca-backed.example"
    root_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(
        ec.SECP256R1())
    root = _cert(root_key, "vc root", None, root_key, True)
    leaf = _cert(leaf_key, "vc issuer", root, root_key, False, san=ident)
    stray = _cert(leaf_key, "vc issuer", root, root_key, False, san="https://other.example")
    roots = os.path.join(os.path.dirname(issuer.jwks), "vc-roots.pem")
    with open(roots, "wb") as f:
        f.write(root.public_bytes(serialization.Encoding.PEM))
    os.chmod(roots, 0o644)
    h = make(["DCRVCIssuer %s x5c-root:%s" % (ident, roots)])
    key = jwk.JWK.from_pem(leaf_key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))

    def signed(cert):
        now = int(time.time())
        t = jwt.JWT(header={"alg": "ES256", "typ": "vc+jwt", "x5c": [base64.b64encode(
            cert.public_bytes(serialization.Encoding.DER)).decode()]},
            claims={"@context": ["https://www.w3.org/ns/credentials/v2"],
                    "type": ["VerifiableCredential"], "issuer": ident, "nbf": now - 10,
                    "exp": now + 600, "aud": audience(h.vhost),
                    "credentialSubject": {"id": SUBJECT, "client_name": "CA-backed agent"}})
        t.make_signed_token(key)
        return t.serialize()

    r = post(h, signed(leaf))
    assert r.status_code == 201, r.text
    assert r.json()["vc_issuer"] == ident and r.json()["client_name"] == "CA-backed agent"
    refused(post(h, signed(stray)), 400, "invalid_software_statement")
    refused(post(h, signed(root)), 400, "invalid_software_statement")


def test_vhost_issuer_list_replaces_main(env, httpd_factory):
    make, issuer, status, db = env
    other = Issuer(os.path.dirname(issuer.jwks), "https://other-issuer.example")
    server_conf = "DCRVCIssuer %s jwks:%s\n" % (issuer.id, issuer.jwks)
    inherit = Vhost(name="a.example.test", conf=["DCRStore socache:shmcb"])
    replace = Vhost(name="b.example.test", conf=[
        "DCRStore socache:shmcb", "DCRVCIssuer %s jwks:%s" % (other.id, other.jwks)])
    h = httpd_factory(vhosts=[inherit, replace], server_conf=server_conf)
    issuer.aud = other.aud = [audience(inherit), audience(replace)]

    def send(v, st):
        return h.session().post(v.endpoint, json={"software_statement": st,
                                                  "grant_types": ["authorization_code"],
                                                  "redirect_uris": [
                                                      "https://agent.example.com/cb"]},
                                timeout=30)

    assert send(inherit, issuer.vc2()).status_code == 201
    refused(send(inherit, other.vc2()), 400, "unapproved_software_statement")
    assert send(replace, other.vc2()).status_code == 201
    refused(send(replace, issuer.vc2()), 400, "unapproved_software_statement")


@pytest.mark.parametrize("line,message", [
    ("DCRVCIssuer https://i.example file:/x", "jwks:<file>, pem:<file> or x5c-root:<file>"),
    ("DCRVCMetadataFrom everywhere", "subject, claims or both"),
    ("DCRVCStatusUnavailable maybe", "refuse or allow"),
    ("DCRVCStatusCacheTime 600 60", "min is above max"),
    ("DCRFetchTimeout soon", "not a whole number"),
    ("DCRFetchMaxSize 10", "not a whole number >= 1024"),
    ("DCRFetchAllow https://status.example/", "not host or host:port"),
])
def test_directive_values_checked(httpd_factory, line, message):
    h = httpd_factory(vhosts=[Vhost(conf=["DCRStore socache:shmcb", line])], start=False)
    p = h.config_test()
    assert p.returncode != 0
    assert message in p.stderr + p.stdout, p.stderr


def test_dcrcache_needs_a_known_provider(httpd_factory, env):
    make, issuer, status, db = env
    h = httpd_factory(vhosts=[Vhost(conf=["DCRStore socache:shmcb",
                                          "DCRVCIssuer %s jwks:%s" % (issuer.id, issuer.jwks)])],
                      server_conf="DCRCache nosuchcache\n", start=False)
    h.allow_errors(r"DCRCache: unknown socache provider 'nosuchcache'")
    p = h.start(expect_fail=True)
    assert "unknown socache provider 'nosuchcache'" in p.stderr + h.error_log_text()
