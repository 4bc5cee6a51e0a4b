"""SetHandler dcr-metadata: the authorization server's RFC 8414 / OpenID Connect discovery
document served by this httpd as the issuer's origin, with registration_endpoint pointing at the
module and token_endpoint_auth_methods_supported cut down to what the module registers. Sources:
a file (checked at startup: a wrong issuer stops httpd and `httpd -t`), or an https URL fetched
by the trust sources' watchdog from the suite's own HTTPS server (bundle_server.py), refreshed,
and served from the last good copy while the source is down."""

import json
import os
import re
import shutil
import sys
import time

import pytest

from bundle_server import BundleServer
from dcr_httpd import Vhost
from services import child_writable_dir
from test_trust_refresh import wait_for

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "interop"))
from svid import TrustDomain  # noqa: E402

ASMD = "/.well-known/oauth-authorization-server"
OIDC = "/.well-known/openid-configuration"


def upstream_doc(issuer, **extra):
    """An authorization server's own document, with what the module must not pass through."""
    doc = {"issuer": issuer,
           "authorization_endpoint": issuer + "/authorize",
           "token_endpoint": issuer + "/token",
           "registration_endpoint": "https://upstream.internal:8443/reg",
           "response_types_supported": ["code"],
           "grant_types_supported": ["authorization_code", "refresh_token"],
           "code_challenge_methods_supported": ["S256"],
           "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt",
                                                     "none", "client_secret_post"],
           "signed_metadata": "eyJhbGciOiJub25lIn0.eyJyZWdpc3RyYXRpb25fZW5kcG9pbnQiOiJ4In0.",
           "mtls_endpoint_aliases": {"token_endpoint": issuer + "/mtls/token",
                                     "registration_endpoint": "https://upstream.internal/reg"}}
    doc.update(extra)
    return doc


def metadata_vhost(source, locations=(ASMD,), conf=(), name="as.example.test", **kw):
    lines = ["DCRStore socache:shmcb", "DCRRequireStatement Off", "DCRMetadataDocument " + source]
    lines += list(conf)
    for loc in locations:
        lines += ["<Location %s>" % loc, "    SetHandler dcr-metadata", "</Location>"]
    return Vhost(name=name, conf=lines, **kw)


def write_doc(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f)
    return "file:%s" % path


def file_server(httpd_factory, tmp_path, doc_for, locations=(ASMD,), conf=(), issuer_path="",
                name="as.example.test", start=True, **kw):
    """A vhost serving a file document; doc_for(issuer) makes the file's contents."""
    path = str(tmp_path / "as-metadata.json")
    v = metadata_vhost("file:" + path, locations, conf, name=name, **kw)
    write_doc(path, doc_for(v.public_base + issuer_path))
    h = httpd_factory(vhosts=[v], start=False)
    if start:
        h.start()
    return h


