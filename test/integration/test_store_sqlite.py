"""DCRStore sqlite:<file>: registrations survive every kind of restart, concurrent writers in
several processes all succeed, the table is the documented public interface, and bad
configurations stop the start with a clear message."""

import json
import re
import os
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest

from services import child_writable_dir
from store_util import (JWKS_URI, assert_readable, delete, read, register, register_many,
                        sqlite_rows as rows, token_hash, update, vhost)


@pytest.fixture
def store_dir():
    d = child_writable_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def sqlite_server(httpd_factory, store_dir, extra=(), mpm="event", start=True):
    db = os.path.join(store_dir, "clients.db")
    h = httpd_factory(vhosts=[vhost(["DCRStore sqlite:%s" % db] + list(extra))], mpm=mpm,
                      start=start)
    return h, db


def test_registrations_survive_graceful_restart_and_stop_start(httpd_factory, store_dir):
    h, db = sqlite_server(httpd_factory, store_dir)
    clients = [register(h, name="before-%d" % i) for i in range(10)]
    assert_readable(h, clients)

    h.graceful()
    assert_readable(h, clients)
    clients.append(register(h, name="after-graceful"))

    h.restart()
    assert_readable(h, clients)
    clients.append(register(h, name="after-restart"))

    h.stop()
    h.start()
    assert_readable(h, clients)
    assert rows(db, "SELECT COUNT(*) FROM dcr_clients")[0][0] == len(clients)


def test_updates_and_deletes_survive_restarts(httpd_factory, store_dir):
    """The current token (after an RFC 7592 update) is the one that works after restarts, and
    a deleted client stays deleted."""
    h, db = sqlite_server(httpd_factory, store_dir)
    keep, gone = register(h, name="keep"), register(h, name="gone")
    r = update(h, keep, {"client_name": "kept", "grant_types": ["client_credentials"],
                         "jwks_uri": JWKS_URI})
    assert r.status_code == 200, r.text
    old_token = keep.token
    keep.token = r.json().get("registration_access_token", keep.token)
    keep.body["client_name"] = "kept"
    assert delete(h, gone).status_code == 204

    for restart in (h.graceful, h.restart, lambda: (h.stop(), h.start())):
        restart()
        assert_readable(h, [keep])
        assert read(h, gone).status_code == 401
        if keep.token != old_token:
            assert read(h, keep, token=old_token).status_code == 401
    assert rows(db, "SELECT client_id FROM dcr_clients") == [(keep.id,)]


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_concurrent_registrations_from_several_processes(httpd_factory, store_dir, mpm):
    """Writers in several child processes at once: the global mutex plus busy timeout means
    every registration gets 201 (no 'database is locked' 500s/503s) and all are stored."""
    h, db = sqlite_server(httpd_factory, store_dir, mpm=mpm)
    clients = register_many([h], 200, workers=8)  # prefork has MaxRequestWorkers 10
    ids = {c.id for c in clients}
    assert len(ids) == 200
    pids = {e["pid"] for e in h.access_log_entries()}
    assert len(pids) >= 2, "the load should reach more than one child process: %s" % pids
    assert rows(db, "SELECT COUNT(*) FROM dcr_clients")[0][0] == 200
    assert_readable(h, clients[::10])


