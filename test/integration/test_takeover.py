"""Issue 10: registrations that cannot be taken over, on every kind of store (SQLite, PostgreSQL
through mod_dbd, shmcb). A copy of a statement registers a client of its own and never rewrites
the one it came from; RFC 7592 management stays on the endpoint that registered the client;
read and update answers carry the registration access token; an update never brings a retired
token back. Subjects come from real JWT-SVIDs (test_spiffe.TrustDomain)."""

import itertools
import json
import os
import shutil
import sqlite3
import time

import pytest

from dcr_httpd import Vhost
from services import child_writable_dir
from test_spiffe import TrustDomain

SUB = "spiffe://example.org/ns/prod/billing"
_dbs = itertools.count()


@pytest.fixture
def domain(tmp_path):
    os.chmod(tmp_path, 0o755)
    return TrustDomain("example.org", str(tmp_path / "bundle.json"), kinds=(("ec1", "EC"),))


class Store(tuple):
    """(main-server lines, per-vhost lines, modules), and a way to run SQL on a SQL store."""
    sql = None


@pytest.fixture(params=["sqlite", "pgsql", "shmcb"])
def store(request):
    """Every vhost shares one store."""
    if request.param == "sqlite":
        d = child_writable_dir()
        request.addfinalizer(lambda: shutil.rmtree(d, ignore_errors=True))
        path = os.path.join(d, "clients.db")
        st = Store((["DCRStore sqlite:%s" % path], [], []))

        def run(q, args=()):
            con = sqlite3.connect(path, timeout=10)
            try:
                rows = con.execute(q, args).fetchall()
                con.commit()
                return rows
            finally:
                con.close()
        st.sql = run
        return st
    if request.param == "shmcb":
        return Store((["DCRStore socache:shmcb"], [], []))
    pg = request.getfixturevalue("postgres")
    db = pg.createdb("dcr_takeover_%d_%d" % (os.getpid(), next(_dbs)))
    st = Store(([], ["DBDriver pgsql", 'DBDParams "%s"' % pg.dbd_params(db), "DCRStore dbd"],
                ["dbd"]))

    def run_pg(q, args=()):
        for a in args:  # test values only: no quotes inside
            q = q.replace("?", "'%s'" % a, 1)
        return pg.psql(q, db=db)
    st.sql = run_pg
    return st


def start(httpd_factory, domain, store, *lines, names=("as.example.test",)):
    main, per_vhost, mods = store
    conf = per_vhost + ["DCRTrustDomain example.org %s" % domain.path] + list(lines)
    return httpd_factory(vhosts=[Vhost(name=n, conf=conf) for n in names],
                         server_conf="\n".join(main), modules=mods)


def post(h, v, svid, **meta):
    body = dict({"grant_types": ["client_credentials"]}, software_statement=svid, **meta)
    return h.session().post(v.url + "/register", json=body, timeout=30)


def uri(v, reg):
    return v.url + reg["registration_client_uri"][len(v.public_base):]


def auth(token):
    return {"Authorization": "Bearer " + token}


