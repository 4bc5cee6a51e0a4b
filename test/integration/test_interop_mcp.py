"""The MCP TypeScript SDK (@modelcontextprotocol/sdk, version pinned in interop/package.json)
registering against the module: its exported registerClient() run by node (interop/register.mjs)
over TLS, with bodies shaped like real MCP clients', the SDK's strict Zod parse of our answer,
our error descriptions surfacing through the SDK, and a JWT-SVID software statement carried in
clientMetadata. At the end, the same bodies through oauth4webapi, a strict OAuth client library
that insists on 201, a JSON content type and well-typed members."""

import json
import os
import shutil
import subprocess
import sys
import urllib.parse

import pytest

from dcr_httpd import Vhost
from node_deps import INTEROP, ensure_node_modules, node_env
from services import child_writable_dir

sys.path.insert(0, INTEROP)
from svid import TrustDomain  # noqa: E402

SDK = "@modelcontextprotocol/sdk"

# Bodies as real MCP clients send them (spec/oauth_vc.md 4.3).
CLAUDE_CODE = {"client_name": "Claude Code (dcr-interop)", "application_type": "native",
               "redirect_uris": ["http://localhost:3118/callback"],
               "grant_types": ["authorization_code", "refresh_token"],
               "response_types": ["code"], "token_endpoint_auth_method": "none"}
VSCODE = {"client_name": "Visual Studio Code",
          "redirect_uris": ["https://insiders.vscode.dev/redirect", "https://vscode.dev/redirect",
                            "http://127.0.0.1/", "http://127.0.0.1:33418/"],
          "grant_types": ["authorization_code", "refresh_token"],
          "token_endpoint_auth_method": "none"}
SDK_EXAMPLE = {"client_name": "Simple OAuth MCP Client",  # examples/client/simpleOAuthClient
               "redirect_uris": ["http://localhost:8090/callback"],
               "grant_types": ["authorization_code", "refresh_token"],
               "response_types": ["code"], "token_endpoint_auth_method": "client_secret_post"}


@pytest.fixture(scope="session")
def sdk_version():
    """The pinned packages in interop/node_modules (node_deps: `npm ci` when missing or
    stale); the SDK's version."""
    return ensure_node_modules()[SDK]


