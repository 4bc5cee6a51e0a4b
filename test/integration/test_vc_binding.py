"""DCRVCBinding and the VC validity rules against a real httpd (issue 10, point 2).

A bare VC is a bearer artifact: every verifier it was shown to holds a copy. So a VC must name
this endpoint in aud (then, without a holder key, it registers once: the copy is refused on
SQLite, PostgreSQL and shmcb stores, across processes and restarts where the store keeps its
data), or carry a holder key in cnf.jwk (then the client is pinned to that key, whatever the
request or DCRVCAuthMethod say), or the admin says `any` (bare VCs, with a startup warning).
Every VC must expire (exp / validUntil), within DCRVCMaxLifetime when set. Every refusal
leaves the store as it was."""

import base64
import itertools
import json
import os
import shutil
import sqlite3
import time
import uuid

import pytest
from jwcrypto import jwk

from dcr_httpd import Vhost
from services import child_writable_dir
from store_util import sqlite_count, sqlite_rows
from test_store_pgsql import SQL_DIR, dbd_lines
from test_store_socache_shared import shared_cache  # noqa: F401  (a fixture)
from test_vc import Issuer, audience, refused

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_dbs = itertools.count()


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def credential(issuer, aud=None, cnf=None, valid_for=3600, start="validFrom", expiry=True,
               **subject):
    """A VCDM 2.0 VC of its own (a fresh id), valid from a minute ago for valid_for seconds;
    aud / cnf (a public JWK) when given; start names the claim that says when it began."""
    now = int(time.time())
    # the code grant: these clients carry no keys, and public clients get no client_credentials
    cs = {"id": "https://agent.example.com", "client_name": "Agent from the VC",
          "grant_types": ["authorization_code"]}
    cs.update(subject)
    p = {"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:uuid:%s" % uuid.uuid4(),
         "type": ["VerifiableCredential"], "issuer": issuer.id, "credentialSubject": cs}
    if start == "validFrom":
        p["validFrom"] = iso(now - 60)
    elif start:
        p[start] = now - 60
    if expiry:
        p["validUntil"] = iso(now - 60 + valid_for)
    if aud is not None:
        p["aud"] = aud
    if cnf is not None:
        p["cnf"] = {"jwk": cnf}
    return issuer.sign(p)


def malleate(statement):
    """The same ES256 JWS with s replaced by n - s: a valid signature, another text."""
    head, sig = statement.rsplit(".", 1)
    raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    s = int.from_bytes(raw[32:], "big")
    raw = raw[:32] + (P256_N - s).to_bytes(32, "big")
    return head + "." + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def post(h, statement, **meta):
    body = {"client_name": "from the request", "grant_types": ["authorization_code"],
            "redirect_uris": ["https://agent.example.com/cb"]}
    body.update(meta)
    body["software_statement"] = statement
    return h.session().post(h.vhost.endpoint, json=body, timeout=30)


def read(h, reg):
    path = reg["registration_client_uri"][len(h.vhost.public_base):]
    return h.session().get(h.url + path, timeout=30, headers={
        "Authorization": "Bearer " + reg["registration_access_token"]})


class Store:
    """One kind of DCRStore with what it takes to count clients and remembered statements
    (None where the store cannot be looked into: shmcb)."""

    def __init__(self, kind, tmp, postgres=None):
        self.kind, self.pg, self.db = kind, postgres, None
        if kind == "sqlite":
            self.db = os.path.join(tmp, "clients.db")
            self.lines, self.modules = ["DCRStore sqlite:%s" % self.db], []
        elif kind == "pgsql":
            self.db = postgres.createdb("dcr_vcb_%d_%d" % (os.getpid(), next(_dbs)))
            self.lines, self.modules = dbd_lines(postgres, self.db), ["dbd"]
        else:
            self.lines, self.modules = ["DCRStore socache:shmcb"], []

    def _sql(self, query):
        if self.kind == "sqlite":
            return sqlite_rows(self.db, query)[0][0] if os.path.exists(self.db) else 0
        if self.kind == "pgsql":
            return int(self.pg.psql(query, db=self.db)[0][0])
        return None

    def clients(self):
        return self._sql("SELECT COUNT(*) FROM dcr_clients")

    def used(self):
        return self._sql("SELECT COUNT(*) FROM dcr_used_statements")