def test_table_is_the_documented_public_interface(httpd_factory, store_dir):
    h, db = sqlite_server(httpd_factory, store_dir)
    c = register(h, name="public")
    (cid, record, issued, expires, subject_key, rat_hash), = rows(
        db, "SELECT client_id, record, issued_at, expires_at, subject_key, rat_hash "
            "FROM dcr_clients WHERE client_id = ?", (c.id,))
    assert cid == c.id
    assert issued == c.body["client_id_issued_at"]
    assert expires is None  # no DCRRegistrationLifetime: never expires
    assert subject_key is None  # registered without a statement
    assert rat_hash == token_hash(c.token)
    rec = json.loads(record)
    assert rec["version"] == 2
    assert rec["endpoint"] == h.vhost.public_base + "/register"  # RFC 7592 stays there
    assert rec["client_id"] == c.id
    assert rec["registration_access_token_sha256"] == rat_hash
    assert rec["metadata"]["client_name"] == "public"
    assert c.token not in record  # only the hash is stored
    assert rows(db, "SELECT version FROM dcr_schema") == [(3,)]
    # version 2: single-use statements (DCRVCBinding aud), by hash until they expire
    assert [r[1] for r in rows(db, "PRAGMA table_info(dcr_used_statements)")] == \
        ["hash", "expires_at"]
    assert rows(db, "PRAGMA journal_mode") == [("wal",)]


def test_registration_lifetime_sets_expires_at(httpd_factory, store_dir):
    h, db = sqlite_server(httpd_factory, store_dir, extra=["DCRRegistrationLifetime 3600"])
    c = register(h)
    (issued, expires), = rows(db, "SELECT issued_at, expires_at FROM dcr_clients")
    assert expires == issued + 3600
    # an expired row is not served, whatever the sweep has done yet
    con = sqlite3.connect(db, timeout=10)
    con.execute("UPDATE dcr_clients SET expires_at = ? WHERE client_id = ?", (issued - 1, c.id))
    con.commit()
    con.close()
    assert read(h, c).status_code == 401


def test_synchronous_full_is_accepted(httpd_factory, store_dir):
    h, db = sqlite_server(httpd_factory, store_dir, extra=["DCRSQLiteSynchronous Full"])
    c = register(h)
    h.restart()
    assert_readable(h, [c])


def test_synchronous_option_errors(httpd_factory, store_dir):
    db = os.path.join(store_dir, "x.db")
    h = httpd_factory(vhosts=[vhost(["DCRSQLiteSynchronous Full", "DCRStore sqlite:%s" % db])],
                      start=False)
    p = h.config_test()
    assert p.returncode != 0
    assert "put it after DCRStore sqlite" in p.stderr
    h2 = httpd_factory(vhosts=[vhost(["DCRStore sqlite:%s" % db,
                                      "DCRSQLiteSynchronous Sometimes"])], start=False)
    p = h2.config_test()
    assert p.returncode != 0
    assert "Normal or Full" in p.stderr


def test_missing_file_argument_is_a_config_error(httpd_factory):
    h = httpd_factory(vhosts=[vhost(["DCRStore sqlite:"])], start=False)
    p = h.config_test()
    assert p.returncode != 0
    assert "a file is required" in p.stderr


def test_unusable_path_stops_the_start(httpd_factory, store_dir):
    bad = os.path.join(store_dir, "no", "such", "dir", "clients.db")
    h = httpd_factory(vhosts=[vhost(["DCRStore sqlite:%s" % bad])], start=False)
    h.allow_errors(r"clients\.db", r"AH00016")
    proc = h.start(expect_fail=True)
    assert bad in proc.stderr + h.error_log_text()


def test_sqlite_through_mod_dbd(httpd_factory, store_dir):
    """DCRStore dbd with DBDriver sqlite3 also works: schema created before mod_dbd's pool,
    statements prepared lazily, and a restart keeps everything."""
    db = os.path.join(store_dir, "dbd.db")
    h = httpd_factory(vhosts=[vhost(["DBDriver sqlite3", "DBDParams %s" % db,
                                     "DCRStore dbd"])], modules=["dbd"], start=False)
    h.start()
    clients = [register(h, name="dbd-%d" % i) for i in range(3)]
    h.restart()
    assert_readable(h, clients)
    assert rows(db, "SELECT COUNT(*) FROM dcr_clients")[0][0] == 3