def run_node(h, script, job):
    env = node_env(h.ca_file)  # node's fetch trusts the harness CA
    p = subprocess.run(["node", os.path.join(INTEROP, script)], cwd=INTEROP, env=env,
                       input=json.dumps(job), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, "node failed:\n" + p.stderr
    return json.loads(p.stdout)


def sdk_register(h, client_metadata, metadata=None, as_url=None, scope=None):
    """Runs registerClient() in node; returns register.mjs's JSON (ok, info|error, raw)."""
    job = {"as_url": as_url or h.url, "metadata": metadata, "clientMetadata": client_metadata}
    if scope is not None:
        job["scope"] = scope
    out = run_node(h, "register.mjs", job)
    assert out["raw"] is not None, out  # the request reached our server
    return out


def raw_json(out):
    return json.loads(out["raw"]["body"])


def read_back(h, raw):
    """RFC 7592 read with the token the SDK dropped, requested by IP."""
    uri = raw["registration_client_uri"]
    assert uri.startswith(h.vhost.public_base + "/")
    return h.session().get(h.url + uri[len(h.vhost.public_base):], timeout=30,
                           headers={"Authorization": "Bearer " + raw["registration_access_token"]})


def check_public_client(h, out, body):
    """The SDK accepted the answer as a public client with the URIs it asked for."""
    assert out["ok"], out.get("error")
    info, raw = out["info"], raw_json(out)
    assert out["raw"]["status"] == 201
    assert out["raw"]["request_body"] == body  # the SDK sent the metadata unchanged
    assert "authorization" not in out["raw"]["request_headers"]
    assert info["client_id"] == raw["client_id"] and info["client_id"]
    assert info["redirect_uris"] == body["redirect_uris"]
    assert info["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in info and "client_secret" not in raw
    assert isinstance(info["client_id_issued_at"], int)
    # What the SDK's schema strips is still on the wire for RFC 7592.
    assert "registration_access_token" not in info
    g = read_back(h, raw)
    assert g.status_code == 200, g.text
    assert g.json()["client_id"] == info["client_id"]
    assert g.json()["redirect_uris"] == body["redirect_uris"]
    entries = [e for e in h.wait_access_log(1) if e["method"] == "POST"]
    assert (entries[-1]["decision"], entries[-1]["client_id"]) == ("registered", info["client_id"])
    return info, raw


@pytest.mark.parametrize("body", [CLAUDE_CODE, VSCODE, SDK_EXAMPLE],
                         ids=["claude-code", "vscode", "sdk-example-client_secret_post"])
def test_sdk_registers_mcp_client(httpd, sdk_version, body):
    # No AS metadata: the SDK falls back to <as>/register, our <Location>.
    out = sdk_register(httpd, body)
    assert out["raw"]["url"] == httpd.url + "/register"
    info, raw = check_public_client(httpd, out, body)
    assert info["grant_types"] == ["authorization_code", "refresh_token"]
    assert info.get("response_types", ["code"]) == ["code"]
    assert info["client_name"] == body["client_name"]


def test_sdk_uses_registration_endpoint_from_metadata(httpd_factory, sdk_version):
    h = httpd_factory(vhosts=[Vhost(location="/oauth/dcr")])
    meta = {"issuer": h.url, "authorization_endpoint": h.url + "/authorize",
            "token_endpoint": h.url + "/token", "response_types_supported": ["code"],
            "registration_endpoint": h.endpoint}
    out = sdk_register(h, CLAUDE_CODE, metadata=meta, scope="mcp:tools")
    assert out["raw"]["url"] == h.endpoint
    assert out["raw"]["request_body"]["scope"] == "mcp:tools"
    info, raw = check_public_client(h, out, dict(CLAUDE_CODE, scope="mcp:tools"))
    assert info["scope"] == "mcp:tools"
    assert raw["registration_client_uri"].startswith(h.vhost.public_base + "/oauth/dcr/")


@pytest.mark.parametrize("uri", ["javascript:alert(1)", "http://evil.example/callback",
                                 "https://client.example/cb#frag"])
def test_sdk_surfaces_refusal(httpd, sdk_version, uri):
    out = sdk_register(httpd, dict(CLAUDE_CODE, redirect_uris=[uri]))
    assert not out["ok"], out
    assert out["raw"]["status"] == 400
    err = raw_json(out)
    assert err["error"] == "invalid_redirect_uri"
    # The SDK hands the application our description, not a parse failure.
    assert out["error"]["message"] == err["error_description"] and err["error_description"]
    assert "Invalid OAuth error response" not in out["error"]["message"]
    assert not [e for e in httpd.wait_access_log(1) if e["decision"] == "registered"]


def test_sdk_invalid_client_metadata_is_typed(httpd, sdk_version):
    out = sdk_register(httpd, dict(CLAUDE_CODE, grant_types=["implicit"],
                                   response_types=["token"]))
    assert not out["ok"]
    err = raw_json(out)
    assert err["error"] == "invalid_client_metadata"
    # A code the SDK knows maps to its own error class.
    assert out["error"]["name"] == "InvalidClientMetadataError"
    assert out["error"]["errorCode"] == "invalid_client_metadata"
    assert out["error"]["message"] == err["error_description"]


@pytest.fixture
def spiffe_server(httpd_factory, tmp_path_factory):
    d = tmp_path_factory.mktemp("bundles")
    os.chmod(d, 0o755)
    td = TrustDomain("mcp.example.org", d / "bundle.json")
    # DCRRequireStatement defaults to On; said explicitly because it is what is tested.
    h = httpd_factory(vhosts=[Vhost(conf=["DCRStore socache:shmcb", "DCRRequireStatement On",
                                          td.directive()])])
    return h, td


def test_sdk_registers_with_jwt_svid(spiffe_server, sdk_version):
    h, td = spiffe_server
    aud = h.vhost.public_base + h.vhost.location
    st = td.svid(aud, client_name="agent from the statement")
    body = dict(CLAUDE_CODE, software_statement=st)
    out = sdk_register(h, body)
    assert out["ok"], out.get("error")
    info, raw = out["info"], raw_json(out)
    assert out["raw"]["request_body"]["software_statement"] == st
    assert raw["spiffe_id"] == "spiffe://mcp.example.org/ns/mcp/agent"
    assert "spiffe_id" not in info  # stripped by the SDK's schema, harmless
    assert info["client_name"] == "agent from the statement"  # the statement wins
    assert info["redirect_uris"] == CLAUDE_CODE["redirect_uris"]
    assert info["token_endpoint_auth_method"] == "spiffe_jwt"  # TS SDK takes any string
    assert "client_secret" not in info
    g = read_back(h, raw)
    assert g.status_code == 200 and g.json()["spiffe_id"] == raw["spiffe_id"]


def test_sdk_without_statement_is_refused(spiffe_server, sdk_version):
    h, td = spiffe_server
    out = sdk_register(h, CLAUDE_CODE)
    assert not out["ok"]
    err = raw_json(out)
    assert out["raw"]["status"] == 400 and err["error"] == "invalid_software_statement"
    assert out["error"]["message"] == err["error_description"]


def test_sdk_statement_for_another_audience_is_refused(spiffe_server, sdk_version):
    h, td = spiffe_server
    st = td.svid("https://other.example/register")
    out = sdk_register(h, dict(CLAUDE_CODE, software_statement=st))
    assert not out["ok"]
    err = raw_json(out)
    assert err["error"] == "invalid_software_statement"
    assert out["error"]["message"] == err["error_description"]
    assert not [e for e in h.wait_access_log(1) if e["decision"] == "registered"]


def sdk_auth(h, server_url, body):
    """The SDK's auth() as an MCP client runs it on a 401 (interop/auth.mjs)."""
    return run_node(h, "auth.mjs", {"server_url": server_url, "clientMetadata": body,
                                    "redirect_url": body["redirect_uris"][0]})


def check_authorization_redirect(out, authorize, body):
    assert out["ok"] and out["result"] == "REDIRECT", out
    cid = out["client_information"]["client_id"]
    url = urllib.parse.urlsplit(out["authorization_url"])
    assert "%s://%s%s" % (url.scheme, url.netloc, url.path) == authorize
    q = urllib.parse.parse_qs(url.query)
    assert q["client_id"] == [cid] and q["response_type"] == ["code"]
    assert q["redirect_uri"] == [body["redirect_uris"][0]]
    assert q["code_challenge_method"] == ["S256"]
    return cid


def test_sdk_auth_flow_without_metadata(httpd, sdk_version):
    """No RFC 9728/8414 documents at all: the SDK falls back to <origin>/register (ours) and
    /authorize, as the 2025-03-26 MCP spec's default paths say."""
    out = sdk_auth(httpd, httpd.url + "/mcp", CLAUDE_CODE)
    posts = [r for r in out["requests"] if r["method"] == "POST"]
    assert posts == [{"method": "POST", "url": httpd.url + "/register", "status": 201}], out
    cid = check_authorization_redirect(out, httpd.url + "/authorize", CLAUDE_CODE)
    regs = [e for e in httpd.wait_access_log(len(out["requests"])) if e["method"] == "POST"]
    assert [(e["decision"], e["client_id"]) for e in regs] == [("registered", cid)]


def test_sdk_auth_flow_with_as_metadata(httpd_factory, sdk_version):
    """An RFC 8414 document served beside the endpoint (a static file) points the SDK at a
    registration endpoint on a non-default path: the SDK must use it."""
    d, h = child_writable_dir("dcr-asmeta-"), None
    try:
        v = Vhost(location="/oauth/register")
        doc = {"issuer": v.url, "authorization_endpoint": v.url + "/oauth/authorize",
               "token_endpoint": v.url + "/oauth/token", "registration_endpoint": v.endpoint,
               "response_types_supported": ["code"],
               "grant_types_supported": ["authorization_code", "refresh_token"],
               "code_challenge_methods_supported": ["S256"],
               "token_endpoint_auth_methods_supported": ["none"]}
        meta = os.path.join(d, "as.json")
        with open(meta, "w") as f:
            json.dump(doc, f)
        os.chmod(meta, 0o644)
        v.conf += "\n".join([
            "", "Alias /.well-known/oauth-authorization-server %s" % meta,
            "<Location /.well-known/oauth-authorization-server>",
            "    ForceType application/json", "</Location>"])
        h = httpd_factory(vhosts=[v], modules=["alias"])
        out = sdk_auth(h, h.url + "/mcp", VSCODE)
        assert {"method": "GET", "url": h.url + "/.well-known/oauth-authorization-server",
                "status": 200} in out["requests"], out
        posts = [r for r in out["requests"] if r["method"] == "POST"]
        assert posts == [{"method": "POST", "url": v.endpoint, "status": 201}], out
        check_authorization_redirect(out, doc["authorization_endpoint"], VSCODE)
        assert out["client_information"]["redirect_uris"] == VSCODE["redirect_uris"]
    finally:
        if h:
            h.stop()  # before its Alias target goes
        shutil.rmtree(d, ignore_errors=True)


CURSOR = {"client_name": "Cursor",
          "redirect_uris": ["cursor://anysphere.cursor-mcp/oauth/callback"],
          "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
          "token_endpoint_auth_method": "none"}


def test_sdk_custom_scheme_needs_dcr_redirect_schemes(httpd_factory, sdk_version):
    """Desktop clients register private-use schemes: refused by default, with a reason the SDK
    shows; registered once the scheme is listed in DCRRedirectSchemes."""
    plain = httpd_factory()
    out = sdk_register(plain, CURSOR)
    assert not out["ok"] and raw_json(out)["error"] == "invalid_redirect_uri"
    assert out["error"]["message"] == raw_json(out)["error_description"]
    listed = httpd_factory(vhosts=[Vhost(conf=["DCRStore socache:shmcb", "DCRRequireStatement Off",
                                               "DCRRedirectSchemes cursor"])])
    info, _ = check_public_client(listed, sdk_register(listed, CURSOR), CURSOR)
    assert info["redirect_uris"] == CURSOR["redirect_uris"]


def strict_register(h, metadata):
    """oauth4webapi: dynamicClientRegistrationRequest, processDynamicClientRegistrationResponse."""
    return run_node(h, "oauth4webapi.mjs", {
        "as": {"issuer": h.vhost.public_base, "registration_endpoint": h.endpoint},
        "metadata": metadata})


@pytest.mark.parametrize("body", [CLAUDE_CODE, VSCODE, SDK_EXAMPLE],
                         ids=["claude-code", "vscode", "client_secret_post"])
def test_strict_library_registers(httpd, sdk_version, body):
    out = strict_register(httpd, body)
    assert out["ok"], out["error"]
    info = out["info"]  # nothing stripped: the library returns the whole body it checked
    assert info["redirect_uris"] == body["redirect_uris"]
    assert info["token_endpoint_auth_method"] == "none" and "client_secret" not in info
    g = read_back(httpd, info)
    assert g.status_code == 200 and g.json()["client_id"] == info["client_id"]


@pytest.mark.parametrize("uri", ["javascript:alert(1)", "http://evil.example/callback"])
def test_strict_library_reads_our_errors(httpd, sdk_version, uri):
    out = strict_register(httpd, dict(CLAUDE_CODE, redirect_uris=[uri]))
    assert not out["ok"]
    e = out["error"]
    # A well-formed OAuth error body: the library reports it as such, not as a bad response.
    assert e["name"] == "ResponseBodyError", e
    assert (e["status"], e["error"]) == (400, "invalid_redirect_uri")
    assert e["error_description"]


def test_strict_library_with_jwt_svid(spiffe_server, sdk_version):
    h, td = spiffe_server
    st = td.svid(h.vhost.public_base + h.vhost.location)
    out = strict_register(h, dict(CLAUDE_CODE, software_statement=st))
    assert out["ok"], out["error"]
    assert out["info"]["spiffe_id"] == "spiffe://mcp.example.org/ns/mcp/agent"
    other = TrustDomain("elsewhere.example", os.path.join(os.path.dirname(td.path), "o.json"))
    out = strict_register(h, dict(CLAUDE_CODE, software_statement=other.svid(
        h.vhost.public_base + h.vhost.location)))
    assert not out["ok"]
    assert (out["error"]["status"], out["error"]["error"]) == (400,
                                                               "unapproved_software_statement")