@pytest.fixture
def vc_env(httpd_factory):
    """make(store, extra=(), mpm="event") -> httpd with the issuer trusted on that store;
    yields (make, issuer)."""
    keys = child_writable_dir("dcr-vcb-")
    issuer = Issuer(keys)

    def make(store, extra=(), mpm="event", start=True):
        lines = store.lines + ["DCRRequireStatement On",
                               "DCRVCIssuer %s jwks:%s" % (issuer.id, issuer.jwks)] + list(extra)
        return httpd_factory(vhosts=[Vhost(conf=lines)], modules=store.modules, mpm=mpm,
                             start=start)

    yield make, issuer
    shutil.rmtree(keys, ignore_errors=True)


@pytest.fixture
def sqlite_store():
    d = child_writable_dir("dcr-vcb-store-")
    yield Store("sqlite", d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("kind", ["sqlite", "pgsql", "shmcb"])
def test_aud_bound_vc_registers_once(vc_env, request, kind):
    make, issuer = vc_env
    tmp = child_writable_dir("dcr-vcb-store-")
    store = Store(kind, tmp, request.getfixturevalue("postgres") if kind == "pgsql" else None)
    # prefork: the copies come on new connections, to other processes
    h = make(store, mpm="prefork")
    vc = credential(issuer, aud=audience(h.vhost))
    r = post(h, vc)
    assert r.status_code == 201, r.text
    first = r.json()
    assert (store.clients(), store.used()) in ((1, 1), (None, None))

    # the copy, by someone who wants their own keys on it; then the copy with its signature
    # re-encoded (ECDSA is malleable): both are the same statement, already used
    for copy in (vc, vc, malleate(vc)):
        r = post(h, copy, client_name="thief", jwks_uri="https://evil.example/jwks")
        refused(r, 400, "invalid_software_statement")
        assert "already used" in r.json()["error_description"], r.text
    # the store is as it was: one client, as registered
    assert (store.clients(), store.used()) in ((1, 1), (None, None))
    got = read(h, first)
    assert got.status_code == 200 and got.json()["client_name"] == "Agent from the VC"
    assert "jwks_uri" not in got.json()

    # another credential of the same subject is another statement
    assert post(h, credential(issuer, aud=audience(h.vhost))).status_code == 201

    # the memory survives a restart where the store keeps its data; shmcb forgets (documented)
    h.restart()
    r = post(h, vc)
    if kind == "shmcb":
        assert r.status_code == 201, r.text
    else:
        refused(r, 400, "invalid_software_statement")
    shutil.rmtree(tmp, ignore_errors=True)


def test_single_use_across_nodes_on_memcache_and_redis(vc_env, shared_cache):  # noqa: F811
    """Two nodes sharing memcached / redis: a copy is refused on the other node (sequential
    presentations; the simultaneous race is documented), also for a VC valid longer than
    memcached's 30-day limit on relative expiries."""
    make, issuer = vc_env
    module, arg = shared_cache
    store = Store("shmcb", None)
    store.lines, store.modules = ["DCRStore %s" % arg], [module]
    a, b = make(store), make(store)
    both = [audience(a.vhost), audience(b.vhost)]
    for valid_for in (3600, 60 * 86400):
        vc = credential(issuer, aud=both, valid_for=valid_for)
        r = post(a, vc)
        assert r.status_code == 201, r.text
        r = post(b, vc)
        refused(r, 400, "invalid_software_statement")
        assert "already used" in r.json()["error_description"]
        refused(post(a, malleate(vc)), 400, "invalid_software_statement")


def test_refused_metadata_does_not_spend_the_vc(vc_env, sqlite_store):
    make, issuer = vc_env
    h = make(sqlite_store)
    vc = credential(issuer, aud=audience(h.vhost))
    refused(post(h, vc, redirect_uris=["ftp://agent.example.com/cb"]), 400,
            "invalid_redirect_uri")
    assert (sqlite_store.clients(), sqlite_store.used()) == (0, 0)
    assert post(h, vc).status_code == 201


def test_unbound_vc_refused(vc_env, sqlite_store):
    make, issuer = vc_env
    h = make(sqlite_store)
    for aud in (None, "https://another-server.example/register", [7]):
        r = post(h, credential(issuer, aud=aud))
        refused(r, 400, "invalid_software_statement")
    r = post(h, credential(issuer))
    assert "not bound to this server (aud) or to a holder key" in \
        r.json()["error_description"], r.text
    # a thumbprint names a key nobody here can see: it binds nothing
    now = int(time.time())
    r = post(h, issuer.sign({"@context": ["https://www.w3.org/ns/credentials/v2"],
                             "type": ["VerifiableCredential"], "issuer": issuer.id,
                             "validFrom": iso(now - 60), "validUntil": iso(now + 600),
                             "cnf": {"jkt": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"},
                             "credentialSubject": {"id": "https://agent.example.com"}}))
    refused(r, 400, "invalid_software_statement")
    assert (sqlite_store.clients(), sqlite_store.used()) == (0, 0)


def test_cnf_pins_the_holder_key(vc_env, sqlite_store):
    make, issuer = vc_env
    h = make(sqlite_store, extra=["DCRVCAuthMethod client_secret_basic"])
    holder = json.loads(jwk.JWK.generate(kty="EC", crv="P-256", kid="holder").export_public())
    vc = credential(issuer, cnf=holder)
    r = post(h, vc, token_endpoint_auth_method="client_secret_post",
             jwks_uri="https://evil.example/jwks")
    assert r.status_code == 201, r.text
    reg = r.json()
    assert reg["token_endpoint_auth_method"] == "private_key_jwt"
    assert reg["jwks"] == {"keys": [holder]}
    assert "jwks_uri" not in reg and "client_secret" not in reg
    got = read(h, reg).json()
    assert got["jwks"] == {"keys": [holder]} and got["token_endpoint_auth_method"] == \
        "private_key_jwt"
    # the record the authorization server reads holds the same key
    rec = json.loads(sqlite_rows(sqlite_store.db, "SELECT record FROM dcr_clients")[0][0])
    assert rec["metadata"]["jwks"] == {"keys": [holder]}
    # bound to its holder, the VC is not single use; a request jwks is replaced too
    other = json.loads(jwk.JWK.generate(kty="EC", crv="P-256", kid="o").export_public())
    r = post(h, vc, jwks={"keys": [other]}, client_name="again")
    assert r.status_code == 201, r.text
    assert r.json()["jwks"] == {"keys": [holder]}
    assert sqlite_store.used() == 0
    # a private key in cnf.jwk is refused and stored nowhere
    private = json.loads(jwk.JWK.generate(kty="EC", crv="P-256").export_private())
    before = sqlite_store.clients()
    refused(post(h, credential(issuer, cnf=private)), 400, "invalid_software_statement")
    assert sqlite_store.clients() == before


def test_binding_any_accepts_bare_vcs_and_warns(vc_env, sqlite_store):
    make, issuer = vc_env
    h = make(sqlite_store, extra=["DCRVCBinding any"])
    h.allow_errors(r"DCRVCBinding any for as\.example\.test")
    assert "DCRVCBinding any for as.example.test:%d" % h.vhost.port in h.error_log_text()
    vc = credential(issuer)
    assert post(h, vc).status_code == 201
    assert post(h, vc, client_name="replayed").status_code == 201  # what `any` allows
    assert sqlite_store.used() == 0


def test_binding_aud_only_and_cnf_only(vc_env, sqlite_store):
    make, issuer = vc_env
    holder = json.loads(jwk.JWK.generate(kty="EC", crv="P-256").export_public())
    h = make(sqlite_store, extra=["DCRVCBinding aud"])
    refused(post(h, credential(issuer, cnf=holder)), 400, "invalid_software_statement")
    assert post(h, credential(issuer, aud=audience(h.vhost), software_id="a")).status_code == 201
    h.stop()
    h = make(sqlite_store, extra=["DCRVCBinding cnf"])
    refused(post(h, credential(issuer, aud=audience(h.vhost))), 400,
            "invalid_software_statement")
    assert post(h, credential(issuer, cnf=holder, software_id="b")).status_code == 201
    assert sqlite_store.clients() == 2


def test_expiry_is_mandatory(vc_env, sqlite_store):
    make, issuer = vc_env
    h = make(sqlite_store)
    r = post(h, credential(issuer, aud=audience(h.vhost), expiry=False))
    refused(r, 400, "invalid_software_statement")
    assert "exp or validUntil" in r.json()["error_description"], r.text
    assert (sqlite_store.clients(), sqlite_store.used()) == (0, 0)


def test_max_lifetime(vc_env, sqlite_store):
    make, issuer = vc_env
    h = make(sqlite_store, extra=["DCRVCMaxLifetime 3600"])
    aud = audience(h.vhost)
    r = post(h, credential(issuer, aud=aud, valid_for=86400))
    refused(r, 400, "invalid_software_statement")
    assert "DCRVCMaxLifetime" in r.json()["error_description"], r.text
    # no start to measure from: refused as well
    refused(post(h, credential(issuer, aud=aud, valid_for=600, start=None)), 400,
            "invalid_software_statement")
    assert (sqlite_store.clients(), sqlite_store.used()) == (0, 0)
    assert post(h, credential(issuer, aud=aud, valid_for=3600)).status_code == 201
    assert post(h, credential(issuer, aud=aud, valid_for=1800, start="iat")).status_code == 201


@pytest.mark.parametrize("line,message", [
    ("DCRVCBinding any aud", "give aud, cnf or both, or any alone"),
    ("DCRVCBinding jkt", "give aud, cnf or both, or any alone"),
    ("DCRVCMaxLifetime forever", "not a whole number"),
    ("DCRVCMaxLifetime 0", "not a whole number >= 1"),
])
def test_directive_values_checked(httpd_factory, line, message):
    h = httpd_factory(vhosts=[Vhost(conf=["DCRStore socache:shmcb", line])], start=False)
    p = h.config_test()
    assert p.returncode != 0
    assert message in p.stderr + p.stdout, p.stderr


def _downgrade_sqlite(db):
    """What the previous module (schema version 1) left: no dcr_used_statements."""
    con = sqlite3.connect(db, timeout=10)
    con.execute("DROP TABLE dcr_used_statements")
    con.execute("UPDATE dcr_schema SET version = 1")
    con.commit()
    con.close()


def test_version_1_sqlite_database_is_migrated(vc_env, sqlite_store):
    make, issuer = vc_env
    h = make(sqlite_store)
    r = post(h, credential(issuer, aud=audience(h.vhost)))
    assert r.status_code == 201, r.text
    h.stop()
    _downgrade_sqlite(sqlite_store.db)
    h.start()
    assert sqlite_rows(sqlite_store.db, "SELECT version FROM dcr_schema") == [(3,)]
    assert read(h, r.json()).status_code == 200  # the old registration as it was
    vc = credential(issuer, aud=audience(h.vhost))
    assert post(h, vc).status_code == 201
    refused(post(h, vc), 400, "invalid_software_statement")


def test_version_1_postgres_database(vc_env, postgres):
    """DCRDBDCreateSchema Off on a version 1 database: a clear startup error, not prepare
    failures; On (the default) migrates it in place, keeping its clients."""
    make, issuer = vc_env
    store = Store("pgsql", None, postgres)
    postgres.psql_file(os.path.join(SQL_DIR, "pgsql.sql"), store.db)
    postgres.psql("DROP TABLE dcr_used_statements; UPDATE dcr_schema SET version = 1",
                  db=store.db)
    off = make(store, extra=["DCRDBDCreateSchema Off"], start=False)
    off.allow_errors(r"schema version 1", r"AH00016")
    proc = off.start(expect_fail=True)
    text = proc.stderr + off.error_log_text()
    assert "schema version 1 in the database, this module uses 3" in text, text
    h = make(store)
    assert postgres.psql("SELECT version FROM dcr_schema", db=store.db) == [["3"]]
    vc = credential(issuer, aud=audience(h.vhost))
    assert post(h, vc).status_code == 201
    refused(post(h, vc), 400, "invalid_software_statement")
    assert (store.clients(), store.used()) == (1, 1)
