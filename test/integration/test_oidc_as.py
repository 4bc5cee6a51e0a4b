"""The upstream test rig on its own (README.md, "The authorization server rig"): node
oidc-provider (oidc_as.OidcAS) registers a workload behind its initial access token, issues it
an access token for private_key_jwt (workload.Workload), and mod_auth_openidc as a resource
server (resource_server.ResourceServer) serves a resource for that token only. Its RFC 7592
read, update (token rotation) and delete, and the control port's client list, faults and
down/up, are what test_upstream.py builds on."""

import os

import pytest
import requests

from dcr_httpd import Vhost
from oidc_as import PROXY_MODULES
from resource_server import MODULES, OIDC_SO, RESOURCE, ResourceServer
from workload import Workload

pytestmark = pytest.mark.skipif(
    not os.path.exists(OIDC_SO),
    reason="mod_auth_openidc not installed (libapache2-mod-auth-openidc, .ci/packages-interop.txt)")

CC = {"grant_types": ["client_credentials"], "response_types": [], "redirect_uris": [],
      "token_endpoint_auth_method": "private_key_jwt"}


def rfc7592(server, method, uri, token, **kw):
    """server: what trusts uri's certificate (the OidcAS, or the httpd in front of it)."""
    with server.session() as s:
        return s.request(method, uri, headers={"Authorization": "Bearer " + token},
                         timeout=10, **kw)


@pytest.fixture
def rig(httpd_factory, oidc_as_factory):
    """One httpd with two vhosts: the resource server (mod_auth_openidc introspecting at the
    AS directly) and a reverse proxy in front of the AS, whose URL is the AS's issuer."""
    front = Vhost(name="as.example.test", location=None, conf=[])
    a = oidc_as_factory(issuer=front.url)
    front.conf = a.proxy_conf()
    rs = ResourceServer(a)
    h = httpd_factory(vhosts=[Vhost(name="rs.example.test", location=None, conf=rs.conf()),
                              front], modules=MODULES + PROXY_MODULES,
                      log_level="notice dcr_trusted:debug auth_openidc:info")
    return a, h, rs


def get_resource(h, rs, token=None):
    headers = {"Authorization": "Bearer " + token} if token is not None else {}
    with h.session() as s:
        return s.get(h.url + rs.path, headers=headers, timeout=10)


