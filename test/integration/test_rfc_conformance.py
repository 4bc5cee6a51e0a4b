"""Protocol defects of issue 11 against a real httpd: an RFC 7592 client PUTs back what a read
returned (server-managed members equal to the registered values are ignored, other values
refused; statement values the server normalised compare with what was registered); a
statement's member drops the request's language variants of it; native apps may use
reverse-domain private-use schemes unlisted (RFC 8252 7.1); web clients are kept off loopback
only for the implicit grant (OIDC Registration)."""

import pytest

from dcr_httpd import Vhost
from test_endpoint import check_error, client_path, register
from test_vc import env, post  # noqa: F401  (env is a fixture)


def bearer(reg):
    return {"Authorization": "Bearer " + reg["registration_access_token"]}


def path_of(h, reg):
    return h.url + reg["registration_client_uri"][len(h.vhost.public_base):]


def test_put_back_what_get_returned(httpd):
    reg = register(httpd).json()
    s = httpd.session()
    got = s.get(client_path(httpd, reg), headers=bearer(reg)).json()
    assert "client_id_issued_at" in got and "registration_client_uri" in got
    # RFC 7592 3: the read carries the token; it goes back too
    assert got["registration_access_token"] == reg["registration_access_token"]
    r = s.put(client_path(httpd, reg), json=got, headers=bearer(reg))
    assert r.status_code == 200, r.text
    assert r.json() == got
    # and without the token, as a client that keeps it apart sends it
    r = s.put(client_path(httpd, reg), json={k: v for k, v in got.items()
                                             if k != "registration_access_token"},
              headers=bearer(reg))
    assert r.status_code == 200, r.text
    # a changed server-managed member is refused, and nothing changes
    for member, value in [("client_id_issued_at", got["client_id_issued_at"] - 1),
                          ("registration_client_uri", got["registration_client_uri"] + "x"),
                          ("registration_access_token", "x" + reg["registration_access_token"]),
                          ("client_secret_expires_at", 0)]:
        r = s.put(client_path(httpd, reg),
                  json=dict(got, client_name="Changed", **{member: value}), headers=bearer(reg))
        check_error(r, 400, "invalid_client_metadata")
    assert s.get(client_path(httpd, reg), headers=bearer(reg)).json() == got


def test_put_back_normalised_statement(env):  # noqa: F811
    """The VC asks for a grant outside policy (dropped), a list with a duplicate and a secret
    method (replaced): the read shows the normalised values, and they go back as they are."""
    make, issuer, status, db = env
    h = make()
    st = issuer.vc2(grant_types=["authorization_code", "implicit", "authorization_code"],
                    redirect_uris=["https://agent.example.com/cb", "https://agent.example.com/cb"],
                    token_endpoint_auth_method="client_secret_basic")
    r = post(h, st)
    assert r.status_code == 201, r.text
    reg = r.json()
    assert reg["grant_types"] == ["authorization_code"]
    assert reg["token_endpoint_auth_method"] == "none"
    s = h.session()
    got = s.get(path_of(h, reg), headers=bearer(reg)).json()
    r = s.put(path_of(h, reg), json=got, headers=bearer(reg))
    assert r.status_code == 200, r.text
    for k in ("grant_types", "response_types", "redirect_uris", "token_endpoint_auth_method",
              "client_name", "software_statement"):
        assert r.json()[k] == got[k], k
    # a value neither registered nor in the statement is a change
    r = s.put(path_of(h, reg), json=dict(got, grant_types=["client_credentials"]),
              headers=bearer(reg))
    check_error(r, 400, "invalid_client_metadata")


def test_put_back_with_a_secret(env):  # noqa: F811
    make, issuer, status, db = env
    h = make(extra=["DCRVCAuthMethod client_secret_basic", "DCRRegistrationLifetime 86400"])
    reg = post(h, issuer.vc2()).json()
    s = h.session()
    got = s.get(path_of(h, reg), headers=bearer(reg)).json()
    assert got["client_secret_expires_at"] == reg["client_secret_expires_at"]
    r = s.put(path_of(h, reg), json=got, headers=bearer(reg))
    assert r.status_code == 200, r.text
    assert r.json()["client_secret_expires_at"] == reg["client_secret_expires_at"]
    r = s.put(path_of(h, reg), json=dict(got, client_secret_expires_at=0), headers=bearer(reg))
    check_error(r, 400, "invalid_client_metadata")


def test_statement_member_drops_request_variants(env):  # noqa: F811
    make, issuer, status, db = env
    h = make()
    r = post(h, issuer.vc2(), **{"client_name#en": "Evil Corp Login",
                                 "client_name#de": "Anmeldung", "tos_uri#de":
                                 "https://agent.example.com/agb"})
    assert r.status_code == 201, r.text
    reg = r.json()
    assert reg["client_name"] == "Agent from the VC"
    assert "client_name#en" not in reg and "client_name#de" not in reg
    assert reg["tos_uri#de"] == "https://agent.example.com/agb"  # not from the statement


@pytest.mark.parametrize("uri,app_type,ok", [
    ("com.example.app:/oauth2redirect", "native", True),
    ("com.example.app:/oauth2redirect", None, False),
    ("com.example.app:/oauth2redirect", "web", False),
    ("myapp:/cb", "native", False),
])
def test_reverse_domain_schemes_for_native_apps(httpd, uri, app_type, ok):
    body = {"redirect_uris": [uri]}
    if app_type:
        body["application_type"] = app_type
    r = register(httpd, body)
    if ok:
        assert r.status_code == 201, r.text
        assert r.json()["redirect_uris"] == [uri]
    else:
        check_error(r, 400, "invalid_redirect_uri")


def test_web_loopback_refused_only_for_implicit(httpd_factory):
    h = httpd_factory(vhosts=[Vhost(conf=[
        "DCRStore socache:shmcb", "DCRRequireStatement Off",
        "DCRAllowedGrantTypes authorization_code implicit refresh_token",
        "DCRAllowedResponseTypes code token"])])
    loopback = ["https://app.example/cb", "http://127.0.0.1:8080/cb"]
    r = register(h, {"application_type": "web", "redirect_uris": loopback})
    assert r.status_code == 201, r.text
    r = register(h, {"application_type": "web", "redirect_uris": loopback,
                     "grant_types": ["implicit"], "response_types": ["token"]})
    body = check_error(r, 400, "invalid_redirect_uri")
    assert "redirect_uris[1]" in body["error_description"]
    r = register(h, {"application_type": "web", "redirect_uris": ["https://app.example/cb"],
                     "grant_types": ["implicit"], "response_types": ["token"]})
    assert r.status_code == 201, r.text
