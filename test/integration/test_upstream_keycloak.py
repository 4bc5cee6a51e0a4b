"""DCRUpstream keycloak against the suite's Keycloak contract server (keycloak_server.py), which
checks every request against Keycloak 26.4's documented admin REST API and answers as Keycloak
does: a SPIFFE registration becomes one federated-jwt client (no secret), re-registration
updates it, RFC 7592 delete and the sweep delete it, the admin token is shared by every child
and fetched again after a 401, Keycloak's errors come back as RFC 7591 errors with nothing
stored, a client this module did not make is never doubled, and the startup rules."""

import atexit
import hashlib
import os
import shutil
import time

import pytest

from dcr_httpd import Vhost
from keycloak_server import KeycloakServer
from services import child_writable_dir
from store_util import sqlite_count
from test_spiffe import TrustDomain

SUB = "spiffe://example.org/ns/agents/sa/planner"


def kc_client_id(sub):
    return "spiffe-" + hashlib.sha256(sub.encode()).hexdigest()


@pytest.fixture
def kc(tmp_path_factory):
    d = tmp_path_factory.mktemp("kc")
    os.chmod(d, 0o755)
    srv = KeycloakServer(str(d))
    yield srv
    srv.stop()
    assert srv.violations == [], srv.violations


@pytest.fixture
def td(tmp_path_factory):
    d = tmp_path_factory.mktemp("bundles")
    os.chmod(d, 0o755)
    return TrustDomain("example.org", str(d / "example.org.json"))


@pytest.fixture
def store_dir():
    """Removed at exit, not at teardown: this fixture's teardown may come before the httpd's,
    whose sweep would then find its database gone."""
    d = child_writable_dir()
    atexit.register(shutil.rmtree, d, True)
    return d


def secret_file(store_dir, text):
    p = os.path.join(store_dir, "kc.secret")
    with open(p, "w") as f:
        f.write(text)
    os.chmod(p, 0o600)  # read by root at configuration, never by the children
    return p


def kc_lines(kc, store_dir, td, secret=None, extra=()):
    return ["DCRStore sqlite:%s/clients.db" % store_dir,
            "DCRTrustDomain %s %s" % (td.name, td.path),
            "DCRUpstream keycloak %s" % kc.realm_url,
            "DCRUpstreamCredentials %s file:%s" % (
                kc.admin_client_id, secret_file(store_dir, secret or kc.admin_secret + "\n")),
            "DCRUpstreamSpiffeIdP spire",
            "DCRFetchCAFile %s" % kc.ca] + list(extra)


def server(httpd_factory, kc, store_dir, td, extra=(), **kw):
    return httpd_factory(vhosts=[Vhost(conf=kc_lines(kc, store_dir, td, extra=extra))], **kw)


def register(h, td, sub=SUB, **meta):
    body = {"grant_types": ["client_credentials"]}
    body.update(meta)
    body["software_statement"] = td.svid(h.vhost.public_base + h.vhost.location, sub=sub)
    # a new connection each time: another child may answer
    return h.session().post(h.vhost.endpoint, json=body, timeout=30)


def manage(h, reg, method, **kw):
    path = reg["registration_client_uri"][len(h.vhost.public_base):]
    return h.session().request(method, h.url + path, timeout=30, headers={
        "Authorization": "Bearer " + reg["registration_access_token"]}, **kw)


def count(store_dir):
    return sqlite_count(os.path.join(store_dir, "clients.db"))


