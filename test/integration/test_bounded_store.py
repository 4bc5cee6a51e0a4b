"""Ephemeral workloads register on every start (oauth_vc.md 8.2). Under the default
DCRReregister (replace) a SPIFFE ID that registers 1,000 times, each time with a freshly minted
SVID, keeps one record: the store stays bounded, the client_id stays, and every earlier
registration access token stops working. The same SVID posted again (a copy, or an agent's
cached one) registers a client of its own, bounded by the per-subject ceiling (docs/security.md)."""

import os
import shutil

import pytest

from dcr_httpd import Vhost
from services import child_writable_dir
from test_spiffe import TrustDomain, count

META = {"grant_types": ["client_credentials"], "client_name": "ephemeral workload"}
TIMES = 1000


@pytest.fixture
def domain(tmp_path):
    os.chmod(tmp_path, 0o755)
    return TrustDomain("example.org", str(tmp_path / "bundle.json"), kinds=(("ec1", "EC"),))


@pytest.fixture
def store_dir():
    d = child_writable_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def register_many(h, domain, times):
    """`times` registrations of one subject over one connection, a fresh SVID each time."""
    s = h.session()
    ids, tokens = set(), []
    for _ in range(times):
        svid = domain.svid(h.vhost.public_base + "/register")
        r = s.post(h.endpoint, json=dict(META, software_statement=svid), timeout=30)
        assert r.status_code == 201, r.text
        ids.add(r.json()["client_id"])
        tokens.append(r.json()["registration_access_token"])
    return ids, tokens, r.json()


def read(h, reg, token):
    path = reg["registration_client_uri"][len(h.vhost.public_base):]
    return h.session().get(h.url + path, headers={"Authorization": "Bearer " + token})


def test_sqlite_keeps_one_record_per_subject(httpd_factory, domain, store_dir):
    db = os.path.join(store_dir, "clients.db")
    h = httpd_factory([Vhost(conf=["DCRStore sqlite:%s" % db,
                                   "DCRTrustDomain example.org %s" % domain.path])])
    ids, tokens, last = register_many(h, domain, TIMES)
    assert len(ids) == 1
    assert count(db) == 1
    assert read(h, last, tokens[-1]).status_code == 200
    old = read(h, last, tokens[0])
    assert old.status_code == 401 and old.json()["error"] == "invalid_token"
    # a second workload is a second record, not a replacement of the first
    other = domain.svid(h.vhost.public_base + "/register", sub="spiffe://example.org/other")
    r = h.session().post(h.endpoint, json=dict(META, software_statement=other))
    assert r.status_code == 201 and r.json()["client_id"] not in ids
    assert count(db) == 2


def test_socache_keeps_one_record_per_subject(httpd_factory, domain):
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb",
                                   "DCRTrustDomain example.org %s" % domain.path])])
    ids, tokens, last = register_many(h, domain, TIMES // 4)
    assert len(ids) == 1
    assert read(h, last, tokens[-1]).status_code == 200
    assert read(h, last, tokens[-2]).status_code == 401


def test_the_same_svid_again_is_bounded_by_the_default_ceiling(httpd_factory, domain, store_dir):
    """Issue 10: a copy never rewrites the registration it came from; under replace the
    default ceiling (10 per subject) bounds what copies can register."""
    db = os.path.join(store_dir, "clients.db")
    h = httpd_factory([Vhost(conf=["DCRStore sqlite:%s" % db,
                                   "DCRTrustDomain example.org %s" % domain.path])])
    svid = domain.svid(h.vhost.public_base + "/register")
    s = h.session()
    rs = [s.post(h.endpoint, json=dict(META, software_statement=svid)) for _ in range(15)]
    assert [r.status_code for r in rs] == [201] * 10 + [429] * 5, [r.text for r in rs]
    assert len({r.json()["client_id"] for r in rs[:10]}) == 10
    assert count(db) == 10
    # every one of them still works with its own token: none was taken over
    assert all(read(h, r.json(), r.json()["registration_access_token"]).status_code == 200
               for r in rs[:10])


def test_policy_new_is_bounded_by_the_per_subject_ceiling(httpd_factory, domain, store_dir):
    db = os.path.join(store_dir, "clients.db")
    h = httpd_factory([Vhost(conf=["DCRStore sqlite:%s" % db,
                                   "DCRTrustDomain example.org %s" % domain.path,
                                   "DCRReregister new", "DCRMaxRegistrationsPerSubject 5"])])
    svid = domain.svid(h.vhost.public_base + "/register")
    s = h.session()
    codes = [s.post(h.endpoint, json=dict(META, software_statement=svid)).status_code
             for _ in range(50)]
    assert codes[:5] == [201] * 5
    assert set(codes[5:]) == {429}
    assert count(db) == 5