def test_sweep_deletes_expired_registrations(httpd_factory, store_dir):
    """mod_watchdog runs the sweep: expired rows leave the table, live ones stay."""
    db = os.path.join(store_dir, "clients.db")
    h = httpd_factory(vhosts=[vhost(["DCRStore sqlite:%s" % db, "DCRSweepInterval 1",
                                     "DCRRegistrationLifetime 2"])])  # watchdog: built in
    expiring = [register(h, name="short-%d" % i) for i in range(3)]
    # a row that never expires, written as an operator could: the sweep must leave it alone
    keep = dict(rows(db, "SELECT client_id, record FROM dcr_clients LIMIT 1"))
    con = sqlite3.connect(db, timeout=10)
    (kid, krec), = keep.items()
    con.execute("INSERT INTO dcr_clients (client_id, record, issued_at, expires_at, subject_key,"
                " rat_hash) SELECT 'forever', record, issued_at, NULL, NULL, rat_hash"
                " FROM dcr_clients WHERE client_id = ?", (kid,))
    con.commit()
    con.close()
    assert_readable(h, expiring)
    deadline = time.time() + 15
    while time.time() < deadline:
        left = {r[0] for r in rows(db, "SELECT client_id FROM dcr_clients")}
        if left == {"forever"}:
            break
        time.sleep(0.3)
    assert left == {"forever"}
    swept = [re.search(r"swept (\d+) expired registrations", l) for l in h.error_log_lines()]
    assert sum(int(m.group(1)) for m in swept if m) == len(expiring)
    for c in expiring:
        assert read(h, c).status_code == 401


def test_sweep_interval_placement(httpd_factory):
    h = httpd_factory(vhosts=[vhost(["DCRStore socache:shmcb", "DCRSweepInterval 5"])],
                      start=False)
    p = h.config_test()
    assert p.returncode != 0 and "put it after DCRStore sqlite" in p.stderr


def test_nothing_lost_when_every_httpd_process_is_killed(httpd_factory, store_dir):
    """A crash (SIGKILL to the parent and every child, no shutdown at all) loses no
    registration that was answered with 201: each commit is in the WAL before the answer."""
    h, db = sqlite_server(httpd_factory, store_dir)
    clients = register_many([h], 40, workers=4)
    parent = h.pid()
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(parent)], capture_output=True,
                         text=True).stdout
    pids = [parent] + [int(p) for p in out.split()]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    h.running = False
    # the crashed parent may linger as an unreaped zombie, which httpd -k start would take
    # for a running server: drop its pid file as a supervisor does after a crash
    os.remove(h.path("run", "httpd.pid"))
    h.start()
    assert_readable(h, clients)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # a zombie until its parent reaps it is as good as dead here
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def test_vhosts_naming_one_file_share_it(httpd_factory, store_dir):
    """Two VirtualHosts with the same file share one store (one writer mutex); a third with
    its own file sees none of their clients. Survives a graceful restart (config re-read)."""
    shared = os.path.join(store_dir, "shared.db")
    other = os.path.join(store_dir, "other.db")
    vs = [vhost(["DCRStore sqlite:%s" % shared], name="a.example.test"),
          vhost(["DCRStore sqlite:%s" % shared], name="b.example.test"),
          vhost(["DCRStore sqlite:%s" % other], name="c.example.test")]
    h = httpd_factory(vhosts=vs)

    class On:  # a view of h that talks to one vhost
        def __init__(self, v):
            self.endpoint, self.session = v.endpoint, h.session

    a, b, c = On(vs[0]), On(vs[1]), On(vs[2])
    clients = register_many([a, b], 40, workers=4)
    assert_readable(b, clients)
    assert_readable(a, clients)
    assert read(c, clients[0]).status_code == 401
    h.graceful()
    assert_readable(a, clients[::5])
    assert rows(shared, "SELECT COUNT(*) FROM dcr_clients")[0][0] == 40
    assert rows(other, "SELECT COUNT(*) FROM dcr_clients")[0][0] == 0
