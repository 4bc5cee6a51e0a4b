"""The registration endpoint in a real httpd: RFC 7591 registration, RFC 7592 read, the status
codes and headers of DESIGN.md's tables, CORS, logging."""

import json
import os
import re
import ssl

import pytest

from dcr_httpd import Vhost, raw_request
from store_util import JWKS_URI

META = {"redirect_uris": ["https://client.example.org/cb"], "client_name": "Test client",
        "grant_types": ["authorization_code"], "response_types": ["code"]}


def check_common(r):
    """Headers every answer carries."""
    assert r.headers.get("Cache-Control") == "no-store"
    assert r.headers.get("Pragma") == "no-cache"
    assert r.headers.get("Content-Type", "").startswith("application/json")


def check_error(r, status, error):
    check_common(r)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == error
    assert isinstance(body.get("error_description"), str) and body["error_description"]
    return body


def register(httpd, body=None, session=None, **kw):
    s = session or httpd.session()
    return s.post(httpd.endpoint, data=json.dumps(META if body is None else body),
                  headers={"Content-Type": "application/json", **kw.pop("headers", {})}, **kw)


def client_path(httpd, reg):
    """The registration_client_uri's path, requested by IP (no DNS in tests)."""
    uri = reg["registration_client_uri"]
    assert uri.startswith(httpd.vhost.public_base + "/")
    return httpd.url + uri[len(httpd.vhost.public_base):]


def test_register_happy_path(httpd):
    r = register(httpd, headers={"Host": "attacker.example:1"})
    assert r.status_code == 201, r.text
    check_common(r)
    reg = r.json()
    for k, v in META.items():
        assert reg[k] == v
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", reg["client_id"])
    assert abs(reg["client_id_issued_at"] - __import__("time").time()) < 60
    assert len(reg["registration_access_token"]) >= 22
    # built from ServerName and port, never from the forged Host header
    assert reg["registration_client_uri"] == "%s/register/%s" % (httpd.vhost.public_base,
                                                               reg["client_id"])
    assert "attacker" not in r.text
    assert r.headers["Location"] == reg["registration_client_uri"]
    entries = httpd.wait_access_log(1)
    assert entries[-1]["decision"] == "registered"
    assert entries[-1]["env_decision"] == "registered"
    assert entries[-1]["client_id"] == reg["client_id"]
    # tokens never reach the logs
    assert reg["registration_access_token"] not in httpd.error_log_text()
    assert reg["registration_access_token"] not in open(httpd.access_log).read()


def test_two_registrations_differ(httpd):
    a, b = register(httpd).json(), register(httpd).json()
    assert a["client_id"] != b["client_id"]
    assert a["registration_access_token"] != b["registration_access_token"]


def test_json_with_charset_parameter(httpd):
    s = httpd.session()
    r = s.post(httpd.endpoint, data=json.dumps(META),
               headers={"Content-Type": "Application/JSON; charset=utf-8"})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "application/jsonx", None])
def test_415_for_other_content_types(httpd, ctype):
    s = httpd.session()
    headers = {"Content-Type": ctype} if ctype else {}
    r = s.post(httpd.endpoint, data=json.dumps(META).encode(), headers=headers)
    if ctype is None:  # requests adds no Content-Type to raw bytes
        assert "Content-Type" not in r.request.headers
    check_error(r, 415, "invalid_request")


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS",
                                    "TRACE"])
def test_405_on_endpoint(httpd, method):
    r = httpd.session().request(method, httpd.endpoint,
                                headers={"Authorization": "Bearer secret-token"})
    assert r.status_code == 405
    assert r.headers["Allow"] == "POST"
    assert r.headers["Cache-Control"] == "no-store"
    if method != "HEAD":
        check_error(r, 405, "invalid_request")
        assert "secret-token" not in r.text  # TRACE must not echo the request


def test_405_on_client_uri(httpd):
    reg = register(httpd).json()
    r = httpd.session().post(client_path(httpd, reg), json=META)
    check_error(r, 405, "invalid_request")
    assert "GET" in r.headers["Allow"] and "POST" not in r.headers["Allow"]


def test_unknown_path_below_endpoint(httpd):
    r = httpd.session().get(httpd.endpoint + "/a/b")
    check_error(r, 404, "invalid_request")


