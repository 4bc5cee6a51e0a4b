"""DCRUpstream rfc7591 under attack: what a hostile workload, a racing writer or a failing
store can do to the upstream forwarding (test_upstream.py has the ordinary paths). Each test
tries one attack against a real httpd and a real oidc-provider (oidc_as.py) and checks the
promise it aims at: no orphan at the upstream, no upstream token lost or shown."""

import json
import os
import sqlite3
import threading
import time

import pytest

from test_upstream import bearer, gateway  # noqa: F401 (gateway is a fixture)
from workload import Workload
from resource_server import OIDC_SO

pytestmark = pytest.mark.skipif(not os.path.exists(OIDC_SO),
                                reason="mod_auth_openidc not installed")

# updates of client rows fail while fail_updates.n > 0, as a full disk would: a flag in a
# table, so switching it changes no schema under httpd's prepared statements
FAILING_UPDATES = ["CREATE TABLE fail_updates (n INTEGER)", "INSERT INTO fail_updates VALUES (0)",
                   "CREATE TRIGGER no_update BEFORE UPDATE ON dcr_clients"
                   " WHEN (SELECT n FROM fail_updates) > 0"
                   " BEGIN SELECT RAISE(FAIL, 'disk full'); END"]


def sql(g, *statements):
    con = sqlite3.connect(g.db, timeout=10)
    try:
        for q in statements:
            con.execute(q)
        con.commit()
    finally:
        con.close()


def upstream_rat(g):
    (_, _, secret, _), = g.rows()
    return json.loads(secret)["registration_access_token"]


@pytest.mark.parametrize("how", ["update", "reregister"])
def test_rotated_upstream_token_is_not_lost_when_the_local_write_fails(gateway, oidc_as, how):
    # The upstream takes the update and rotates its registration access token; then the local
    # write fails. Were the new token dropped, the module's later delete would carry the old
    # one, the upstream would refuse it (401: "already gone") and its client would live on,
    # usable by the workload, with nobody left able to delete it.
    g = gateway(rs=False, pre_sql=FAILING_UPDATES)
    w = Workload()
    r = g.register(w, svid=g.svid(iat=int(time.time()) - 100), client_name="v1")
    assert r.status_code == 201, r.text
    reg = r.json()
    cid = reg["client_id"]
    before = upstream_rat(g)
    s = g.h.session()
    sql(g, "UPDATE fail_updates SET n = 1")
    if how == "update":
        u = s.put(g.client_url(reg), json=dict(reg, client_name="v2"),
                  headers=bearer(reg["registration_access_token"]), timeout=30)
    else:  # a returning subject under DCRReregister replace: the upstream client is updated
        u = g.register(w, svid=g.svid(iat=int(time.time()) - 50), client_name="v2")
    assert u.status_code >= 500, u.text
    calls = [c for c in oidc_as.registration_calls() if c["method"] == "PUT"]
    assert calls and calls[-1]["status"] == 200  # the upstream took it (and rotated)
    assert before not in u.text
    sql(g, "UPDATE fail_updates SET n = 0")
    # the client's owner deletes it: the upstream client must go too, whatever happened above
    d = s.delete(g.client_url(reg), headers=bearer(reg["registration_access_token"]), timeout=30)
    assert d.status_code in (204, 401), d.text
    if d.status_code == 401:  # the record is already gone (the module cleaned up itself)
        assert g.rows() == []
    assert oidc_as.client(cid) is None, "orphan at the upstream"
    assert w.token_request(oidc_as.token_endpoint, cid, oidc_as.issuer,
                           oidc_as.ca_file).status_code == 401
    assert before not in g.h.error_log_text()
    g.h.allow_errors("disk full", "upstream")


@pytest.mark.parametrize("gateway", ["sqlite", "pgsql"], indirect=True)
def test_update_racing_a_reregistration_keeps_the_rotated_upstream_token(gateway, oidc_as):
    # A workload races itself: an RFC 7592 update whose upstream call is slow, and meanwhile a
    # re-registration (DCRReregister reuse) that gives the record a new local token. The
    # update's compare-and-set then fails, after the upstream rotated its token: that token
    # must reach the record, or the client outlives every delete and sweep.
    g = gateway(lines=["DCRReregister reuse"], rs=False)
    w = Workload()
    r = g.register(w, svid=g.svid(iat=int(time.time()) - 100), client_name="v1")
    assert r.status_code == 201, r.text
    reg = r.json()
    cid = reg["client_id"]
    s = g.h.session()
    oidc_as.fail(mode="delay", ms=1500, methods=["PUT"], times=1)
    out = []
    t = threading.Thread(target=lambda: out.append(s.put(
        g.client_url(reg), json=dict(reg, client_name="v2"),
        headers=bearer(reg["registration_access_token"]), timeout=30)))
    t.start()
    time.sleep(0.5)  # the update waits on the upstream now
    r2 = g.register(w, svid=g.svid(iat=int(time.time()) - 50))
    assert r2.status_code == 201, r2.text
    assert r2.json()["client_id"] == cid
    t.join()
    assert out[0].status_code == 401, out[0].text  # its token was replaced meanwhile
    put, = [c for c in oidc_as.registration_calls() if c["method"] == "PUT"]
    assert put["status"] == 200  # the upstream took it and rotated its token
    # the upstream client stays manageable: its owner's delete reaches it
    d = s.delete(g.client_url(reg), headers=bearer(r2.json()["registration_access_token"]),
                 timeout=30)
    assert d.status_code == 204, d.text
    assert oidc_as.client(cid) is None, "orphan at the upstream"
    assert g.rows() == []
    g.h.allow_errors("rotated registration access token was kept")


