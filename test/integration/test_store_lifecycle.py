"""Lifecycle on the SQL stores, each test on SQLite (one httpd, several children) and on
PostgreSQL (two httpd nodes on one database): DCRReregister new/replace/reuse, the ceilings,
registration lifetime; and the same rules exact under concurrency, which the subject lock
(store.h lock_subject: SQLite writer mutex, PostgreSQL advisory lock) guarantees, and on
PostgreSQL that lock as the database sees it. Subjects come from real JWT-SVIDs
(test_spiffe.TrustDomain)."""

import itertools
import json
import os
import shutil
import threading
import time

import pytest

from dcr_httpd import Vhost
from services import child_writable_dir
from store_util import NODES_URL, sqlite_rows
from test_spiffe import TrustDomain

META = {"grant_types": ["client_credentials"], "client_name": "workload"}
SUB = "spiffe://example.org/ns/prod/billing"
CONCURRENT = 80
# More workers than client threads, so that no request waits for a worker.
ROOMY = "ServerLimit 4\nStartServers 4\nMaxRequestWorkers 32\nMinSpareThreads 8\nMaxSpareThreads 32"
_dbs = itertools.count()


@pytest.fixture
def domain(tmp_path):
    os.chmod(tmp_path, 0o755)
    return TrustDomain("example.org", str(tmp_path / "bundle.json"), kinds=(("ec1", "EC"),))


