"""DCRStore dbd against a real PostgreSQL (a private cluster started by the fixture) with two
httpd nodes: what one node registers, the other serves; concurrent registrations on both nodes
are all distinct and readable; registrations survive restarts; the schema options and a
database outage behave as docs/storage.md says."""

import itertools
import os
import threading
import time

import pytest

from store_util import (JWKS_URI, assert_other_node_updates_and_deletes, assert_readable, read,
                        register, register_many, token_hash, vhost)

SQL_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "sql")
_dbs = itertools.count()


@pytest.fixture
def database(postgres):
    return postgres.createdb("dcr_%d_%d" % (os.getpid(), next(_dbs)))


def dbd_lines(pg, db, extra=()):
    return ["DBDriver pgsql", 'DBDParams "%s"' % pg.dbd_params(db), "DBDMax 8",
            "DCRStore dbd"] + list(extra)


def node(httpd_factory, pg, db, extra=(), start=True, name="as.example.test"):
    return httpd_factory(vhosts=[vhost(dbd_lines(pg, db, extra), name=name)], modules=["dbd"], 
                         start=start)


def count(pg, db):
    return int(pg.psql("SELECT COUNT(*) FROM dcr_clients", db=db)[0][0])


def test_node_b_serves_what_node_a_registered(httpd_factory, postgres, database):
    a = node(httpd_factory, postgres, database)
    b = node(httpd_factory, postgres, database)
    c = register(a, name="from-a")
    r = read(b, c)
    assert r.status_code == 200, r.text
    assert r.json()["client_id"] == c.id
    assert r.json()["client_name"] == "from-a"
    assert read(b, c, token="wrong-" + c.token).status_code == 401
    # the row is the documented public interface
    (rec_id, rat, subject), = postgres.psql(
        "SELECT client_id, rat_hash, COALESCE(subject_key, '-') FROM dcr_clients", db=database)
    assert rec_id == c.id and rat == token_hash(c.token) and subject == "-"


def test_node_b_updates_and_deletes_what_node_a_registered(httpd_factory, postgres, database):
    a = node(httpd_factory, postgres, database)
    b = node(httpd_factory, postgres, database)
    c = register(a, name="from-a")
    assert_other_node_updates_and_deletes(a, b, c)
    assert count(postgres, database) == 0


def test_concurrent_registrations_on_both_nodes(httpd_factory, postgres, database):
    a = node(httpd_factory, postgres, database)
    b = node(httpd_factory, postgres, database)
    clients = register_many([a, b], 300, workers=8)
    assert len({c.id for c in clients}) == 300
    assert count(postgres, database) == 300
    # every one readable on the node that did not register it
    assert_readable(b, clients[0::2])
    assert_readable(a, clients[1::2])


def test_registrations_survive_restarts(httpd_factory, postgres, database):
    a = node(httpd_factory, postgres, database)
    clients = [register(a, name="r%d" % i) for i in range(5)]
    a.graceful()
    assert_readable(a, clients)
    a.restart()
    assert_readable(a, clients)
    a.stop()
    a.start()
    assert_readable(a, clients)


def test_schema_created_at_start_and_matches_the_file(httpd_factory, postgres, database):
    node(httpd_factory, postgres, database)
    cols = postgres.psql("SELECT column_name, data_type FROM information_schema.columns "
                         "WHERE table_name = 'dcr_clients' ORDER BY ordinal_position",
                         db=database)
    assert cols == [["client_id", "character varying"], ["record", "text"],
                    ["issued_at", "bigint"], ["expires_at", "bigint"],
                    ["subject_key", "text"], ["rat_hash", "character"],
                    ["upstream_secret", "text"]]
    idx = {r[0] for r in postgres.psql("SELECT indexname FROM pg_indexes WHERE tablename = "
                                       "'dcr_clients'", db=database)}
    assert {"dcr_clients_subject", "dcr_clients_expires"} <= idx
    assert postgres.psql("SELECT version FROM dcr_schema", db=database) == [["3"]]
    # the shipped file is idempotent on top of what the module created
    postgres.psql_file(os.path.join(SQL_DIR, "pgsql.sql"), database)
    assert postgres.psql("SELECT COUNT(*) FROM dcr_schema", db=database) == [["1"]]