@pytest.mark.parametrize("gateway", ["sqlite", "pgsql"], indirect=True)
def test_failed_delete_racing_an_update_keeps_the_rotated_upstream_token(gateway, oidc_as):
    # A delete the upstream does not take (slow, then 500) keeps the record, expired, for the
    # sweep. Meanwhile an update rotated the upstream token and stored it. The delete's write
    # must not put back the token it read before: the sweep would present that stale token,
    # get 401 ("already gone"), and leave the upstream client alive for good.
    g = gateway(lines=["DCRSweepInterval 1"], rs=False)
    w = Workload()
    r = g.register(w, client_name="v1")
    assert r.status_code == 201, r.text
    reg = r.json()
    cid = reg["client_id"]
    s = g.h.session()
    oidc_as.fail(mode="status", status=500, methods=["DELETE"], times=1, ms=1500)
    out = []
    t = threading.Thread(target=lambda: out.append(s.delete(
        g.client_url(reg), headers=bearer(reg["registration_access_token"]), timeout=30)))
    t.start()
    time.sleep(0.5)  # the delete waits on the upstream now, with the token it read
    u = s.put(g.client_url(reg), json=dict(reg, client_name="v2"),
              headers=bearer(reg["registration_access_token"]), timeout=30)
    assert u.status_code == 200, u.text
    t.join()
    assert out[0].status_code == 204, out[0].text
    # the sweep deletes the upstream client with the token the update stored
    deadline = time.time() + 15
    while time.time() < deadline and (oidc_as.client(cid) is not None or g.rows()):
        time.sleep(0.5)
    assert oidc_as.client(cid) is None, "orphan at the upstream"
    assert g.rows() == []
    g.h.allow_errors("upstream delete")


@pytest.mark.parametrize("answer", [
    {"client_secret": "upstream-chose-a-secret", "token_endpoint_auth_method": "client_secret_basic"},
    {"client_secret": "upstream-chose-a-secret"},
    {"token_endpoint_auth_method": "none"},
])
def test_spiffe_client_never_gets_a_secret_the_upstream_chose(gateway, oidc_as, answer):
    # RFC 7591 3.2.1 lets the upstream replace requested values: one without private_key_jwt
    # may register the SPIFFE client with a secret instead (or with no authentication at
    # all). A SPIFFE client never gets a secret, upstream included, and is never registered
    # with another method than it asked for: refused, and the upstream client deleted again.
    g = gateway(rs=False)
    body = {"client_id": "replaced-1", "registration_access_token": "rat-of-replaced-1",
            "registration_client_uri": oidc_as.registration_endpoint + "/replaced-1",
            "grant_types": ["client_credentials"], "response_types": [],
            "token_endpoint_auth_method": "private_key_jwt"}
    body.update(answer)
    oidc_as.fail(mode="status", status=201, methods=["POST"], times=1, body=body)
    r = g.register(Workload())
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata", r.text
    assert "upstream-chose-a-secret" not in r.text and "replaced-1" not in r.text
    assert g.rows() == []
    post, delete = oidc_as.registration_calls()
    assert post["method"] == "POST"
    assert (delete["method"], delete["path"], delete["authorization"]) == (
        "DELETE", "/reg/replaced-1", "Bearer rat-of-replaced-1")
    assert "upstream-chose-a-secret" not in g.h.error_log_text()
    g.h.allow_errors("upstream")


def test_update_the_upstream_answers_with_a_secret_is_refused(gateway, oidc_as):
    # The same replacement on an RFC 7592 update: refused, the secret neither shown nor kept,
    # and the upstream client still deletable with the token the module holds.
    g = gateway(rs=False)
    r = g.register(Workload())
    assert r.status_code == 201, r.text
    reg = r.json()
    cid = reg["client_id"]
    s = g.h.session()
    oidc_as.fail(mode="status", status=200, methods=["PUT"], times=1,
                 body={"client_id": cid, "client_secret": "upstream-chose-a-secret",
                       "token_endpoint_auth_method": "client_secret_basic",
                       "grant_types": ["client_credentials"], "response_types": []})
    u = s.put(g.client_url(reg), json=dict(reg, client_name="v2"),
              headers=bearer(reg["registration_access_token"]), timeout=30)
    assert u.status_code == 400 and u.json()["error"] == "invalid_client_metadata", u.text
    assert "upstream-chose-a-secret" not in u.text
    rd = s.get(g.client_url(reg), headers=bearer(reg["registration_access_token"]), timeout=10)
    assert rd.status_code == 200 and "client_secret" not in rd.json(), rd.text
    assert rd.json()["token_endpoint_auth_method"] == "private_key_jwt"
    assert "upstream-chose-a-secret" not in g.rows()[0][2]
    d = s.delete(g.client_url(reg), headers=bearer(reg["registration_access_token"]), timeout=30)
    assert d.status_code == 204 and oidc_as.client(cid) is None and g.rows() == []
    g.h.allow_errors("upstream")


