"""Client side of the store tests: register, read, update, delete over RFC 7591/7592 against
any node (a client registered on one node is addressed on another by its client_id)."""

import hashlib
import os
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

from dcr_httpd import Vhost

STORE_CONF_TAIL = ["DCRRequireStatement Off"]


# Nodes sharing a store sit behind one public name, as a deployment's do: a client belongs to
# its registration endpoint's URL (docs/security.md), the same on every node.
NODES_URL = "https://as.example.test"


def vhost(store_lines, name="as.example.test", public_url=NODES_URL):
    """A TLS vhost with the handler on /register and the given DCRStore lines."""
    return Vhost(name=name, conf=list(store_lines) + STORE_CONF_TAIL, public_url=public_url)


# A public host for the keys of test clients (registered, never fetched).
JWKS_URI = "https://workload.example/jwks"


class Client:
    def __init__(self, body):
        self.id = body["client_id"]
        self.token = body["registration_access_token"]
        self.body = body

    def __repr__(self):
        return "Client(%s)" % self.id


def register(h, session=None, name="store test", **extra):
    s = session or h.session()
    # keys make the client confidential: client_credentials is not for public clients
    meta = {"client_name": name, "grant_types": ["client_credentials"], "jwks_uri": JWKS_URI}
    meta.update(extra)
    r = s.post(h.endpoint, json=meta, timeout=30)
    assert r.status_code == 201, (r.status_code, r.text)
    return Client(r.json())


def client_url(h, client_id):
    return "%s/%s" % (h.endpoint, client_id)


def read(h, client, token=None, session=None):
    s = session or h.session()
    return s.get(client_url(h, client.id), timeout=30,
                 headers={"Authorization": "Bearer " + (token or client.token)})


def update(h, client, meta, session=None):
    s = session or h.session()
    body = dict(meta, client_id=client.id)
    return s.put(client_url(h, client.id), json=body, timeout=30,
                 headers={"Authorization": "Bearer " + client.token})


def delete(h, client, session=None):
    s = session or h.session()
    return s.delete(client_url(h, client.id), timeout=30,
                    headers={"Authorization": "Bearer " + client.token})


def assert_readable(h, clients):
    """Every client reads back with its current token, as itself."""
    s = h.session()
    for c in clients:
        r = read(h, c, session=s)
        assert r.status_code == 200, (c, r.status_code, r.text)
        assert r.json()["client_id"] == c.id
        assert r.json()["client_name"] == c.body["client_name"]


def register_many(nodes, n, workers=16):
    """n registrations spread round-robin over nodes, workers at a time; returns the clients
    (all must answer 201)."""
    local = threading.local()  # one keep-alive session per worker thread and node

    def one(i):
        h = nodes[i % len(nodes)]
        if not hasattr(local, "s"):
            local.s = {}
        s = local.s.setdefault(id(h), h.session())
        return register(h, session=s, name="bulk-%d" % i)

    with ThreadPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(one, range(n)))


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def sqlite_rows(db, sql, args=()):
    """All rows of one query on the SQLite store file db."""
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def sqlite_count(db):
    """Registrations in the SQLite store db: 0 before the file exists, None when db is None
    (a run whose store is not SQLite, see test_spiffe.store_lines)."""
    if db is None:
        return None
    if not os.path.exists(db):
        return 0
    return sqlite_rows(db, "SELECT COUNT(*) FROM dcr_clients")[0][0]


def assert_other_node_updates_and_deletes(a, b, c):
    """Node b updates, then deletes, c (registered on node a); a sees each change."""
    r = update(b, c, {"client_name": "changed-on-b", "grant_types": ["client_credentials"],
                      "jwks_uri": JWKS_URI})
    assert r.status_code == 200, r.text
    c.token = r.json().get("registration_access_token", c.token)
    r = read(a, c)
    assert r.status_code == 200 and r.json()["client_name"] == "changed-on-b"
    assert delete(b, c).status_code == 204
    assert read(a, c).status_code == 401
