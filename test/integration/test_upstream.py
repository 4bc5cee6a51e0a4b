"""DCRUpstream rfc7591 end to end with a real authorization server (node oidc-provider,
oidc_as.py): a workload registers through the module with a JWT-SVID and its own jwks, gets an
access token from oidc-provider with private_key_jwt and the client_id the module returned, and a
Location of the same httpd protected by mod_auth_openidc (introspecting at oidc-provider) serves
it. Then RFC 7592, re-registration, expiry, and every failure path: no orphan on either side."""

import itertools
import json
import os
import shutil
import sqlite3
import sys
import time

import pytest

from dcr_httpd import Vhost
from resource_server import MODULES as RS_MODULES, OIDC_SO, ResourceServer
from services import child_writable_dir
from workload import Workload

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "interop"))
from svid import TrustDomain  # noqa: E402

pytestmark = pytest.mark.skipif(not os.path.exists(OIDC_SO),
                                reason="mod_auth_openidc not installed")

TD = "example.org"
SQL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sql")


class Gateway:
    """The httpd: the module's endpoint forwarding to oidc-provider, and /api (the resource)."""

    def __init__(self, httpd_factory, as_, tmp, lines=(), rs=True, pre_sql=(), pg=None):
        self.as_ = as_
        self.dir = child_writable_dir("dcr-up-")
        self.db = os.path.join(self.dir, "clients.db")
        self.pg = pg  # (Postgres, database name): mod_dbd instead of the SQLite file
        if pre_sql:  # the schema as the module makes it, then the test's own statements
            con = sqlite3.connect(self.db)
            with open(os.path.join(SQL_DIR, "sqlite.sql")) as f:
                con.executescript(f.read())
            for q in pre_sql:
                con.execute(q)
            con.commit()
            con.close()
            os.chmod(self.db, 0o666)
        self.token_file = os.path.join(self.dir, "upstream.token")
        with open(self.token_file, "w") as f:
            f.write(as_.initial_access_token + "\n")
        os.chmod(self.token_file, 0o600)  # read by root at startup, never by a child
        self.td = TrustDomain(TD, os.path.join(tmp, "bundle.json"))
        self.rs = ResourceServer(as_) if rs else None
        store = ["DCRStore sqlite:%s" % self.db] if not pg else [
            "DBDriver pgsql", 'DBDParams "%s"' % pg[0].dbd_params(pg[1]), "DCRStore dbd"]
        conf = store + [self.td.directive(),
                "DCRUpstream rfc7591 %s" % as_.registration_endpoint,
                "DCRUpstreamToken file:%s" % self.token_file,
                "DCRFetchCAFile %s" % as_.ca_file] + list(lines)
        if self.rs:
            conf.append(self.rs.conf())
        self.vhost = Vhost(conf=conf)
        self.h = httpd_factory(vhosts=[self.vhost],
                               modules=(RS_MODULES if rs else []) + (["dbd"] if pg else []))

    def cleanup(self):
        self.h.stop()  # before its database goes: the sweep ticks every second
        shutil.rmtree(self.dir, ignore_errors=True)

    def svid(self, path="/ns/prod/agent", **claims):
        return self.td.svid(self.vhost.public_base + "/register", path=path, **claims)

    def register(self, workload=None, svid=None, **meta):
        body = {"grant_types": ["client_credentials"], "software_statement": svid or self.svid()}
        if workload:
            body["jwks"] = workload.jwks
        body.update(meta)
        return self.h.session().post(self.vhost.endpoint, json=body, timeout=30)

    def client_url(self, reg):
        return self.vhost.url + reg["registration_client_uri"][len(self.vhost.public_base):]

    def rows(self):
        q = "SELECT client_id, record, upstream_secret, expires_at FROM dcr_clients"
        if self.pg:  # psql prints NULL as an empty field
            return [tuple(v or None for v in row) for row in self.pg[0].psql(q, db=self.pg[1])]
        con = sqlite3.connect(self.db, timeout=10)
        try:
            return con.execute("SELECT client_id, record, upstream_secret, expires_at"
                               " FROM dcr_clients").fetchall()
        finally:
            con.close()