def test_spiffe_registration_is_one_federated_client(httpd_factory, kc, store_dir, td):
    h = server(httpd_factory, kc, store_dir, td)
    r = register(h, td, client_name="planner")
    assert r.status_code == 201, r.text
    reg = r.json()
    assert reg["client_id"] == kc_client_id(SUB)
    assert "client_secret" not in reg
    assert reg["token_endpoint_auth_method"] == "spiffe_jwt"
    assert reg["grant_types"] == ["client_credentials"]
    assert reg["response_types"] == []  # as registered: no front channel
    [c] = kc.by_client_id(reg["client_id"])
    assert c["clientAuthenticatorType"] == "federated-jwt"
    assert c["attributes"]["jwt.credential.issuer"] == "spire"
    assert c["attributes"]["jwt.credential.sub"] == SUB
    assert c["serviceAccountsEnabled"] is True
    assert c["publicClient"] is False
    # explicit: Keycloak would otherwise turn these on
    assert c["standardFlowEnabled"] is False
    assert c["directAccessGrantsEnabled"] is False
    assert "secret" not in c
    assert c["name"] == "planner"
    assert len(kc.by_sub(SUB)) == 1
    assert kc.token_requests == 1
    # the lookup before the create asked Keycloak by attribute, as its federated lookup does
    searches = [q for m, p, q, b in kc.admin_calls("GET") if "q" in q]
    assert searches and searches[0]["q"] == ['jwt.credential.sub:"%s"' % SUB]
    # the secret never reaches the log
    assert kc.admin_secret not in h.error_log_text()
    # RFC 7592 read answers from the record
    g = manage(h, reg, "GET")
    assert g.status_code == 200, g.text
    assert g.json()["client_id"] == reg["client_id"]
    assert count(store_dir) == 1


def test_reregistration_updates_the_same_client(httpd_factory, kc, store_dir, td):
    h = server(httpd_factory, kc, store_dir, td)
    first = register(h, td, client_name="one")
    assert first.status_code == 201, first.text
    [c] = kc.by_client_id(first.json()["client_id"])
    kc.clients[c["id"]]["enabled"] = False  # an administrator disables it meanwhile
    again = register(h, td, client_name="two")
    assert again.status_code == 201, again.text
    assert again.json()["client_id"] == first.json()["client_id"]
    [c2] = kc.by_sub(SUB)
    assert c2["id"] == c["id"]  # the same Keycloak client, updated
    assert c2["name"] == "two"
    assert c2["enabled"] is False  # the administrator's disable stays
    assert kc.admin_calls("PUT")
    assert count(store_dir) == 1


def test_token_shared_by_children_and_fetched_again_after_401(httpd_factory, kc, store_dir, td):
    h = server(httpd_factory, kc, store_dir, td, mpm="prefork",
               server_conf="StartServers 4\nMinSpareServers 4\nMaxSpareServers 8")
    for i in range(6):
        r = register(h, td, sub="spiffe://example.org/ns/agents/sa/w%d" % i)
        assert r.status_code == 201, r.text
    assert kc.token_requests == 1
    assert len(kc.clients) == 6
    kc.expire_tokens()  # Keycloak now answers 401 to the cached token
    r = register(h, td, sub="spiffe://example.org/ns/agents/sa/w9")
    assert r.status_code == 201, r.text
    assert kc.token_requests == 2
    r = register(h, td, sub="spiffe://example.org/ns/agents/sa/w10")
    assert r.status_code == 201, r.text
    assert kc.token_requests == 2  # the new one is shared again


def test_delete_and_sweep_delete_at_keycloak(httpd_factory, kc, store_dir, td):
    h = server(httpd_factory, kc, store_dir, td,
               extra=["DCRRegistrationLifetime 3", "DCRSweepInterval 1"])
    reg = register(h, td).json()
    assert kc.by_sub(SUB)
    d = manage(h, reg, "DELETE")
    assert d.status_code == 204, d.text
    assert kc.by_sub(SUB) == []
    assert count(store_dir) == 0
    other = "spiffe://example.org/ns/agents/sa/expiring"
    assert register(h, td, sub=other).status_code == 201
    assert kc.by_sub(other)
    deadline = time.time() + 15
    while (kc.by_sub(other) or count(store_dir)) and time.time() < deadline:
        time.sleep(0.5)
    assert kc.by_sub(other) == []
    assert count(store_dir) == 0