def test_upstream_error_echoing_a_token_does_not_show_it(gateway, oidc_as):
    # An upstream whose error description echoes the bearer token it was sent (a debugging
    # aid of some servers) must not hand the gateway's initial access token to the workload,
    # which could then register at the upstream directly, unvetted; nor a client's upstream
    # registration access token. Neither reaches the answer or the log.
    g = gateway(rs=False)
    iat = oidc_as.initial_access_token
    oidc_as.fail(mode="status", status=400, methods=["POST"], times=1,
                 body={"error": "invalid_client_metadata",
                       "error_description": "token %s: no such redirect" % iat})
    r = g.register(Workload())
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata", r.text
    assert "no such redirect" in r.json()["error_description"]
    assert iat not in r.text and iat[:20] not in r.text
    r = g.register(Workload())
    assert r.status_code == 201, r.text
    reg = r.json()
    rat = upstream_rat(g)
    oidc_as.fail(mode="status", status=400, methods=["PUT"], times=1,
                 body={"error": "invalid_redirect_uri", "error_description": "for " + rat})
    u = g.h.session().put(g.client_url(reg), json=dict(reg, client_name="v2"),
                          headers=bearer(reg["registration_access_token"]), timeout=30)
    assert u.status_code == 400 and u.json()["error"] == "invalid_redirect_uri", u.text
    assert rat not in u.text and rat[:20] not in u.text
    log = g.h.error_log_text()
    assert iat[:20] not in log and rat[:20] not in log
    g.h.allow_errors("upstream")


def test_registration_from_before_the_upstream_does_not_lock_its_subject_out(gateway, oidc_as):
    # A workload registered before DCRUpstream was set on its endpoint (a local client no
    # authorization server knows), then comes back with a newer statement. That record cannot
    # be managed any more (RFC 7592 names the upstream's ids), so were it "the existing client"
    # for good, the subject could never register again: it is replaced by an upstream client.
    g = gateway(rs=False)
    with_upstream = g.vhost.conf
    g.vhost.conf = "\n".join(l for l in with_upstream.split("\n")
                             if not l.startswith("DCRUpstream"))
    g.h.reload()
    w = Workload()
    r1 = g.register(w, svid=g.svid(iat=int(time.time()) - 100), client_name="local")
    assert r1.status_code == 201, r1.text
    assert oidc_as.count() == 0
    g.vhost.conf = with_upstream
    g.h.reload()
    r2 = g.register(w, svid=g.svid(iat=int(time.time()) - 50), client_name="upstream")
    assert r2.status_code == 201, r2.text
    cid = r2.json()["client_id"]
    assert oidc_as.client(cid)["client_name"] == "upstream"
    (local_id, _, secret, _), = g.rows()  # replaced: one record, the upstream client's
    assert secret and local_id != r1.json()["client_id"]
    # and it stays the subject's one client: the next statement updates it
    r3 = g.register(w, svid=g.svid(iat=int(time.time()) - 10), client_name="again")
    assert r3.status_code == 201 and r3.json()["client_id"] == cid, r3.text
    assert oidc_as.count() == 1 and len(g.rows()) == 1


@pytest.mark.parametrize("gateway", ["sqlite", "pgsql"], indirect=True)
def test_delete_racing_an_update_deletes_the_upstream_client(gateway, oidc_as):
    # A delete reads the upstream token, and its upstream call arrives after an update rotated
    # it: the upstream answers 401. That must not pass for "already gone" while the client
    # lives on with the new token: the delete tries again with the token the update stored.
    g = gateway(rs=False)
    r = g.register(Workload(), client_name="v1")
    assert r.status_code == 201, r.text
    reg = r.json()
    cid = reg["client_id"]
    s = g.h.session()
    oidc_as.fail(mode="delay", ms=1500, methods=["DELETE"], times=1)
    out = []
    t = threading.Thread(target=lambda: out.append(s.delete(
        g.client_url(reg), headers=bearer(reg["registration_access_token"]), timeout=30)))
    t.start()
    time.sleep(0.5)  # the delete's upstream call waits, with the token it read
    u = s.put(g.client_url(reg), json=dict(reg, client_name="v2"),
              headers=bearer(reg["registration_access_token"]), timeout=30)
    assert u.status_code == 200, u.text
    t.join()
    assert out[0].status_code == 204, out[0].text
    assert oidc_as.client(cid) is None, "orphan at the upstream"
    assert g.rows() == []