class Backend:
    """Starts the nodes of one store kind and counts its rows."""

    def __init__(self, kind, httpd_factory, domain, request):
        self.kind, self.factory, self.domain = kind, httpd_factory, domain
        if kind == "sqlite":
            self.dir = child_writable_dir()
            request.addfinalizer(lambda: shutil.rmtree(self.dir, ignore_errors=True))
            self.db = os.path.join(self.dir, "clients.db")
        else:
            self.pg = request.getfixturevalue("postgres")
            self.db = self.pg.createdb("dcr_lc_%d_%d" % (os.getpid(), next(_dbs)))

    def store_lines(self):
        if self.kind == "sqlite":
            return ["DCRStore sqlite:%s" % self.db]
        return ["DBDriver pgsql", 'DBDParams "%s"' % self.pg.dbd_params(self.db), "DBDMax 8",
                "DCRStore dbd"]

    def nodes(self, *lines):
        """One node on SQLite (a local file), two on PostgreSQL."""
        conf = self.store_lines() + ["DCRTrustDomain example.org %s" % self.domain.path]
        mods = [] if self.kind == "sqlite" else ["dbd"]
        n = 1 if self.kind == "sqlite" else 2
        # the nodes share one public endpoint URL, as nodes behind one name do
        return [self.factory(vhosts=[Vhost(conf=conf + list(lines), public_url=NODES_URL)],
                             modules=mods, server_conf=ROOMY) for _ in range(n)]

    def rows(self, sub=None):
        where = " WHERE subject_key LIKE '%%%s'" % sub if sub else ""
        sql = "SELECT COUNT(*) FROM dcr_clients" + where
        if self.kind == "sqlite":
            return sqlite_rows(self.db, sql)[0][0]
        return int(self.pg.psql(sql, db=self.db)[0][0])

    def assert_record_matches_row(self, client_id):
        """The record names the row it is stored in: client_id and issue time agree with the
        columns (replace rewrites a registration under its own id)."""
        sql = "SELECT record, issued_at FROM dcr_clients WHERE client_id = '%s'" % client_id
        rows = sqlite_rows(self.db, sql) if self.kind == "sqlite" else self.pg.psql(sql, db=self.db)
        assert len(rows) == 1
        record = json.loads(rows[0][0])
        assert record["client_id"] == client_id
        assert record["client_id_issued_at"] == int(rows[0][1])
        return record

    def assert_no_lock_left(self):
        """PostgreSQL: once the answers are in, no subject lock is held by any session, neither
        after a write (it took the lock over and ended it) nor after a refusal (no write)."""
        if self.kind == "pgsql":
            sql = ("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                   "(SELECT oid FROM pg_database WHERE datname = current_database())")
            assert int(self.pg.psql(sql, db=self.db)[0][0]) == 0


@pytest.fixture(params=["sqlite", "pgsql"])
def backend(request, httpd_factory, domain):
    return Backend(request.param, httpd_factory, domain, request)


def register(h, domain, sub=SUB, session=None, **meta):
    svid = domain.svid(h.vhost.public_base + "/register", sub=sub)
    s = session or h.session()
    return s.post(h.endpoint, json=dict(META, software_statement=svid, **meta), timeout=60)


def read(h, reg, token=None):
    return h.session().get(h.endpoint + "/" + reg["client_id"], timeout=30, headers={
        "Authorization": "Bearer " + (token or reg["registration_access_token"])})


def delete(h, reg):
    return h.session().delete(h.endpoint + "/" + reg["client_id"], timeout=30, headers={
        "Authorization": "Bearer " + reg["registration_access_token"]})


def concurrently(nodes, domain, n, sub_of=lambda i: SUB, workers=16):
    """n registrations spread over the nodes from `workers` threads, each with its own
    connections, in rounds that start together at a barrier (SVIDs minted beforehand), so the
    requests overlap as much as the server lets them. The responses, in order."""
    svids = [domain.svid(nodes[i % len(nodes)].vhost.public_base + "/register", sub=sub_of(i))
             for i in range(n)]
    out = [None] * n
    start = threading.Barrier(workers)

    def worker(k):
        for r in range(-(-n // workers)):
            i = k + r * workers
            h = nodes[i % len(nodes)]
            # A fresh connection per request: a keep-alive connection the server closes as the
            # next POST goes out fails without an answer, and clients rightly never retry POSTs.
            with h.session() as s:
                start.wait(timeout=60)  # every round starts together
                if i >= n:
                    continue
                try:
                    out[i] = s.post(h.endpoint, json=dict(META, software_statement=svids[i]),
                                    headers={"Connection": "close"}, timeout=60)
                except Exception as e:  # reported by the assertions below
                    out[i] = e

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bad = [r for r in out if not hasattr(r, "status_code")]
    assert not bad, bad[:3]
    return out


def assert_ceiling_refusal(r):
    assert r.status_code == 429, (r.status_code, r.text)
    assert r.json()["error"] == "too_many_requests"
    assert int(r.headers["Retry-After"]) > 0


# ---- re-registration, one request at a time ------------------------------------------------

def test_reregister_new_makes_another_client(backend, domain):
    a, *rest = backend.nodes("DCRReregister new")
    b = rest[0] if rest else a
    first, second = register(a, domain).json(), register(b, domain).json()
    assert first["client_id"] != second["client_id"]
    assert read(b, first).status_code == 200 and read(a, second).status_code == 200
    assert backend.rows(SUB) == 2


@pytest.mark.parametrize("policy", ["replace", "reuse"])
def test_reregister_keeps_the_client_and_rotates_the_token(backend, domain, policy):
    a, *rest = backend.nodes("DCRReregister %s" % policy)
    b = rest[0] if rest else a
    first = register(a, domain, client_name="first").json()
    r = register(b, domain, client_name="second")
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["client_id"] == first["client_id"]
    assert second["client_id_issued_at"] == first["client_id_issued_at"]
    assert second["registration_access_token"] != first["registration_access_token"]
    record = backend.assert_record_matches_row(first["client_id"])
    assert record["client_id_issued_at"] == first["client_id_issued_at"]
    assert record["metadata"]["client_name"] == ("second" if policy == "replace" else "first")
    now = read(a, second)
    assert now.status_code == 200
    # replace takes the new metadata; reuse returns the registration as it was
    assert now.json()["client_name"] == ("second" if policy == "replace" else "first")
    old = read(a, first)
    assert old.status_code == 401 and old.json()["error"] == "invalid_token"
    assert backend.rows(SUB) == 1
    # another workload is another client
    other = register(b, domain, sub="spiffe://example.org/ns/prod/other").json()
    assert other["client_id"] != first["client_id"]
    assert backend.rows() == 2


def test_replace_matches_the_software_id(backend, domain):
    """One workload with several pieces of software: replace rewrites the registration of the
    same software_id (none counts as one), never another one."""
    a, *rest = backend.nodes()  # DCRReregister replace (the default)
    b = rest[0] if rest else a
    ids = {sw: register(a, domain, **({"software_id": sw} if sw else {})).json()["client_id"]
           for sw in ("x", "y", None)}
    assert len(set(ids.values())) == 3 and backend.rows(SUB) == 3
    for sw in ("y", None, "x"):
        r = register(b, domain, client_name="again", **({"software_id": sw} if sw else {}))
        assert r.status_code == 201, r.text
        assert r.json()["client_id"] == ids[sw]
        assert r.json().get("software_id") == sw
        assert backend.assert_record_matches_row(ids[sw])["metadata"]["client_name"] == "again"
    assert backend.rows(SUB) == 3


def test_per_subject_ceiling(backend, domain):
    a, *rest = backend.nodes("DCRReregister new", "DCRMaxRegistrationsPerSubject 2")
    b = rest[0] if rest else a
    regs = [register(a, domain), register(b, domain)]
    assert all(r.status_code == 201 for r in regs), [r.text for r in regs]
    assert_ceiling_refusal(register(a, domain))
    assert register(b, domain, sub="spiffe://example.org/ns/prod/other").status_code == 201
    assert delete(b, regs[0].json()).status_code == 204  # a place frees up
    assert register(a, domain).status_code == 201
    assert_ceiling_refusal(register(b, domain))
    assert backend.rows(SUB) == 2


def test_expired_registrations_are_not_served_and_swept(backend, domain):
    a, *rest = backend.nodes("DCRRegistrationLifetime 2", "DCRSweepInterval 1")
    b = rest[0] if rest else a
    reg = register(a, domain).json()
    assert reg["client_id"]
    assert read(b, reg).status_code == 200
    assert backend.rows() == 1
    time.sleep(2.5)
    r = read(b, reg)
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    deadline = time.time() + 15
    while backend.rows() and time.time() < deadline:
        time.sleep(0.5)
    assert backend.rows() == 0
    # the subject registers afresh, as a new client
    again = register(b, domain).json()
    assert again["client_id"] != reg["client_id"]
    assert read(a, again).status_code == 200


# ---- the same rules under concurrency -----------------------------------------------------

@pytest.mark.parametrize("policy", ["replace", "reuse"])
def test_concurrent_returning_subject_never_moves_back(backend, domain, policy):
    """Fresh SVIDs of one subject (each issued later than the one before) racing: one that
    lands after a later one was stored registers a client of its own (issue 10), so there may
    be several clients, within the ceiling; but no client ever goes back to an older
    statement, and of each client exactly the token of its newest statement works."""
    nodes = backend.nodes("DCRReregister %s" % policy, "DCRMaxRegistrationsPerSubject 0")
    rs = concurrently(nodes, domain, CONCURRENT)
    assert all(r.status_code == 201 for r in rs), [(r.status_code, r.text) for r in rs
                                                    if r.status_code != 201][:3]
    by_client = {}
    for i, r in enumerate(rs):  # the i-th SVID was issued i seconds after the first
        by_client.setdefault(r.json()["client_id"], []).append((i, r.json()))
    assert backend.rows(SUB) == len(by_client)
    assert len(by_client) < CONCURRENT  # returning subjects were rewritten, not all new
    for regs in by_client.values():
        live = [i for i, reg in regs if read(nodes[-1], reg).status_code == 200]
        assert live == [max(i for i, _ in regs)], (live, [i for i, _ in regs])
    backend.assert_no_lock_left()


def test_concurrent_per_subject_ceiling_is_exact(backend, domain):
    nodes = backend.nodes("DCRReregister new", "DCRMaxRegistrationsPerSubject 2")
    rs = concurrently(nodes, domain, CONCURRENT)
    ok = [r for r in rs if r.status_code == 201]
    assert len(ok) == 2, [r.status_code for r in rs]
    for r in rs:
        if r.status_code != 201:
            assert_ceiling_refusal(r)
    assert backend.rows(SUB) == 2
    backend.assert_no_lock_left()


def test_global_ceiling_is_exact_under_concurrency(backend, domain):
    nodes = backend.nodes("DCRMaxRegistrations 5")
    rs = concurrently(nodes, domain, 40, sub_of=lambda i: "spiffe://example.org/w/%d" % i)
    ok = [r for r in rs if r.status_code == 201]
    assert len(ok) == 5, [r.status_code for r in rs]
    for r in rs:
        if r.status_code != 201:
            assert_ceiling_refusal(r)
    assert backend.rows() == 5
    # a returning subject is not a new registration: replace still works at the ceiling
    back = register(nodes[0], domain, sub="spiffe://example.org/w/%d" % rs.index(ok[0]))
    assert back.status_code == 201 and back.json()["client_id"] == ok[0].json()["client_id"]
    assert backend.rows() == 5
    # a deleted registration frees a place
    assert delete(nodes[-1], back.json()).status_code == 204
    assert register(nodes[-1], domain, sub="spiffe://example.org/new").status_code == 201
    assert_ceiling_refusal(register(nodes[0], domain, sub="spiffe://example.org/newer"))
    assert backend.rows() == 5
    backend.assert_no_lock_left()


# ---- PostgreSQL: the advisory lock is the database's ---------------------------------------

def advisory_key(subject_key):
    """store_sql.c dcr_sql_lock_key: 64-bit FNV-1a of the subject key, as a signed bigint."""
    h = 14695981039346656037
    for b in subject_key.encode():
        h = ((h ^ b) * 1099511628211) % (1 << 64)
    return h - (1 << 64) if h >= 1 << 63 else h


def hold_lock(postgres, db, sub, seconds):
    """Another session takes a subject's lock and ends, after `seconds`, without unlocking."""
    t = threading.Thread(target=postgres.psql, kwargs=dict(
        db=db, sql="SELECT pg_advisory_lock(%d); SELECT pg_sleep(%d)" % (
            advisory_key("spiffe " + sub), seconds)))
    t.start()
    time.sleep(0.5)
    return t


NEWCOMER = "spiffe://example.org/ns/prod/newcomer"


def test_pgsql_subject_lock_is_an_advisory_lock_that_dies_with_its_session(
        httpd_factory, domain, postgres, request):
    """The lock orders the first registration of a subject (two must not both insert); a
    returning subject is rewritten without it."""
    be = Backend("pgsql", httpd_factory, domain, request)
    db = be.db
    h, _ = be.nodes()  # DCRReregister replace (the default)
    register(h, domain)  # the schema exists and SUB has its client
    hold = hold_lock(postgres, db, NEWCOMER, 3)
    t0 = time.time()
    r = register(h, domain, sub=NEWCOMER)
    waited = time.time() - t0
    hold.join()
    assert r.status_code == 201, r.text
    assert waited >= 1.5, waited  # it waited for the other session ...
    assert waited < 8, waited  # ... and got the lock when that session ended
    # a returning subject does not wait, not even for its own lock
    hold = hold_lock(postgres, db, SUB, 3)
    t0 = time.time()
    again = register(h, domain)
    assert again.status_code == 201 and time.time() - t0 < 1.5
    hold.join()
    assert be.rows(SUB) == 1 and be.rows(NEWCOMER) == 1
    # no lock is left behind on the server once the requests are done
    be.assert_no_lock_left()


def test_pgsql_subject_lock_wait_is_bounded(httpd_factory, domain, postgres, request):
    """A subject lock that stays taken (another session holds it) is a 503 with Retry-After
    after the 10 s lock_timeout (DCR_SQL_LOCK_TIMEOUT_MS), not a request that hangs."""
    be = Backend("pgsql", httpd_factory, domain, request)
    h, _ = be.nodes()
    h.allow_errors(r"canceling statement due to lock timeout")
    register(h, domain)
    hold = hold_lock(postgres, be.db, NEWCOMER, 13)
    t0 = time.time()
    r = register(h, domain, sub=NEWCOMER)
    waited = time.time() - t0
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "temporarily_unavailable"
    assert int(r.headers["Retry-After"]) > 0
    assert 9 <= waited < 13, waited
    hold.join()
    assert register(h, domain, sub=NEWCOMER).status_code == 201  # free once that session ended
    assert be.rows(NEWCOMER) == 1
    be.assert_no_lock_left()
