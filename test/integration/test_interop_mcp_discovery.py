"""The MCP TypeScript SDK discovering this httpd as its authorization server: its
discoverAuthorizationServerMetadata(<issuer>) reads the document SetHandler dcr-metadata serves
(a file here: the module without an upstream), then registerClient() posts to the
registration_endpoint it found, which is the module's (interop/discover.mjs). The same with an
issuer path (the SDK tries the RFC 8414 and OpenID Connect forms in its own order).

The end to end run with an upstream authorization server (oidc-provider) points
DCRMetadataDocument at that server's discovery document instead of a file (metadata_vhost(),
as test_sdk_discovers_a_document_fetched_from_upstream does with the suite's HTTPS server):
    DCRMetadataDocument https://<oidc-provider host>/.well-known/openid-configuration
    DCRFetchCAFile <its CA>
with the provider's issuer set to this vhost's https://ServerName:port (what RFC 8414 3.3
requires of a reverse proxy in front of it); see docs/discovery.md."""

import json
import os
import shutil
import time

from bundle_server import BundleServer
from dcr_httpd import Vhost
from services import child_writable_dir
from test_interop_mcp import CLAUDE_CODE, run_node, sdk_version  # noqa: F401 (fixture)

ASMD = "/.well-known/oauth-authorization-server"
OIDC = "/.well-known/openid-configuration"


def as_document(issuer):
    return {"issuer": issuer, "authorization_endpoint": issuer + "/authorize",
            "token_endpoint": issuer + "/token",
            "registration_endpoint": "https://upstream.internal/reg",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
            # the OpenID Connect members the SDK's OIDC schema requires
            "jwks_uri": issuer + "/jwks", "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"]}


def metadata_vhost(source, location, conf=()):
    """The vhost named 127.0.0.1 (the SDK fetches by that name, so the issuer it discovers and
    the origin it registers at are this server's own), serving DCRMetadataDocument source at
    location. The hook for an upstream AS (oidc-provider): source = its discovery URL, conf =
    ["DCRFetchCAFile <its CA>"], its issuer = this vhost's public_base."""
    return Vhost(name="127.0.0.1", conf=["DCRStore socache:shmcb", "DCRRequireStatement Off",
                                         "DCRMetadataDocument %s" % source] + list(conf) +
                 ["<Location %s>" % location, "    SetHandler dcr-metadata", "</Location>"])


def server(httpd_factory, tmp_path, location, issuer_path=""):
    """The module without an upstream: the document from a file."""
    path = tmp_path / "as.json"
    v = metadata_vhost("file:%s" % path, location)
    path.write_text(json.dumps(as_document(v.public_base + issuer_path)))
    return httpd_factory(vhosts=[v])


def start_until_served(h, path):
    """Starts h and waits until its https-sourced document is fetched and served at path."""
    h.allow_errors(r"metadata document unavailable: .* no document yet")  # until fetched
    h.start()
    deadline = time.time() + 10
    while h.session().get(h.url + path, timeout=30).status_code != 200:
        assert time.time() < deadline, h.error_log_text()
        time.sleep(0.1)


def discover_and_register(h, issuer):
    return run_node(h, "discover.mjs", {"as_url": issuer, "clientMetadata": CLAUDE_CODE})


def test_sdk_discovers_then_registers(httpd_factory, tmp_path, sdk_version):  # noqa: F811
    h = server(httpd_factory, tmp_path, ASMD)
    issuer = h.vhost.public_base
    assert issuer == h.url  # by IP: no DNS in the test
    out = discover_and_register(h, issuer)
    assert out["ok"], out
    md = out["metadata"]
    assert md["issuer"] == issuer
    assert md["registration_endpoint"] == issuer + "/register"  # not the upstream's
    assert md["token_endpoint_auth_methods_supported"] == ["none"]
    assert out["requests"] == [
        {"method": "GET", "url": issuer + ASMD, "status": 200},
        {"method": "POST", "url": issuer + "/register", "status": 201}], out["requests"]
    info, raw = out["info"], json.loads(out["raw_registration"]["body"])
    assert info["client_id"] == raw["client_id"] and info["client_id"]
    assert info["token_endpoint_auth_method"] == "none"
    assert info["redirect_uris"] == CLAUDE_CODE["redirect_uris"]
    # the module registered it: RFC 7592 read with the token the SDK dropped
    g = h.session().get(h.url + "/register/" + raw["client_id"], timeout=30,
                        headers={"Authorization": "Bearer " + raw["registration_access_token"]})
    assert g.status_code == 200 and g.json()["client_id"] == raw["client_id"]
    regs = [e for e in h.wait_access_log(2) if e["method"] == "POST"]
    assert [(e["decision"], e["client_id"]) for e in regs] == [("registered", raw["client_id"])]