def test_keycloak_errors_store_nothing(httpd_factory, kc, store_dir, td):
    h = server(httpd_factory, kc, store_dir, td)
    h.allow_errors(r"keycloak", r"upstream")
    kc.fail_next("POST", r"/clients$", 500, {"error": "unknown_error"})
    r = register(h, td)
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "temporarily_unavailable"
    assert r.headers.get("Retry-After")
    kc.fail_next("POST", r"/clients$", 400, {"error": "invalid_input",
                                             "error_description": "Client metadata refused"})
    r = register(h, td)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_client_metadata"
    assert "Client metadata refused" in r.json()["error_description"]
    kc.fail_next("POST", r"/clients$", 400, {"errorMessage": "bad", "field": "redirectUris"})
    r = register(h, td)
    assert r.status_code == 400 and r.json()["error"] == "invalid_redirect_uri", r.text
    kc.roles = {"view-clients"}  # the service account lacks manage-clients: 403
    r = register(h, td)
    assert r.status_code == 503, r.text
    assert "manage-clients" in h.error_log_text()
    kc.roles = {"manage-clients", "view-clients"}
    kc.fail_next("GET", r"/clients$", 502, None)  # the lookup fails: no create at all
    r = register(h, td)
    assert r.status_code == 503, r.text
    # a lookup Keycloak answers 400 is not the client's metadata either
    kc.fail_next("GET", r"/clients$", 400, {"error": "invalid_input",
                                            "error_description": "bad redirect"})
    r = register(h, td)
    assert r.status_code == 503, r.text
    assert len(kc.admin_calls("POST")) == 4  # the 403 one came to POST, the last one not
    assert kc.clients == {}
    assert count(store_dir) == 0


def test_wrong_admin_secret_is_unavailable(httpd_factory, kc, store_dir, td):
    lines = kc_lines(kc, store_dir, td, secret="not-the-secret")
    h = httpd_factory(vhosts=[Vhost(conf=lines)])
    h.allow_errors(r"keycloak", r"upstream")
    r = register(h, td)
    assert r.status_code == 503, r.text
    assert kc.clients == {} and count(store_dir) == 0
    assert "not-the-secret" not in h.error_log_text()


def test_never_a_second_client_for_a_spiffe_id(httpd_factory, kc, store_dir, td):
    """A client an administrator made for the SPIFFE ID is not doubled (Keycloak would refuse
    token requests for both); our own client found at Keycloak (an orphan) is adopted."""
    h = server(httpd_factory, kc, store_dir, td)
    h.allow_errors(r"keycloak")
    kc.add_client({"clientId": "by-hand", "clientAuthenticatorType": "federated-jwt",
                   "attributes": {"jwt.credential.issuer": "spire", "jwt.credential.sub": SUB}})
    r = register(h, td)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "unapproved_software_statement"
    assert [c["clientId"] for c in kc.by_sub(SUB)] == ["by-hand"]
    assert count(store_dir) == 0

    other = "spiffe://example.org/ns/agents/sa/orphan"
    mine = kc.add_client({"clientId": kc_client_id(other), "clientAuthenticatorType":
                          "federated-jwt", "attributes": {"jwt.credential.issuer": "spire",
                                                          "jwt.credential.sub": other}})
    r = register(h, td, sub=other, client_name="adopted")
    assert r.status_code == 201, r.text
    [c] = kc.by_sub(other)
    assert c["id"] == mine["id"] and c["name"] == "adopted"

    # ours, but disabled by an administrator: refused, not re-enabled
    third = "spiffe://example.org/ns/agents/sa/disabled"
    kc.add_client({"clientId": kc_client_id(third), "enabled": False,
                   "clientAuthenticatorType": "federated-jwt",
                   "attributes": {"jwt.credential.issuer": "spire", "jwt.credential.sub": third}})
    r = register(h, td, sub=third)
    assert r.status_code == 400, r.text
    assert kc.by_sub(third)[0]["enabled"] is False