def test_file_document_served_rewritten(httpd_factory, tmp_path):
    h = file_server(httpd_factory, tmp_path, upstream_doc)
    base = h.vhost.public_base
    r = h.session().get(h.url + ASMD, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert re.fullmatch(r"public, max-age=\d+", r.headers["Cache-Control"])
    doc = r.json()
    assert doc["issuer"] == base  # RFC 8414 3.3: the URL it was fetched from
    assert doc["registration_endpoint"] == base + "/register"  # this module, not the upstream's
    # open registration registers none or private_key_jwt; the upstream's order is kept
    assert doc["token_endpoint_auth_methods_supported"] == ["private_key_jwt", "none"]
    assert "signed_metadata" not in doc  # its signed registration_endpoint would win
    assert doc["mtls_endpoint_aliases"] == {"token_endpoint": base + "/mtls/token"}
    for k in ("authorization_endpoint", "token_endpoint", "response_types_supported",
              "code_challenge_methods_supported"):
        assert doc[k] == upstream_doc(base)[k]
    # a trailing slash is the same resource; HEAD has the headers and no body
    assert h.session().get(h.url + ASMD + "/", timeout=30).json() == doc
    head = h.session().head(h.url + ASMD, timeout=30)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == r.headers["Content-Length"]
    assert [e["decision"] for e in h.wait_access_log(3)] == ["metadata"] * 3
    # the registration endpoint it names registers (the same vhost)
    reg = h.session().post(h.url + "/register", json={"client_name": "x",
                                                      "grant_types": ["client_credentials"],
                                                      "jwks": {"keys": []}}, timeout=30)
    assert reg.status_code in (201, 400)  # reached the module either way
    assert reg.headers["Content-Type"] == "application/json"


def test_host_header_changes_nothing(httpd_factory, tmp_path):
    """The issuer and the registration endpoint come from the configuration, never from the
    request: a forged Host (or an absolute request URI) gets the same document."""
    h = file_server(httpd_factory, tmp_path, upstream_doc)
    want = h.session().get(h.url + ASMD, timeout=30).json()
    for host in ("evil.example", "as.example.test:1"):
        r = h.session().get(h.url + ASMD, headers={"Host": host}, timeout=30)
        assert r.status_code == 200 and r.json() == want


def test_public_url_is_the_issuer(httpd_factory, tmp_path):
    """Behind a TLS-terminating proxy: DCRPublicURL is the origin clients see."""
    h = file_server(httpd_factory, tmp_path, upstream_doc,
                    public_url="https://proxy.example:8443")
    doc = h.session().get(h.url + ASMD, timeout=30).json()
    assert doc["issuer"] == "https://proxy.example:8443"
    assert doc["registration_endpoint"] == "https://proxy.example:8443/register"


def test_only_get_and_head(httpd_factory, tmp_path):
    h = file_server(httpd_factory, tmp_path, upstream_doc)
    s = h.session()
    for method in ("POST", "PUT", "DELETE", "PATCH", "TRACE"):
        r = s.request(method, h.url + ASMD, data=b"{}", timeout=30,
                      headers={"Content-Type": "application/json"})
        assert r.status_code == 405, (method, r.status_code, r.text)
        assert r.headers["Allow"] == "GET, HEAD"
        assert r.json()["error"] == "invalid_request"
        assert "Cache-Control" in r.headers and "max-age" not in r.headers["Cache-Control"]
    # below the metadata path: nothing
    assert s.get(h.url + ASMD + "/x", timeout=30).status_code == 404


def test_cors_as_the_registration_endpoint(httpd_factory, tmp_path):
    h = file_server(httpd_factory, tmp_path, upstream_doc,
                    conf=["DCRCORSOrigins https://app.example"])
    s = h.session()
    r = s.get(h.url + ASMD, headers={"Origin": "https://app.example"}, timeout=30)
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Origin" in r.headers["Vary"]
    r = s.get(h.url + ASMD, headers={"Origin": "https://evil.example"}, timeout=30)
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers
    pre = s.options(h.url + ASMD, timeout=30, headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "mcp-protocol-version"})
    assert pre.status_code == 204, pre.text
    assert "MCP-Protocol-Version" in pre.headers["Access-Control-Allow-Headers"]
    assert pre.headers["Access-Control-Allow-Origin"] == "https://app.example"
    pre = s.options(h.url + ASMD, timeout=30, headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 405 and "Access-Control-Allow-Methods" not in pre.headers


def test_oidc_and_rfc8414_paths_of_one_issuer(httpd_factory, tmp_path):
    h = file_server(httpd_factory, tmp_path, upstream_doc, issuer_path="/realms/agents",
                    locations=(ASMD + "/realms/agents", "/realms/agents" + OIDC))
    base = h.vhost.public_base
    a = h.session().get(h.url + ASMD + "/realms/agents", timeout=30)
    b = h.session().get(h.url + "/realms/agents" + OIDC, timeout=30)
    assert a.status_code == b.status_code == 200
    assert a.json() == b.json()
    assert a.json()["issuer"] == base + "/realms/agents"
    assert a.json()["registration_endpoint"] == base + "/register"


def test_auth_methods_follow_the_vhost_policy(httpd_factory, tmp_path):
    """SPIFFE clients only: DCRSpiffeAuthMethod, when the upstream supports it."""
    td = TrustDomain("example.org", tmp_path / "bundle.json")
    doc = lambda iss: upstream_doc(iss, token_endpoint_auth_methods_supported=[
        "client_secret_basic", "private_key_jwt", "none"])
    h = file_server(httpd_factory, tmp_path, doc,
                    conf=["DCRRequireStatement On", td.directive(),
                          "DCRSpiffeAuthMethod private_key_jwt"])
    assert h.session().get(h.url + ASMD, timeout=30).json()[
        "token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    # the default spiffe_jwt, which this upstream does not list: nothing to advertise
    h2 = file_server(httpd_factory, tmp_path, doc, conf=["DCRRequireStatement On", td.directive()])
    assert h2.session().get(h2.url + ASMD, timeout=30).json()[
        "token_endpoint_auth_methods_supported"] == []


def test_file_issuer_mismatch_refused(httpd_factory, tmp_path):
    """A document naming another issuer is never served: httpd -t and the start refuse it."""
    for wrong in (lambda base: "https://evil.example",
                  lambda base: base + "/",  # another issuer, for a strict client
                  lambda base: base.replace("https://", "http://"),
                  lambda base: base + "/realms/agents"):
        h = file_server(httpd_factory, tmp_path, lambda b: upstream_doc(wrong(b)), start=False)
        t = h.config_test()
        assert t.returncode != 0 and "RFC 8414 3.3" in t.stderr, t.stderr
        p = h.start(expect_fail=True)
        assert "is not this server's issuer '%s'" % h.vhost.public_base in p.stderr, p.stderr
    # duplicate members, not an object, no issuer: refused the same way
    for text in ('{"issuer": "%s", "issuer": "https://evil.example"}', '["%s"]',
                 '{"token_endpoint": "%s/token"}'):
        path = str(tmp_path / "bad.json")
        v = metadata_vhost("file:" + path)
        with open(path, "w") as f:
            f.write(text % v.public_base)
        h = httpd_factory(vhosts=[v], start=False)
        assert h.config_test().returncode != 0
        assert "DCRMetadataDocument %s" % path in h.start(expect_fail=True).stderr


def test_configurations_refused(httpd_factory, tmp_path):
    doc = str(tmp_path / "d.json")
    write_doc(doc, {"issuer": "https://x"})
    cases = [
        # no document
        (Vhost(conf=["DCRStore socache:shmcb", "DCRRequireStatement Off", "<Location %s>" % ASMD,
                     "    SetHandler dcr-metadata", "</Location>"]),
         "without DCRMetadataDocument"),
        # a path that implies no issuer
        (metadata_vhost("file:" + doc, locations=("/metadata",)), "the path must be"),
        # two issuers
        (metadata_vhost("file:" + doc, locations=(ASMD + "/a", "/b" + OIDC)), "two issuers"),
        # no registration endpoint in the vhost, or two
        (metadata_vhost("file:" + doc, location=None), "needs exactly one"),
        (metadata_vhost("file:" + doc, conf=["<Location /register2>",
                                             "    SetHandler dcr-registration", "</Location>"]),
         "needs exactly one"),
        # no https issuer
        (metadata_vhost("file:" + doc, conf=["DCRRequireTLS Off"], tls=False), "not https"),
        # inside a LocationMatch
        (Vhost(conf=["DCRStore socache:shmcb", "DCRRequireStatement Off",
                     "DCRMetadataDocument file:" + doc, "<LocationMatch ^/.well-known/.*>",
                     "    SetHandler dcr-metadata", "</LocationMatch>"]), "plain path"),
        # directive values
        (metadata_vhost("ftp://as.example/x"), "neither file:<path> nor an https:// URL"),
        (metadata_vhost("https://user@as.example/x"), "without userinfo"),
        (metadata_vhost("file:" + str(tmp_path / "missing.json")), "cannot read it"),
    ]
    for v, msg in cases:
        h = httpd_factory(vhosts=[v], start=False)
        t = h.config_test()
        assert t.returncode != 0 and msg in t.stderr, (msg, t.stderr)
    h = httpd_factory(vhosts=[metadata_vhost("file:" + doc, conf=["DCRMetadataDocument file:" +
                                                                  doc])], start=False)
    assert "set twice" in h.config_test().stderr


@pytest.fixture
def upstream():
    d = child_writable_dir("dcr-meta-")
    srv = BundleServer(d)
    yield srv
    srv.stop()
    shutil.rmtree(d, ignore_errors=True)


def remote_server(httpd_factory, upstream, stale=30):
    """A vhost whose document comes from upstream's /bundle (refreshed every second)."""
    v = metadata_vhost(upstream.url, conf=["DCRFetchCAFile %s" % upstream.ca])
    h = httpd_factory(vhosts=[v], start=False,
                      server_conf="DCRTrustRefresh 1 1\nDCRTrustMaxStale %d" % stale)
    h.allow_errors(r"metadata document unavailable", r"fetch failed", r"answer rejected")
    return h


def get(h):
    return h.session().get(h.url + ASMD, timeout=30)


def test_https_source_fetched_refreshed_and_checked(httpd_factory, upstream):
    h = remote_server(httpd_factory, upstream)
    base = h.vhost.public_base
    upstream.serve(upstream_doc(base, scopes_supported=["a"]))
    h.start()
    r = wait_for(lambda: get(h).status_code == 200 and get(h))
    assert r, h.error_log_text()
    assert r.json()["scopes_supported"] == ["a"]
    assert r.json()["registration_endpoint"] == base + "/register"
    assert r.json()["token_endpoint_auth_methods_supported"] == ["private_key_jwt", "none"]
    # the upstream changes its document: served within a refresh interval
    upstream.serve(upstream_doc(base, scopes_supported=["b"]))
    assert wait_for(lambda: get(h).json().get("scopes_supported") == ["b"], timeout=5)
    # a document naming another issuer (or not JSON, or too large) is refused: the last good
    # one stays served
    for bad, ctype in ((upstream_doc("https://evil.example", scopes_supported=["evil"]),
                        "application/json"),
                       (b"<html>login</html>", "text/html"),
                       (b'{"issuer": "' + base.encode() + b'", "x": "' + b"a" * 70000 + b'"}',
                        "application/json")):
        n = upstream.count()
        upstream.serve(bad, content_type=ctype)
        assert wait_for(lambda: upstream.count() >= n + 2, timeout=5)
        r = get(h)
        assert r.status_code == 200 and r.json()["scopes_supported"] == ["b"]
    log = h.error_log_text()
    assert re.search(r"DCRMetadataDocument of .*: answer rejected from %s: not a usable "
                     r"document: the document's issuer 'https://evil.example' is not this "
                     r"server's issuer" % re.escape(upstream.url), log), log


def test_changed_issuer_fetches_afresh_on_graceful(httpd_factory, upstream):
    """A graceful restart keeps a fetched document, but not one checked against another
    issuer: a new DCRPublicURL (the issuer) fetches at once instead of serving 503 until the
    next refresh of the old one (an hour here)."""
    v = metadata_vhost(upstream.url, conf=["DCRFetchCAFile %s" % upstream.ca])
    h = httpd_factory(vhosts=[v], start=False, server_conf="DCRTrustRefresh 3600 3600")
    h.allow_errors(r"metadata document unavailable", r"answer rejected")
    upstream.serve(upstream_doc(v.public_base))
    h.start()
    assert wait_for(lambda: get(h).status_code == 200), h.error_log_text()
    n = upstream.count()
    h.reload()  # the same source: kept, no fetch
    assert get(h).status_code == 200 and upstream.count() == n
    new = "https://proxy.example:8443"
    upstream.serve(upstream_doc(new))
    v.conf = "DCRPublicURL %s\n%s" % (new, v.conf)
    h.reload()
    assert wait_for(lambda: get(h).status_code == 200, timeout=5), h.error_log_text()
    assert get(h).json()["issuer"] == new
    assert upstream.count() == n + 1


def test_https_source_down_before_and_after_first_fetch(httpd_factory, upstream):
    h = remote_server(httpd_factory, upstream, stale=4)
    upstream.serve(upstream_doc(h.vhost.public_base))
    upstream.stop()
    h.start()  # an unreachable source does not stop the start
    r = get(h)
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "temporarily_unavailable"
    assert int(r.headers["Retry-After"]) > 0
    assert r.headers["Cache-Control"] == "no-store"
    assert re.search(r"temporarily_unavailable: metadata document unavailable: .*no document "
                     r"yet, the first fetch of %s has not succeeded" % re.escape(upstream.url),
                     h.error_log_text())
    upstream.start()
    assert wait_for(lambda: get(h).status_code == 200), h.error_log_text()
    upstream.stop()
    down_at = time.time()
    time.sleep(1.5)
    assert get(h).status_code == 200  # the last good document while the source is down
    time.sleep(max(0, down_at + 5.5 - time.time()))  # beyond DCRTrustMaxStale
    r = get(h)
    assert r.status_code == 503 and "Retry-After" in r.headers
    assert re.search(r"\[dcr_trusted:error\].*temporarily_unavailable: metadata document "
                     r"unavailable: DCRMetadataDocument of .*: the document from %s is stale"
                     % re.escape(upstream.url), h.error_log_text())
    upstream.start()
    assert wait_for(lambda: get(h).status_code == 200, timeout=5)