def test_invalid_json_is_invalid_client_metadata(httpd):
    for data in ("{not json", "[1,2]", '{"client_name":"a","client_name":"b"}', ""):
        r = httpd.session().post(httpd.endpoint, data=data,
                                 headers={"Content-Type": "application/json"})
        check_error(r, 400, "invalid_client_metadata")


def test_invalid_redirect_uri(httpd):
    r = register(httpd, {"redirect_uris": ["http://client.example.org/cb"]})
    check_error(r, 400, "invalid_redirect_uri")


# -- 413: over a raw socket, since client libraries stumble on an early answer ----------------

LIMIT = 1024


@pytest.fixture
def small_body(httpd_factory):
    return httpd_factory([Vhost(conf=["DCRStore socache:shmcb", "DCRRequireStatement Off",
                                      "DCRMaxBodySize %d" % LIMIT])])


def _head(h, extra):
    return ("POST /register HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n%s\r\n"
            % (h.vhost.server_name, extra)).encode()


def test_413_content_length_without_reading(small_body):
    h = small_body
    # announce 50 MB, send only the head: the answer must come without the body being read
    status, headers, body = raw_request("127.0.0.1", h.vhost.port,
                                        _head(h, "Content-Length: 50000000\r\n"),
                                        tls_ctx=h.ssl_context())
    assert status == 413
    assert headers["cache-control"] == "no-store" and headers["pragma"] == "no-cache"
    assert json.loads(body)["error"] == "invalid_request"
    assert headers.get("connection", "").lower() == "close"


def test_413_chunked_stops_reading(small_body):
    h = small_body

    def send(sock):
        sock.sendall(_head(h, "Transfer-Encoding: chunked\r\n"))
        chunk = b"x" * 512
        try:  # keeps sending far beyond the limit; the server answers and closes early
            for _ in range(4000):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (OSError, ssl.SSLError):
            pass

    status, headers, body = raw_request("127.0.0.1", h.vhost.port, send,
                                        tls_ctx=h.ssl_context())
    assert status == 413
    assert json.loads(body)["error"] == "invalid_request"


def test_body_at_limit_is_read(small_body):
    h = small_body
    body = json.dumps(dict(META, client_name="n" * 10))
    body += " " * (LIMIT - len(body))
    assert len(body) == LIMIT
    r = h.session().post(h.endpoint, data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    r = h.session().post(h.endpoint, data=body + " ",
                         headers={"Content-Type": "application/json"})
    check_error(r, 413, "invalid_request")


def test_chunked_body_under_limit(small_body):
    h = small_body
    r = h.session().post(h.endpoint, data=iter([json.dumps(META).encode()]),
                         headers={"Content-Type": "application/json"})
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert r.status_code == 201, r.text


# -- TLS ------------------------------------------------------------------------------------

# A vhost that serves the endpoint without TLS while DCRRequireTLS is On no longer starts (it
# answered 403 to every request): test_configtest.py::test_handler_without_tls_while_tls_required.


def test_plain_http_allowed_with_require_tls_off(httpd_factory):
    h = httpd_factory([Vhost(tls=False, conf=["DCRStore socache:shmcb",
                                               "DCRRequireStatement Off", "DCRRequireTLS Off"])])
    r = h.session().post(h.endpoint, json=META)
    assert r.status_code == 201, r.text
    assert r.json()["registration_client_uri"].startswith("http://as.example.test:%d/register/"
                                                          % h.vhost.port)


def test_public_url_overrides_base(httpd_factory):
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb", "DCRRequireStatement Off",
                                   "DCRPublicURL https://as.example.com/"])])
    reg = register(h).json()
    assert reg["registration_client_uri"] == "https://as.example.com/register/" + reg["client_id"]


# -- statements -----------------------------------------------------------------------------

def test_statement_required_by_default(httpd_factory, tmp_path):
    from test_spiffe import TrustDomain
    os.chmod(tmp_path, 0o755)
    td = TrustDomain("example.org", str(tmp_path / "bundle.json"), kinds=(("ec1", "EC"),))
    # a trust anchor is needed to start with DCRRequireStatement On (test_configtest.py)
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb",
                                   "DCRTrustDomain example.org %s" % td.path])])
    r = register(h)
    body = check_error(r, 400, "invalid_software_statement")
    assert "required" in body["error_description"]
    # one info line with the code and the reason
    lines = [l for l in h.error_log_lines()
             if "[dcr_trusted:info]" in l and "invalid_software_statement" in l]
    assert len(lines) == 1, h.error_log_text()
    assert h.wait_access_log(1)[-1]["decision"] == "invalid_software_statement"