@pytest.mark.parametrize("extra,drop,message", [
    ((), "DCRUpstreamCredentials", "needs DCRUpstreamCredentials"),
    ((), "DCRUpstreamSpiffeIdP", "needs DCRUpstreamSpiffeIdP"),
    (("DCRReregister new",), None, "DCRReregister new cannot be used"),
    (("DCRMaxRegistrationsPerSubject 2",), None, "must be 1 with DCRUpstream keycloak"),
    (("DCRUpstreamAuthMethod private_key_jwt",), None, "do not apply to DCRUpstream keycloak"),
    (("DCRUpstreamToken file:/etc/hostname",), None, "do not apply to DCRUpstream keycloak"),
])
def test_startup_errors(httpd_factory, kc, store_dir, td, extra, drop, message):
    lines = [l for l in kc_lines(kc, store_dir, td, extra=extra)
             if not drop or not l.startswith(drop + " ")]
    h = httpd_factory(vhosts=[Vhost(conf=lines)], start=False)
    p = h.config_test()
    assert p.returncode != 0
    assert message in p.stderr + p.stdout


def test_realm_url_must_be_a_realm(httpd_factory, kc, store_dir, td):
    lines = [l.replace("/realms/agents", "/agents") if l.startswith("DCRUpstream ") else l
             for l in kc_lines(kc, store_dir, td)]
    h = httpd_factory(vhosts=[Vhost(conf=lines)], start=False)
    p = h.config_test()
    assert p.returncode != 0 and "is not a realm URL" in p.stderr + p.stdout


def test_secret_file_checked_by_configtest(httpd_factory, kc, store_dir, td):
    lines = kc_lines(kc, store_dir, td)
    h = httpd_factory(vhosts=[Vhost(conf=lines)], start=False)
    assert h.config_test().returncode == 0
    for content, message in (("\n", "is empty"), ("two words\n", "alone on one line")):
        secret_file(store_dir, content)
        p = h.config_test()
        assert p.returncode != 0 and message in p.stderr + p.stdout
    os.unlink(os.path.join(store_dir, "kc.secret"))
    p = h.config_test()
    assert p.returncode != 0 and "cannot read" in p.stderr + p.stdout
    bad = [l.replace("file:", "") if l.startswith("DCRUpstreamCredentials") else l for l in lines]
    h2 = httpd_factory(vhosts=[Vhost(conf=bad)], start=False)
    p = h2.config_test()
    assert p.returncode != 0 and "file:<path>" in p.stderr + p.stdout


def test_per_subject_default_is_one(httpd_factory, kc, store_dir, td):
    """One registration per SPIFFE ID: a second one rewrites the first (DCRReregister replace)
    and the ceiling is 1 without being set."""
    h = server(httpd_factory, kc, store_dir, td)
    for name in ("a", "b", "c"):
        assert register(h, td, client_name=name).status_code == 201
    assert count(store_dir) == 1
    assert len(kc.by_sub(SUB)) == 1


def test_rfc7592_update_reaches_keycloak(httpd_factory, kc, store_dir, td):
    h = server(httpd_factory, kc, store_dir, td)
    reg = register(h, td, client_name="before").json()
    read = manage(h, reg, "GET").json()
    body = {k: v for k, v in read.items()
            if k not in ("registration_access_token", "registration_client_uri",
                         "client_id_issued_at", "client_secret_expires_at")}
    body["client_name"] = "after"
    u = manage(h, reg, "PUT", json=body)
    assert u.status_code == 200, u.text
    assert u.json()["client_name"] == "after"
    [c] = kc.by_sub(SUB)
    assert c["name"] == "after"
    assert c["clientAuthenticatorType"] == "federated-jwt" and "secret" not in c
    # Keycloak answers 400 to the next update: the RFC 7591 error, the record unchanged
    kc.fail_next("PUT", r"/clients/", 400, {"errorMessage": "Invalid client metadata"})
    body["client_name"] = "refused"
    u = manage(h, reg, "PUT", json=body)
    assert u.status_code == 400 and u.json()["error"] == "invalid_client_metadata", u.text
    assert manage(h, reg, "GET").json()["client_name"] == "after"
    assert kc.by_sub(SUB)[0]["name"] == "after"