def test_workload_token_is_served_by_the_resource_server(rig):
    a, h, rs = rig
    base = a.issuer  # the proxy: every AS call below goes through httpd
    assert base == h.vhosts[1].url and base != a.url
    with h.session() as s:
        meta = s.get(base + "/.well-known/openid-configuration", timeout=10).json()
    assert meta["issuer"] == base and meta["registration_endpoint"] == base + "/reg"
    assert meta["token_endpoint"] == base + "/token"
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]

    w = Workload()
    # Without the initial access token, or with a wrong one: refused, nothing stored.
    for bad in ("", "not-" + a.initial_access_token):
        r = a.register(dict(CC, jwks=w.jwks), token=bad, session=h.session(), url=base + "/reg")
        assert r.status_code == 401 and r.json()["error"] == "invalid_token", r.text
    assert a.count() == 0 and a.clients() == []

    r = a.register(dict(CC, jwks=w.jwks, client_name="workload"), session=h.session(),
                   url=base + "/reg")
    assert r.status_code == 201, r.text
    reg = r.json()
    cid = reg["client_id"]
    assert reg["token_endpoint_auth_method"] == "private_key_jwt"
    assert "client_secret" not in reg and reg["jwks"] == w.jwks
    assert reg["registration_client_uri"] == base + "/reg/" + cid
    # The provider's own storage holds it.
    assert [c["client_id"] for c in a.clients()] == [cid]
    assert a.client(cid)["jwks"] == w.jwks and a.client("nope") is None

    t = w.token_request(meta["token_endpoint"], cid, a.issuer, h.ca_file)
    assert t.status_code == 200 and t.json()["token_type"] == "Bearer", t.text
    token = t.json()["access_token"]
    ok = get_resource(h, rs, token)
    assert ok.status_code == 200, (ok.status_code, ok.text, h.error_log_text()[-2000:])
    assert ok.content == RESOURCE
    assert ok.headers["X-Remote-User"] == cid  # introspection named this client
    for bad in (None, "garbage", token[:-2]):
        r = get_resource(h, rs, bad)
        assert r.status_code == 401 and r.content != RESOURCE, bad
    assert get_resource(h, rs, w.access_token(a, cid)).status_code == 200  # direct, too

    # Another key cannot speak for the client.
    thief = Workload(kid=w.kid)
    r = thief.token_request(a.token_endpoint, cid, a.issuer, a.ca_file)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text

    # RFC 7592: read with the registration access token; an update rotates the token (the
    # old one is dead at once); delete.
    uri, rat = reg["registration_client_uri"], reg["registration_access_token"]
    assert rfc7592(h, "GET", uri, "x" + rat).status_code == 401
    g = rfc7592(h, "GET", uri, rat)
    assert g.status_code == 200 and g.json()["client_id"] == cid, g.text
    p = rfc7592(h, "PUT", uri, rat, json=dict(CC, client_id=cid, jwks=w.jwks,
                                              client_name="renamed"))
    assert p.status_code == 200, p.text
    old, rat = rat, p.json()["registration_access_token"]
    assert rat != old and p.json()["client_name"] == "renamed"
    assert rfc7592(h, "GET", uri, old).status_code == 401
    assert a.client(cid)["client_name"] == "renamed"
    assert rfc7592(h, "DELETE", uri, rat).status_code == 204
    assert a.client(cid) is None and a.count() == 0
    r = w.token_request(a.token_endpoint, cid, a.issuer, a.ca_file)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_faults_and_outage_keep_the_clients(oidc_as_factory):
    a = oidc_as_factory(rotate_registration_access_token=False)
    w = Workload()
    reg = a.register(dict(CC, jwks=w.jwks, software_id="rig-test")).json()
    uri, rat = reg["registration_client_uri"], reg["registration_access_token"]
    assert "software_id" not in reg and "software_id" not in a.client(reg["client_id"])
    # Rotation off: an update keeps the token; switched on, the next one rotates it.
    body = dict(CC, client_id=reg["client_id"], jwks=w.jwks)
    p = rfc7592(a, "PUT", uri, rat, json=body)
    assert p.status_code == 200 and p.json()["registration_access_token"] == rat
    assert a.rotation(True) is True
    p = rfc7592(a, "PUT", uri, rat, json=body)
    first, rat = rat, p.json()["registration_access_token"]
    assert p.status_code == 200 and rat != first
    # One failing delete, then the next one goes through.
    a.fail(status=503, methods=["DELETE"], times=1)
    assert a.register(dict(CC, jwks=Workload().jwks)).status_code == 201  # POST unaffected
    assert rfc7592(a, "DELETE", uri, rat).status_code == 503
    assert a.client(reg["client_id"]) is not None
    a.fail(mode="reset")
    with pytest.raises(requests.ConnectionError):
        a.register(dict(CC, jwks=w.jwks))
    a.fail(mode="hang")
    with pytest.raises(requests.Timeout):
        a.register(dict(CC, jwks=w.jwks), timeout=0.5)
    a.heal()
    a.down()
    with pytest.raises(requests.ConnectionError):
        rfc7592(a, "GET", uri, rat)
    a.up()
    assert rfc7592(a, "DELETE", uri, rat).status_code == 204
    assert a.count() == 1
    calls = a.registration_calls()
    assert [(c["method"], c["status"], c["fault"]) for c in calls] == [
        ("POST", 201, None), ("PUT", 200, None), ("PUT", 200, None), ("POST", 201, None),
        ("DELETE", 503, "status"), ("POST", None, "reset"), ("POST", None, "hang"),
        ("DELETE", 204, None)]
    # What was sent, as sent: the bearer tokens, members the stored client drops.
    assert calls[0]["authorization"] == "Bearer " + a.initial_access_token
    assert calls[0]["body"]["software_id"] == "rig-test"
    assert calls[1]["authorization"] == calls[2]["authorization"] == "Bearer " + first
    assert calls[4]["authorization"] == calls[-1]["authorization"] == "Bearer " + rat
    assert calls[4]["body"] is None  # the fault answered, the provider never saw it