def jwks(kid):
    return {"keys": [{"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
                      "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                      "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}


@pytest.mark.parametrize("policy", ["replace", "reuse"])
def test_a_copied_statement_never_takes_a_registration_over(httpd_factory, domain, store,
                                                            policy):
    h = start(httpd_factory, domain, store, "DCRReregister %s" % policy)
    v = h.vhost
    svid = domain.svid(v.public_base + "/register", sub=SUB)
    owner = post(h, v, svid, client_name="owner", jwks=jwks("owner"))
    assert owner.status_code == 201, owner.text
    owner = owner.json()
    # the replayer posts the very same statement with keys of its own (a second later, so the
    # owner's registration is the oldest: of several that qualify, the oldest is rewritten)
    time.sleep(1.1)
    thief = post(h, v, svid, client_name="thief", jwks=jwks("thief"))
    assert thief.status_code == 201, thief.text
    thief = thief.json()
    assert thief["client_id"] != owner["client_id"]
    assert thief["registration_access_token"] != owner["registration_access_token"]
    assert "client_secret" not in thief
    # the owner's registration is exactly as it was, and its token still works
    r = h.session().get(uri(v, owner), headers=auth(owner["registration_access_token"]))
    assert r.status_code == 200, r.text
    assert r.json()["client_name"] == "owner"
    assert r.json()["jwks"] == jwks("owner")
    # the thief's token manages only the thief's own client
    r = h.session().get(uri(v, owner), headers=auth(thief["registration_access_token"]))
    assert r.status_code == 401
    # a fresh statement (issued later) from the workload does rewrite its registration
    again = post(h, v, domain.svid(v.public_base + "/register", sub=SUB), client_name="owner 2",
                 jwks=jwks("owner"))
    assert again.status_code == 201, again.text
    assert again.json()["client_id"] == owner["client_id"]
    # and the thief's copy stays a copy: its own client_id again, or a new one, never the owner's
    once_more = post(h, v, svid, client_name="thief")
    assert once_more.status_code == 201 and once_more.json()["client_id"] != owner["client_id"]


def test_management_stays_on_the_endpoint_that_registered_the_client(httpd_factory, domain,
                                                                    store):
    h = start(httpd_factory, domain, store, names=("a.example.test", "b.example.test"))
    a, b = h.vhosts
    reg = post(h, a, domain.svid(a.public_base + "/register", sub=SUB), client_name="at A")
    assert reg.status_code == 201, reg.text
    reg = reg.json()
    token = auth(reg["registration_access_token"])
    at_b = b.url + "/register/" + reg["client_id"]
    s = h.session()
    for r in (s.get(at_b, headers=token),
              s.put(at_b, headers=token, json={"client_id": reg["client_id"],
                                               "grant_types": ["client_credentials"],
                                               "client_name": "via B"}),
              s.delete(at_b, headers=token)):
        assert r.status_code == 401, r.text
        assert r.json()["error"] == "invalid_token"
        assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    got = s.get(uri(a, reg), headers=token)
    assert got.status_code == 200 and got.json()["client_name"] == "at A"
    # a re-registration at B (a statement for B's audience) is B's own client
    other = post(h, b, domain.svid(b.public_base + "/register", sub=SUB), client_name="at B")
    assert other.status_code == 201 and other.json()["client_id"] != reg["client_id"]
    assert s.get(uri(a, reg), headers=token).json()["client_name"] == "at A"


@pytest.mark.parametrize("rotate", [False, True])
def test_read_and_update_answers_carry_the_token(httpd_factory, domain, store, rotate):
    h = start(httpd_factory, domain, store, "DCRRotateTokenOnUpdate %s" % ("On" if rotate
                                                                          else "Off"))
    v = h.vhost
    reg = post(h, v, domain.svid(v.public_base + "/register", sub=SUB)).json()
    old = reg["registration_access_token"]
    s = h.session()
    r = s.get(uri(v, reg), headers=auth(old))
    assert r.status_code == 200 and r.json()["registration_access_token"] == old
    body = {k: r.json()[k] for k in ("client_id", "grant_types", "software_statement")}
    u = s.put(uri(v, reg), headers=auth(old), json=dict(body, client_name="renamed"))
    assert u.status_code == 200, u.text
    new = u.json()["registration_access_token"]
    assert (new != old) if rotate else (new == old)
    assert s.get(uri(v, reg), headers=auth(new)).json()["client_name"] == "renamed"
    if rotate:  # the retired token can neither read nor write
        assert s.get(uri(v, reg), headers=auth(old)).status_code == 401
        late = s.put(uri(v, reg), headers=auth(old), json=dict(body, client_name="late"))
        assert late.status_code == 401
        assert s.get(uri(v, reg), headers=auth(new)).json()["client_name"] == "renamed"


def test_version1_records_are_read_bound_to_their_first_endpoint_and_written_as_version2(
        httpd_factory, domain, store):
    """Records written by the previous release (version 1: no endpoint, no statement hash)."""
    if store.sql is None:
        pytest.skip("shmcb is wiped by every restart: it never holds an older release's records")
    h = start(httpd_factory, domain, store, names=("a.example.test", "b.example.test"))
    a, b = h.vhosts
    regs = [post(h, a, domain.svid(a.public_base + "/register", sub=SUB)).json()
            for _ in range(2)]  # two clients: the second rewrites the first (replace)
    assert regs[0]["client_id"] == regs[1]["client_id"]
    reg = regs[1]
    record = json.loads(store.sql("SELECT record FROM dcr_clients WHERE client_id = ?",
                                  (reg["client_id"],))[0][0])
    assert record["version"] == 2 and record["endpoint"] == a.public_base + "/register"
    for k in ("endpoint", "statement_sha256", "statement_iat"):
        del record[k]
    record["version"] = 1
    v1 = json.dumps(record, separators=(",", ":"))
    assert "'" not in v1
    store.sql("UPDATE dcr_clients SET record = ? WHERE client_id = ?", (v1, reg["client_id"]))
    token = auth(reg["registration_access_token"])
    s = h.session()
    # a fresh statement does not rewrite a version 1 record: nothing to compare it with
    fresh = post(h, a, domain.svid(a.public_base + "/register", sub=SUB)).json()
    assert fresh["client_id"] != reg["client_id"]
    # readable, and the first endpoint to read it (B here) binds it and writes version 2
    r = s.get(b.url + "/register/" + reg["client_id"], headers=token)
    assert r.status_code == 200, r.text
    record = json.loads(store.sql("SELECT record FROM dcr_clients WHERE client_id = ?",
                                  (reg["client_id"],))[0][0])
    assert record["version"] == 2 and record["endpoint"] == b.public_base + "/register"
    assert s.get(uri(a, reg), headers=token).status_code == 401
    # deletable where it is bound
    assert s.delete(b.url + "/register/" + reg["client_id"], headers=token).status_code == 204