def test_sdk_discovers_oidc_document_of_an_issuer_path(httpd_factory, tmp_path,
                                                       sdk_version):  # noqa: F811
    """Issuer https://host:port/realms/agents served only as an OpenID Connect document at
    <issuer>/.well-known/openid-configuration: the SDK's 404s on the other forms, then it."""
    h = server(httpd_factory, tmp_path, "/realms/agents" + OIDC, issuer_path="/realms/agents")
    issuer = h.vhost.public_base + "/realms/agents"
    out = discover_and_register(h, issuer)
    assert out["ok"], out
    assert out["metadata"]["issuer"] == issuer
    assert out["requests"][-2:] == [
        {"method": "GET", "url": issuer + OIDC, "status": 200},
        {"method": "POST", "url": h.vhost.public_base + "/register", "status": 201}]
    assert all(r["status"] == 404 for r in out["requests"][:-2]), out["requests"]


def test_sdk_discovers_a_document_fetched_from_upstream(httpd_factory, sdk_version):  # noqa: F811
    """The document of an authorization server behind this httpd, fetched over https (the
    suite's HTTPS server stands in for the AS here; the oidc-provider run replaces it)."""
    d = child_writable_dir("dcr-mcp-as-")
    upstream = BundleServer(d)
    try:
        v = metadata_vhost(upstream.url, ASMD, conf=["DCRFetchCAFile %s" % upstream.ca])
        upstream.serve(as_document(v.public_base))
        h = httpd_factory(vhosts=[v], start=False)
        start_until_served(h, ASMD)
        out = discover_and_register(h, v.public_base)
        assert out["ok"], out
        assert out["metadata"]["registration_endpoint"] == v.public_base + "/register"
        assert [r["status"] for r in out["requests"]] == [200, 201]
    finally:
        upstream.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_sdk_discovers_and_registers_at_the_oidc_provider_upstream(httpd_factory, oidc_as_factory,
                                                                   sdk_version):  # noqa: F811
    """End to end with a real upstream: this httpd is the issuer's origin (a reverse proxy in
    front of node oidc-provider), serves the provider's own discovery document through
    dcr-metadata with registration_endpoint rewritten to the module, which forwards the SDK's
    registration to the provider (DCRUpstream rfc7591): the client_id the SDK gets is the
    provider's."""
    from oidc_as import PROXY_MODULES
    d = child_writable_dir("dcr-mcp-up-")
    try:
        token = os.path.join(d, "upstream.token")
        v = Vhost(name="127.0.0.1", conf=[])
        a = oidc_as_factory(issuer=v.public_base)
        with open(token, "w") as f:
            f.write(a.initial_access_token)
        v.conf = "\n".join([
            "DCRStore sqlite:%s" % os.path.join(d, "clients.db"), "DCRRequireStatement Off",
            "DCRUpstream rfc7591 %s" % a.registration_endpoint,
            "DCRUpstreamToken file:%s" % token, "DCRFetchCAFile %s" % a.ca_file,
            "DCRMetadataDocument https://localhost:%d%s" % (a.port, OIDC),
            # both metadata URLs: oidc-provider answers the RFC 8414 one too, which would hand
            # out its own registration endpoint past the module
            "<Location %s>" % OIDC, "    SetHandler dcr-metadata", "</Location>",
            "<Location %s>" % ASMD, "    SetHandler dcr-metadata", "</Location>",
            # the module's own paths; everything else is the provider's
            "ProxyPass /register !", "ProxyPass %s !" % OIDC, "ProxyPass %s !" % ASMD,
            a.proxy_conf()])
        h = httpd_factory(vhosts=[v], modules=PROXY_MODULES, start=False)
        start_until_served(h, OIDC)
        out = discover_and_register(h, v.public_base)
        assert out["ok"], out["requests"]
        md = out["metadata"]
        assert md["issuer"] == v.public_base
        assert md["registration_endpoint"] == v.public_base + "/register"
        # the provider's own (it names the host it was fetched at: docs/discovery.md)
        assert md["token_endpoint"].endswith("/token")
        assert "none" in md["token_endpoint_auth_methods_supported"]
        cid = out["info"]["client_id"]
        held = a.client(cid)  # the provider holds the client the SDK got
        assert held is not None, a.clients()
        assert held["redirect_uris"] == CLAUDE_CODE["redirect_uris"]
        assert held["token_endpoint_auth_method"] == "none"
        posts = [c for c in a.registration_calls() if c["method"] == "POST"]
        assert len(posts) == 1 and posts[0]["authorization"] == "Bearer " + a.initial_access_token
    finally:
        shutil.rmtree(d, ignore_errors=True)