_dbs = itertools.count()


@pytest.fixture(params=["sqlite"])
def gateway(request, httpd_factory, oidc_as, tmp_path):
    """gateway(lines=(), rs=True, pre_sql=()) -> Gateway on the store of the parameter (tests
    that parametrize "gateway" indirectly with "pgsql" run on PostgreSQL through mod_dbd)."""
    os.chmod(tmp_path, 0o755)
    made = []
    pg = None
    if request.param == "pgsql":
        server = request.getfixturevalue("postgres")
        pg = (server, server.createdb("dcr_upstream_%d_%d" % (os.getpid(), next(_dbs))))

    def make(lines=(), rs=True, as_=None, pre_sql=()):
        g = Gateway(httpd_factory, as_ or oidc_as, str(tmp_path), lines, rs, pre_sql, pg)
        made.append(g)
        return g
    yield make
    for g in made:
        g.cleanup()


def bearer(token):
    return {"Authorization": "Bearer " + token}


@pytest.mark.parametrize("gateway", ["sqlite", "pgsql"], indirect=True)
def test_svid_in_access_token_out_resource_served(gateway, oidc_as):
    g = gateway()
    w = Workload()
    r = g.register(w, client_name="billing agent")
    assert r.status_code == 201, r.text
    reg = r.json()
    cid = reg["client_id"]

    # the client_id is the upstream's: oidc-provider holds the client, with the workload's key
    up = oidc_as.client(cid)
    assert up is not None, oidc_as.clients()
    assert up["token_endpoint_auth_method"] == "private_key_jwt"
    assert up["jwks"]["keys"][0]["x"] == w.jwks["keys"][0]["x"]
    assert reg["token_endpoint_auth_method"] == "private_key_jwt"
    assert "client_secret" not in reg
    # what was forwarded: the vetted metadata, behind the initial access token
    call = [c for c in oidc_as.registration_calls() if c["method"] == "POST"][-1]
    assert call["authorization"] == "Bearer " + oidc_as.initial_access_token
    assert "software_statement" not in call["body"] and "spiffe_id" not in call["body"]
    assert call["body"]["response_types"] == []
    # the management URI and token are the module's; the upstream's token never shows
    assert reg["registration_client_uri"].startswith(g.vhost.public_base + "/register/")
    assert r.headers["Location"] == reg["registration_client_uri"]
    (local_id, record, secret, _), = g.rows()
    assert local_id != cid and cid in record
    assert reg["registration_access_token"] not in secret
    upstream_rat = json.loads(secret)["registration_access_token"]
    assert upstream_rat not in r.text and upstream_rat not in record
    assert upstream_rat not in g.h.error_log_text()

    # an access token from the AS with the returned client_id, served by the resource server
    token = w.access_token(oidc_as, cid)
    s = g.h.session()
    api = g.vhost.url + g.rs.path
    assert s.get(api, timeout=10).status_code == 401
    got = s.get(api, headers=bearer(token), timeout=10)
    assert got.status_code == 200, got.text
    assert got.headers["X-Remote-User"] == cid

    # RFC 7592 through the module: read (local), update (forwarded, rotated token stored)
    url = g.client_url(reg)
    rd = s.get(url, headers=bearer(reg["registration_access_token"]), timeout=10)
    assert rd.status_code == 200 and rd.json()["client_id"] == cid
    for name in ("renamed once", "renamed twice"):  # twice: the rotated upstream token works
        body = dict(rd.json(), client_name=name)
        u = s.put(url, json=body, headers=bearer(reg["registration_access_token"]), timeout=30)
        assert u.status_code == 200, u.text
        assert oidc_as.client(cid)["client_name"] == name
        rd = u
    new_rat = json.loads(g.rows()[0][2])["registration_access_token"]
    assert new_rat != upstream_rat  # oidc-provider rotated it; the module kept the new one

    # delete: gone at the AS (no token any more) and here
    d = s.delete(url, headers=bearer(reg["registration_access_token"]), timeout=30)
    assert d.status_code == 204
    assert oidc_as.client(cid) is None
    assert g.rows() == []
    assert w.token_request(oidc_as.token_endpoint, cid, oidc_as.issuer,
                           oidc_as.ca_file).status_code == 401
    assert s.get(url, headers=bearer(reg["registration_access_token"]),
                 timeout=10).status_code == 401