def test_open_registration_clients(httpd_factory, kc, store_dir, td):
    """Clients without a statement are made from their vetted metadata: private_key_jwt with
    their JWKS (client-jwt), a client secret method with the secret Keycloak then holds."""
    from jwcrypto import jwk
    import json as _json
    h = httpd_factory(vhosts=[Vhost(conf=kc_lines(kc, store_dir, td,
                                                  extra=["DCRRequireStatement Off"]))])
    key = _json.loads(jwk.JWK.generate(kty="EC", crv="P-256", kid="k1").export_public())
    r = h.session().post(h.vhost.endpoint, timeout=30, json={
        "grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [key]}, "client_name": "keyed"})
    assert r.status_code == 201, r.text
    reg = r.json()
    assert reg["client_id"].startswith("dcr-")
    [c] = kc.by_client_id(reg["client_id"])
    assert c["clientAuthenticatorType"] == "client-jwt"
    assert c["attributes"]["use.jwks.string"] == "true"
    assert _json.loads(c["attributes"]["jwks.string"]) == {"keys": [key]}
    assert c["serviceAccountsEnabled"] is True and c["standardFlowEnabled"] is False
    assert "jwt.credential.sub" not in c["attributes"]
    assert reg["jwks"] == {"keys": [key]}
    r = h.session().post(h.vhost.endpoint, timeout=30, json={
        "redirect_uris": ["https://app.example/cb"], "grant_types": ["authorization_code"],
        "response_types": ["code"], "token_endpoint_auth_method": "client_secret_basic"})
    assert r.status_code == 201, r.text
    reg = r.json()
    [c] = kc.by_client_id(reg["client_id"])
    assert c["redirectUris"] == ["https://app.example/cb"]
    assert c["standardFlowEnabled"] is True and c["directAccessGrantsEnabled"] is False
    if reg["token_endpoint_auth_method"] == "none":  # no secrets for open clients here
        assert c["publicClient"] is True and c["clientAuthenticatorType"] == "none"
        assert "client_secret" not in reg and "secret" not in c
    else:  # a policy that lets them have one: the secret Keycloak holds is the workload's
        assert c["clientAuthenticatorType"] == "client-secret"
        assert reg["client_secret"] == c["secret"]
    assert kc.violations == []


def test_reregistration_while_the_delete_is_pending(httpd_factory, kc, store_dir, td):
    """A delete Keycloak did not take leaves the record expired until the sweep retries it; the
    same SPIFFE ID registering meanwhile gets its one Keycloak client back (adopted), and the
    record is the new registration's, which the sweep then leaves alone."""
    h = server(httpd_factory, kc, store_dir, td)
    h.allow_errors(r"upstream delete")
    reg = register(h, td, client_name="first").json()
    kc.fail_next("DELETE", r"/clients/", 500, {"error": "unknown_error"})
    assert manage(h, reg, "DELETE").status_code == 204
    assert len(kc.by_sub(SUB)) == 1  # not deleted there yet
    r = register(h, td, client_name="second")
    assert r.status_code == 201, r.text
    again = r.json()
    assert again["client_id"] == reg["client_id"]
    [c] = kc.by_sub(SUB)
    assert c["name"] == "second"
    assert manage(h, again, "GET").status_code == 200
    assert manage(h, reg, "GET").status_code == 401  # the old token is gone with its record
    assert count(store_dir) == 1