def test_statement_without_anchors_is_unapproved(httpd):
    stmt = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIn0.c2ln"
    r = register(httpd, dict(META, software_statement=stmt))
    check_error(r, 400, "unapproved_software_statement")
    assert stmt not in r.text


# -- RFC 7592 read --------------------------------------------------------------------------

def test_read_with_right_token(httpd):
    reg = register(httpd).json()
    r = httpd.session().get(client_path(httpd, reg), headers={
        "Authorization": "Bearer " + reg["registration_access_token"]})
    assert r.status_code == 200, r.text
    check_common(r)
    got = r.json()
    for k in ("client_id", "client_id_issued_at", "registration_client_uri", "redirect_uris",
              "client_name"):
        assert got[k] == reg[k]
    # RFC 7592 3: REQUIRED in the read answer; the token presented (only its hash is stored)
    assert got["registration_access_token"] == reg["registration_access_token"]
    assert httpd.wait_access_log(2)[-1]["decision"] == "read"


@pytest.mark.parametrize("auth", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer   "])
def test_read_without_token(httpd, auth):
    reg = register(httpd).json()
    headers = {"Authorization": auth} if auth else {}
    r = httpd.session().get(client_path(httpd, reg), headers=headers)
    assert r.status_code == 401
    check_common(r)
    assert r.headers["WWW-Authenticate"] == "Bearer"
    # RFC 6750 3.1: no error code when no token came, in the challenge or the body
    assert "error" not in r.json()
    assert r.json()["error_description"]


def test_read_with_wrong_token_or_unknown_client(httpd):
    reg = register(httpd).json()
    other = register(httpd).json()
    s = httpd.session()
    tok = reg["registration_access_token"]
    wrong = ("y" if tok[0] == "x" else "x") + tok[1:]  # never the token itself (1 in 64 was)
    cases = [
        (client_path(httpd, reg), "Bearer " + wrong),
        (client_path(httpd, reg), "Bearer " + other["registration_access_token"]),
        (httpd.endpoint + "/unknownclient0123456789", "Bearer " + reg["registration_access_token"]),
    ]
    bodies = set()
    for url, auth in cases:
        r = s.get(url, headers={"Authorization": auth})
        check_error(r, 401, "invalid_token")
        assert r.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
        bodies.add(r.text)
    assert len(bodies) == 1  # an unknown client looks exactly like a wrong token


# -- CORS -----------------------------------------------------------------------------------

ORIGIN = "https://inspector.example"


@pytest.fixture
def cors(httpd_factory):
    return httpd_factory([Vhost(conf=["DCRStore socache:shmcb", "DCRRequireStatement Off",
                                      "DCRCORSOrigins %s http://localhost:6274" % ORIGIN])])


def test_cors_preflight_and_post(cors):
    s = cors.session()
    r = s.options(cors.endpoint, headers={"Origin": ORIGIN,
                                          "Access-Control-Request-Method": "POST",
                                          "Access-Control-Request-Headers": "content-type"})
    assert r.status_code == 204
    assert "Content-Length" not in r.headers
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert "content-type" in r.headers["Access-Control-Allow-Headers"].lower()
    assert r.headers["Cache-Control"] == "no-store"
    r = register(cors, session=s, headers={"Origin": ORIGIN})
    assert r.status_code == 201
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in r.headers["Vary"]
    # errors carry CORS headers too, so the browser can read them
    r = s.post(cors.endpoint, data="x", headers={"Origin": ORIGIN, "Content-Type": "text/plain"})
    assert r.status_code == 415 and r.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_cors_unlisted_origin(cors):
    s = cors.session()
    r = s.options(cors.endpoint, headers={"Origin": "https://evil.example",
                                          "Access-Control-Request-Method": "POST"})
    assert r.status_code == 405
    assert "Access-Control-Allow-Origin" not in r.headers
    r = register(cors, session=s, headers={"Origin": "https://evil.example"})
    assert r.status_code == 201
    assert "Access-Control-Allow-Origin" not in r.headers


def test_no_cors_headers_when_unset(httpd):
    s = httpd.session()
    r = s.options(httpd.endpoint, headers={"Origin": ORIGIN,
                                           "Access-Control-Request-Method": "POST"})
    assert r.status_code == 405
    r = register(httpd, session=s, headers={"Origin": ORIGIN})
    assert r.status_code == 201
    assert not [k for k in r.headers if k.lower().startswith("access-control-")]


# -- per-vhost isolation --------------------------------------------------------------------

def test_two_vhosts_two_stores(httpd_factory):
    a = Vhost(name="a.example.test")
    b = Vhost(name="b.example.test")
    h = httpd_factory([a, b])
    s = h.session()
    reg = s.post(a.endpoint, json=META).json()
    token = {"Authorization": "Bearer " + reg["registration_access_token"]}
    assert reg["registration_client_uri"].startswith(a.public_base + "/register/")
    assert s.get(a.endpoint + "/" + reg["client_id"], headers=token).status_code == 200
    r = s.get(b.endpoint + "/" + reg["client_id"], headers=token)
    check_error(r, 401, "invalid_token")


def test_vhost_settings_do_not_leak(httpd_factory, tmp_path):
    from test_spiffe import TrustDomain
    os.chmod(tmp_path, 0o755)
    td = TrustDomain("example.org", str(tmp_path / "bundle.json"), kinds=(("ec1", "EC"),))
    a = Vhost(name="a.example.test", conf=["DCRStore socache:shmcb",  # statement required
                                           "DCRTrustDomain example.org %s" % td.path])
    b = Vhost(name="b.example.test", conf=["DCRStore socache:shmcb", "DCRRequireStatement Off",
                                           "DCRAllowedGrantTypes client_credentials"])
    h = httpd_factory([a, b])
    s = h.session()
    check_error(s.post(a.endpoint, json=META), 400, "invalid_software_statement")
    r = s.post(b.endpoint, json=dict(META, grant_types=["client_credentials"],
                                     response_types=[], jwks_uri=JWKS_URI))
    assert r.status_code == 201, r.text
    assert r.json()["grant_types"] == ["client_credentials"]


# -- shmcb is a cache -----------------------------------------------------------------------

def test_shmcb_loses_registrations_on_graceful_restart(httpd):
    reg = register(httpd).json()
    token = {"Authorization": "Bearer " + reg["registration_access_token"]}
    s = httpd.session()
    assert s.get(client_path(httpd, reg), headers=token).status_code == 200
    httpd.graceful()
    r = httpd.session().get(client_path(httpd, reg), headers=token)
    check_error(r, 401, "invalid_token")  # as docs/storage-socache.md says


def test_record_too_large_for_socache_entry(httpd_factory):
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb:data/small(32768)",
                                   "DCRRequireStatement Off"])])
    big = {"redirect_uris": ["https://c.example/cb/%d/%s" % (i, "p" * 1000) for i in range(30)]}
    r = h.session().post(h.endpoint, json=big)
    check_error(r, 500, "server_error")
    lines = [l for l in h.error_log_lines() if "[dcr_trusted:error]" in l]
    assert lines and "refused a" in lines[0] and "shmcb" in lines[0]
    h.allow_errors(r"\[socache_shmcb:error\].*AH0(0844|0833)", r"\[dcr_trusted:error\].*refused a")
    # a normal record still fits
    assert h.session().post(h.endpoint, json=META).status_code == 201