def test_refusals_reach_no_upstream_and_store_nothing(gateway, oidc_as):
    g = gateway(rs=False)
    n = oidc_as.count()
    # a SPIFFE client registered with private_key_jwt must bring its keys
    r = g.register(None)
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata", r.text
    # an untrusted statement never reaches the upstream either
    other = TrustDomain(TD, os.path.join(g.dir, "other.json"))
    r = g.register(Workload(), svid=other.svid(g.vhost.public_base + "/register"))
    assert r.status_code == 400, r.text
    assert oidc_as.registration_calls() == [] and oidc_as.count() == n
    assert g.rows() == []

    # the upstream's own 400: its error code, nothing stored
    oidc_as.fail(mode="status", status=400, methods=["POST"], times=1,
                 body={"error": "invalid_redirect_uri", "error_description": "no such uri"})
    r = g.register(Workload())
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_redirect_uri"
    assert "no such uri" in r.json()["error_description"]
    # the upstream down: 503 with Retry-After, nothing stored
    oidc_as.down()
    try:
        r = g.register(Workload())
        assert r.status_code == 503 and r.json()["error"] == "temporarily_unavailable", r.text
        assert int(r.headers["Retry-After"]) > 0
    finally:
        oidc_as.up()
    assert g.rows() == [] and oidc_as.count() == n
    # a wrong initial access token (the upstream's 401) is the upstream being unusable: 503
    with open(g.token_file, "w") as f:
        f.write("not-the-token\n")
    g.h.graceful()
    r = g.register(Workload())
    assert r.status_code == 503, r.text
    assert g.rows() == [] and oidc_as.count() == n
    g.h.allow_errors("upstream registration: (fetch failed|HTTP 401)")


def test_local_write_failure_deletes_the_upstream_client(gateway, oidc_as):
    # the store takes reads but refuses every new row, as a full disk would
    g = gateway(rs=False, pre_sql=["CREATE TRIGGER no_insert BEFORE INSERT ON dcr_clients"
                                   " BEGIN SELECT RAISE(FAIL, 'disk full'); END"])
    n = oidc_as.count()
    r = g.register(Workload())
    assert r.status_code == 503, r.text
    calls = oidc_as.registration_calls()
    assert [c["method"] for c in calls] == ["POST", "DELETE"]
    assert calls[0]["status"] == 201 and calls[1]["status"] == 204
    assert oidc_as.count() == n  # created, then deleted again
    assert g.rows() == []
    g.h.allow_errors("disk full", "deleted again")


@pytest.mark.parametrize("gateway", ["sqlite", "pgsql"], indirect=True)
def test_upstream_delete_failing_then_recovering(gateway, oidc_as):
    g = gateway(lines=["DCRSweepInterval 1"], rs=False)
    r = g.register(Workload())
    assert r.status_code == 201, r.text
    reg = r.json()
    cid = reg["client_id"]
    oidc_as.fail(mode="status", status=500, methods=["DELETE"])
    s = g.h.session()
    d = s.delete(g.client_url(reg), headers=bearer(reg["registration_access_token"]), timeout=30)
    assert d.status_code == 204  # gone for its owner
    assert s.get(g.client_url(reg), headers=bearer(reg["registration_access_token"]),
                 timeout=10).status_code == 401
    # the record stays, expired, while the upstream keeps failing the delete
    time.sleep(2.5)
    assert oidc_as.client(cid) is not None
    assert len(g.rows()) == 1 and g.rows()[0][3] is not None
    oidc_as.heal()
    deadline = time.time() + 15
    while time.time() < deadline and (oidc_as.client(cid) is not None or g.rows()):
        time.sleep(0.5)
    assert oidc_as.client(cid) is None
    assert g.rows() == []
    g.h.allow_errors("upstream delete")