def test_nodes_starting_together_create_the_schema_in_turn(httpd_factory, postgres, database):
    """PostgreSQL refuses DDL racing on its catalogs (two CREATE OR REPLACE FUNCTION at once:
    "tuple concurrently updated"); nodes started at the same moment on a new database must all
    come up, with one schema."""
    nodes = [node(httpd_factory, postgres, database, start=False) for _ in range(4)]
    failures = []

    def start(h):
        try:
            h.start()
        except Exception as e:  # noqa: BLE001 - reported below
            failures.append(e)

    threads = [threading.Thread(target=start, args=(h,)) for h in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    assert postgres.psql("SELECT COUNT(*) FROM dcr_schema", db=database) == [["1"]]
    assert postgres.psql("SELECT COUNT(*) FROM pg_proc WHERE proname = 'dcr_lock_find'",
                         db=database) == [["1"]]
    clients = [register(h, name="node %d" % i) for i, h in enumerate(nodes)]
    assert_readable(nodes[0], clients)


def test_create_schema_off_leaves_the_database_alone(httpd_factory, postgres, database):
    h = node(httpd_factory, postgres, database, extra=["DCRDBDCreateSchema Off"])
    assert postgres.psql("SELECT to_regclass('dcr_clients') IS NULL", db=database) == [["t"]]
    h.allow_errors(r"dcr_clients", r"temporarily_unavailable|store")
    r = h.session().post(h.endpoint, json={"client_name": "x",
                                          "grant_types": ["client_credentials"], "jwks_uri": JWKS_URI}, timeout=30)
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "temporarily_unavailable"
    # the operator runs the shipped schema; the same server then works without a restart
    postgres.psql_file(os.path.join(SQL_DIR, "pgsql.sql"), database)
    c = register(h)
    assert_readable(h, [c])


def test_newer_schema_version_stops_the_start(httpd_factory, postgres, database):
    postgres.psql_file(os.path.join(SQL_DIR, "pgsql.sql"), database)
    postgres.psql("UPDATE dcr_schema SET version = 4", db=database)
    h = node(httpd_factory, postgres, database, start=False)
    h.allow_errors(r"schema version 4", r"AH00016")
    proc = h.start(expect_fail=True)
    assert "schema version 4" in proc.stderr + h.error_log_text()


def test_dbd_store_needs_mod_dbd(httpd_factory):
    h = httpd_factory(vhosts=[vhost(["DCRStore dbd"])], start=False)
    h.allow_errors(r"needs mod_dbd", r"AH00016")
    proc = h.start(expect_fail=True)
    assert "needs mod_dbd" in proc.stderr + h.error_log_text()


def test_create_schema_option_placement(httpd_factory):
    h = httpd_factory(vhosts=[vhost(["DCRDBDCreateSchema Off", "DCRStore dbd"])],
                      modules=["dbd"], start=False)
    p = h.config_test()
    assert p.returncode != 0
    assert "put it after DCRStore dbd" in p.stderr


def test_database_down_is_503_and_recovers(httpd_factory, postgres, database):
    a = node(httpd_factory, postgres, database)
    before = register(a, name="before-outage")
    a.allow_errors(r"DBD|dbd|store|connect|terminat|server closed|pgsql|Failed to acquire")
    postgres.stop()
    try:
        s = a.session()
        r = s.post(a.endpoint, json={"client_name": "during",
                                        "grant_types": ["client_credentials"], "jwks_uri": JWKS_URI}, timeout=30)
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "temporarily_unavailable"
        assert "Retry-After" in r.headers
    finally:
        postgres.start()
    # recovery without touching httpd, and no request pays for the dead pooled connections
    # (the store retries once on a fresh one); nothing that got a 201 is missing
    assert_readable(a, [before])
    after = register(a, name="after-outage")
    assert_readable(a, [before, after])
    assert count(postgres, database) == 2


def test_sweep_deletes_expired_registrations(httpd_factory, postgres, database):
    """The mod_watchdog sweep works over mod_dbd too (no request: its own connection)."""
    a = node(httpd_factory, postgres, database,
             extra=["DCRSweepInterval 1", "DCRRegistrationLifetime 2"])
    clients = [register(a, name="short-%d" % i) for i in range(4)]
    assert count(postgres, database) == 4
    postgres.psql("INSERT INTO dcr_clients SELECT 'forever', record, issued_at, NULL, NULL, "
                  "rat_hash FROM dcr_clients LIMIT 1", db=database)
    deadline = time.time() + 15
    while time.time() < deadline and count(postgres, database) > 1:
        time.sleep(0.3)
    assert postgres.psql("SELECT client_id FROM dcr_clients", db=database) == [["forever"]]
    for c in clients:
        assert read(a, c).status_code == 401


def test_database_down_at_start_schema_comes_later(httpd_factory, postgres, database):
    """httpd starts while the database is down (a warning, not a refusal), answers 503, and
    once the database is up the children create the schema themselves and serve."""
    h = node(httpd_factory, postgres, database, start=False)
    h.allow_errors(r"cannot reach the database", r"DBD|dbd|connect|Failed to acquire|store")
    postgres.stop()
    try:
        h.start()
        r = h.session().post(h.endpoint, json={"client_name": "x",
                                                "grant_types": ["client_credentials"], "jwks_uri": JWKS_URI},
                             timeout=30)
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "temporarily_unavailable"
    finally:
        postgres.start()
    assert postgres.psql("SELECT to_regclass('dcr_clients') IS NULL", db=database) == [["t"]]
    c = register(h)
    assert_readable(h, [c])
    assert count(postgres, database) == 1
    assert any("cannot reach the database" in l for l in h.error_log_lines())


def test_dbd_configured_in_the_main_server(httpd_factory, postgres, database):
    """mod_authn_dbd's usual layout: DBDriver/DBDParams in the main server, DCRStore dbd in a
    VirtualHost (and a second one) that inherits the pool; the schema is created once."""
    lines = dbd_lines(postgres, database)
    main, store = "\n".join(lines[:-1]), lines[-1]
    h = httpd_factory(vhosts=[vhost([store], name="a.example.test"),
                              vhost([store], name="b.example.test")],
                      server_conf=main, modules=["dbd"], start=False)
    assert h.config_test().returncode == 0
    h.start()
    a = register(h, name="inherited")
    assert_readable(h, [a])
    assert count(postgres, database) == 1
    h.graceful()
    assert_readable(h, [a])