def test_413_before_100_continue(small_body):
    h = small_body
    status, headers, body = raw_request(
        "127.0.0.1", h.vhost.port,
        _head(h, "Content-Length: 2000\r\nExpect: 100-continue\r\n"), tls_ctx=h.ssl_context())
    assert status == 413  # the first status line: no "100 Continue" invited the body


def test_registration_lifetime_expires(httpd_factory):
    import time
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb", "DCRRequireStatement Off",
                                   "DCRRegistrationLifetime 2"])])
    reg = register(h).json()
    token = {"Authorization": "Bearer " + reg["registration_access_token"]}
    assert h.session().get(client_path(h, reg), headers=token).status_code == 200
    time.sleep(3.1)
    r = h.session().get(client_path(h, reg), headers=token)
    check_error(r, 401, "invalid_token")


def test_endpoint_at_nested_location_and_trailing_slash(httpd_factory):
    h = httpd_factory([Vhost(location="/oauth/register")])
    r = h.session().post(h.url + "/oauth/register", json=META)
    assert r.status_code == 201, r.text
    reg = r.json()
    assert reg["registration_client_uri"] == "%s/oauth/register/%s" % (h.vhost.public_base,
                                                                     reg["client_id"])
    r = h.session().post(h.url + "/oauth/register/", json=META)
    assert r.status_code == 201
    # a sibling path that only shares the prefix is not the endpoint
    assert h.session().post(h.url + "/oauth/registerx", json=META).status_code == 404