def test_expired_registration_is_deleted_upstream(gateway, oidc_as):
    g = gateway(lines=["DCRRegistrationLifetime 2", "DCRSweepInterval 1"], rs=False)
    r = g.register(Workload())
    assert r.status_code == 201, r.text
    cid = r.json()["client_id"]
    assert oidc_as.client(cid) is not None
    deadline = time.time() + 15
    while time.time() < deadline and (oidc_as.client(cid) is not None or g.rows()):
        time.sleep(0.5)
    assert oidc_as.client(cid) is None and g.rows() == []


def test_reregistration_updates_the_upstream_client_and_a_copy_gets_its_own(gateway, oidc_as):
    g = gateway(rs=False)
    w = Workload()
    first = g.svid(iat=int(time.time()) - 100)
    r1 = g.register(w, svid=first, client_name="v1")
    assert r1.status_code == 201, r1.text
    cid = r1.json()["client_id"]
    # a newer statement of the same workload rewrites the same upstream client
    r2 = g.register(w, svid=g.svid(iat=int(time.time()) - 50), client_name="v2")
    assert r2.status_code == 201, r2.text
    assert r2.json()["client_id"] == cid
    assert oidc_as.client(cid)["client_name"] == "v2"
    n = oidc_as.count()
    # a copy of the first statement with another key: a client of its own, the original intact
    thief = Workload("thief")
    r3 = g.register(thief, svid=first, client_name="stolen")
    assert r3.status_code == 201, r3.text
    assert r3.json()["client_id"] != cid
    assert oidc_as.client(cid)["client_name"] == "v2"
    assert oidc_as.client(cid)["jwks"]["keys"][0]["x"] == w.jwks["keys"][0]["x"]
    assert oidc_as.count() == n + 1


def test_upstream_needs_a_sql_store_and_a_readable_token(httpd_factory, oidc_as, tmp_path):
    def configtest(*lines):
        h = httpd_factory(vhosts=[Vhost(conf=["DCRRequireStatement Off"] + list(lines))],
                          start=False)
        return h.config_test()

    up = "DCRUpstream rfc7591 %s" % oidc_as.registration_endpoint
    p = configtest("DCRStore socache:shmcb", up)
    assert p.returncode != 0 and "needs a SQL store" in p.stderr, p.stderr
    empty = tmp_path / "empty.token"
    empty.write_text("\n")
    db = "DCRStore sqlite:%s" % (tmp_path / "c.db")
    p = configtest(db, up, "DCRUpstreamToken file:%s" % empty)
    assert p.returncode != 0 and "empty" in p.stderr, p.stderr
    p = configtest(db, "DCRUpstream rfc7591 http://as.example.com/reg")
    assert p.returncode != 0 and "https" in p.stderr, p.stderr
    p = configtest(db, up, "DCRUpstreamAuthMethod client_secret_basic")
    assert p.returncode != 0 and "never gets a secret" in p.stderr, p.stderr


def test_hostile_upstream_answers_are_not_followed(gateway, oidc_as):
    g = gateway(rs=False)
    # a management URI on another origin: the upstream token would go there; refused
    oidc_as.fail(mode="status", status=201, methods=["POST"], times=1,
                 body={"client_id": "evil-1", "registration_access_token": "t",
                       "registration_client_uri": "https://169.254.169.254/latest/x"})
    r = g.register(Workload())
    assert r.status_code == 503, r.text
    assert "t" not in r.json() and "evil-1" not in r.text
    # a redirect is not followed with the initial access token
    oidc_as.fail(mode="status", status=307, methods=["POST"], times=1, body={})
    r = g.register(Workload())
    assert r.status_code == 503, r.text
    assert g.rows() == []
    assert [c["method"] for c in oidc_as.registration_calls()] == ["POST", "POST"]
    g.h.allow_errors("upstream registration")