# -- RFC 7592 update and delete -------------------------------------------------------------

def test_update_replaces_metadata(httpd):
    reg = register(httpd).json()
    s = httpd.session()
    auth = {"Authorization": "Bearer " + reg["registration_access_token"]}
    new = {"client_id": reg["client_id"], "redirect_uris": ["https://client.example.org/new"],
           "client_name": "Renamed"}
    r = s.put(client_path(httpd, reg), json=new, headers=auth)
    assert r.status_code == 200, r.text
    check_common(r)
    assert r.json()["client_name"] == "Renamed"
    got = s.get(client_path(httpd, reg), headers=auth).json()
    assert got["redirect_uris"] == ["https://client.example.org/new"]
    assert got["client_name"] == "Renamed"
    put = [e for e in httpd.wait_access_log(3) if e["method"] == "PUT"]
    assert put[0]["status"] == 200 and put[0]["client_id"] == reg["client_id"]
    assert put[0]["decision"] == "updated"


def test_update_needs_token_and_json(httpd):
    reg = register(httpd).json()
    s = httpd.session()
    new = {"client_id": reg["client_id"], "redirect_uris": ["https://client.example.org/x"]}
    r = s.put(client_path(httpd, reg), json=new)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert "error" not in r.json() and r.json()["error_description"]  # RFC 6750 3.1
    r = s.delete(client_path(httpd, reg))
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert "error" not in r.json()
    r = s.put(client_path(httpd, reg), json=new, headers={"Authorization": "Bearer nope"})
    check_error(r, 401, "invalid_token")
    r = s.put(client_path(httpd, reg), data="x", headers={
        "Content-Type": "text/plain",
        "Authorization": "Bearer " + reg["registration_access_token"]})
    check_error(r, 415, "invalid_request")
    r = s.put(client_path(httpd, reg), json=dict(new, registration_access_token="t"), headers={
        "Authorization": "Bearer " + reg["registration_access_token"]})
    assert r.status_code == 400
    check_common(r)


def test_delete(httpd):
    reg = register(httpd).json()
    s = httpd.session()
    auth = {"Authorization": "Bearer " + reg["registration_access_token"]}
    check_error(s.delete(client_path(httpd, reg), headers={"Authorization": "Bearer x"}), 401,
                "invalid_token")
    r = s.delete(client_path(httpd, reg), headers=auth)
    assert r.status_code == 204
    assert r.headers["Cache-Control"] == "no-store"
    assert r.content == b""
    assert "Content-Length" not in r.headers and "Content-Type" not in r.headers
    check_error(s.get(client_path(httpd, reg), headers=auth), 401, "invalid_token")
    check_error(s.delete(client_path(httpd, reg), headers=auth), 401, "invalid_token")
    assert [e["decision"] for e in httpd.wait_access_log(5)][1:] == [
        "invalid_token", "deleted", "invalid_token", "invalid_token"]


def test_cors_preflight_on_client_uri(cors):
    reg = register(cors).json()
    r = cors.session().options(client_path(cors, reg), headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "DELETE"})
    assert r.status_code == 204
    assert "DELETE" in r.headers["Access-Control-Allow-Methods"]
    r = cors.session().options(client_path(cors, reg), headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "ET"})
    assert r.status_code == 405


def test_vhost_list_replaces_main_server_list(httpd_factory):
    a = Vhost(name="a.example.test")
    b = Vhost(name="b.example.test", conf=["DCRStore socache:shmcb", "DCRRequireStatement Off",
                                           "DCRAllowedGrantTypes client_credentials",
                                           "DCRAllowedGrantTypes refresh_token"])
    h = httpd_factory([a, b], server_conf="DCRAllowedGrantTypes authorization_code "
                                          "client_credentials")
    want = dict(META, grant_types=["authorization_code", "client_credentials",
                                   "refresh_token"], jwks_uri=JWKS_URI)
    s = h.session()
    ra = s.post(a.endpoint, json=want)
    rb = s.post(b.endpoint, json=want)
    assert ra.status_code == 201 and rb.status_code == 201, (ra.text, rb.text)
    assert sorted(ra.json()["grant_types"]) == ["authorization_code", "client_credentials"]
    assert sorted(rb.json()["grant_types"]) == ["client_credentials", "refresh_token"]
