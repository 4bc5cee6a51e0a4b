"""mod_auth_openidc (Debian's libapache2-mod-auth-openidc, 2.4.12.x) as a registration client of
the module: a second httpd from the same harness runs it in multi-provider mode (OIDCMetadataDir)
with a pre-seeded .provider whose registration_endpoint is ours and a .conf whose
registration_endpoint_json carries a JWT-SVID; a request to the protected site makes it register,
store the answer in its .client file and send the browser on to the authorization endpoint."""

import json
import os
import secrets
import shutil
import sys
import time
import urllib.parse

import pytest

from dcr_httpd import MODULE_DIR, Vhost
from services import child_writable_dir

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "interop"))
from svid import TrustDomain  # noqa: E402

OIDC_SO = os.path.join(MODULE_DIR, "mod_auth_openidc.so")
SUB = "spiffe://rp.example.org/ns/web/portal"

pytestmark = pytest.mark.skipif(
    not os.path.exists(OIDC_SO),
    reason="mod_auth_openidc not installed (libapache2-mod-auth-openidc, .ci/packages-interop.txt)")


@pytest.fixture
def relying_party(httpd_factory):
    """relying_party(as_httpd, registration_json, directive_json=None) -> RelyingParty."""
    made = []

    def make(as_httpd, registration_json, directive_json=None):
        d = child_writable_dir("dcr-oidc-")  # the RP's children write .client files here
        made.append(d)
        rp = RelyingParty(httpd_factory, as_httpd, d, registration_json, directive_json)
        made.append(rp)
        return rp

    yield make
    for x in made:  # stop first: `httpd -k stop` re-reads the config, which needs the dir
        if isinstance(x, RelyingParty):
            x.h.stop()
    for x in made:
        if isinstance(x, str):
            shutil.rmtree(x, ignore_errors=True)


@pytest.fixture
def trust(tmp_path_factory):
    d = tmp_path_factory.mktemp("bundles")
    os.chmod(d, 0o755)
    return TrustDomain("rp.example.org", d / "bundle.json")


@pytest.fixture
def as_server(httpd_factory, trust):
    """Our registration server: statements required, one trusted SPIFFE trust domain."""
    return httpd_factory(vhosts=[Vhost(conf=["DCRStore socache:shmcb", "DCRRequireStatement On",
                                             trust.directive()])])


class RelyingParty:
    """The second httpd, mod_auth_openidc protecting /protected, one provider: our AS."""

    def __init__(self, httpd_factory, as_httpd, meta_dir, registration_json, directive_json=None):
        self.as_httpd = as_httpd
        self.dir = meta_dir
        self.issuer = as_httpd.vhost.public_base  # an identifier; only the endpoints are fetched
        self.authz = as_httpd.url + "/authorize"
        self.base = os.path.join(meta_dir, urllib.parse.quote(
            self.issuer.split("://", 1)[1].rstrip("/"), safe="-._~"))
        ca = os.path.join(meta_dir, "as-ca.crt")  # readable by the children, unlike pytest's tmp
        shutil.copy(as_httpd.ca_file, ca)
        os.chmod(ca, 0o644)
        self.write(".provider", {
            "issuer": self.issuer, "authorization_endpoint": self.authz,
            "token_endpoint": as_httpd.url + "/token",
            "registration_endpoint": as_httpd.endpoint,
            "response_types_supported": ["code"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"]})
        if registration_json is not None:
            self.write(".conf", {"registration_endpoint_json": registration_json})
        vhost = Vhost(name="rp.example.test", location=None, conf=[])
        self.redirect_uri = vhost.url + "/protected/redirect_uri"
        vhost.conf = "\n".join([
            "OIDCMetadataDir %s" % meta_dir,
            "OIDCRedirectURI %s" % self.redirect_uri,
            "OIDCCryptoPassphrase %s" % secrets.token_hex(16),
            "OIDCCABundlePath %s" % ca,
            "OIDCSSLValidateServer On"] + (
            ["OIDCProviderRegistrationEndpointJson '%s'" % directive_json]
            if directive_json else []) + [
            "<Location /protected>", "    AuthType openid-connect", "    Require valid-user",
            "</Location>"])
        self.h = httpd_factory(vhosts=[vhost],
                               modules=["authn_core", "authz_user", "auth_openidc"],
                               log_level="notice dcr_trusted:debug auth_openidc:info")

    def write(self, ext, doc):
        with open(self.base + ext, "w") as f:
            json.dump(doc, f)
        os.chmod(self.base + ext, 0o644)

    @property
    def client_file(self):
        return self.base + ".client"

    def client(self):
        with open(self.client_file) as f:
            return json.load(f)

    def login(self):
        """The third-party-initiated login: redirect URI with iss and target_link_uri."""
        q = urllib.parse.urlencode({"iss": self.issuer,
                                    "target_link_uri": self.h.url + "/protected/"})
        with self.h.session() as s:
            return s.get(self.redirect_uri + "?" + q, allow_redirects=False, timeout=30)


def statement_json(trust, as_httpd, **claims):
    """registration_endpoint_json as mod_auth_openidc reads it from .conf: a JSON string."""
    aud = as_httpd.vhost.public_base + as_httpd.vhost.location
    return json.dumps({"software_statement": trust.svid(aud, path=SUB.split(
        "rp.example.org", 1)[1], **claims)})


def registered(h):
    h.wait_access_log(1)
    time.sleep(0.3)  # the access log line follows the response
    return [e for e in h.access_log_entries() if e["decision"] == "registered"]


@pytest.mark.parametrize("where", [".conf", "directive"])
def test_openidc_registers_with_svid_and_redirects(relying_party, as_server, trust, where):
    """The statement in the provider's .conf (registration_endpoint_json), or for every
    provider in OIDCProviderRegistrationEndpointJson."""
    js = statement_json(trust, as_server)
    rp = (relying_party(as_server, js) if where == ".conf" else
          relying_party(as_server, None, directive_json=js))
    r = rp.login()
    assert r.status_code == 302, (r.status_code, r.text[:500], rp.h.error_log_text()[-3000:])
    # The .client file holds our verbatim answer.
    client = rp.client()
    cid = client["client_id"]
    assert cid and client["spiffe_id"] == SUB
    assert client["response_types"] == ["code"]  # the five implicit/hybrid flows dropped
    assert "implicit" not in client["grant_types"]
    assert "authorization_code" in client["grant_types"]
    assert client["redirect_uris"] == [rp.redirect_uri]
    assert "client_secret" not in client
    assert client["token_endpoint_auth_method"] == "spiffe_jwt"
    # Our server logged the decision for that client.
    regs = registered(as_server)
    assert [(e["client_id"], e["status"]) for e in regs] == [(cid, 201)]
    # mod_auth_openidc went on to the authorization endpoint with the registered client.
    loc = urllib.parse.urlsplit(r.headers["Location"])
    assert "%s://%s%s" % (loc.scheme, loc.netloc, loc.path) == rp.authz
    q = urllib.parse.parse_qs(loc.query)
    assert q["client_id"] == [cid]
    assert q["response_type"] == ["code"]
    assert q["redirect_uri"] == [rp.redirect_uri]
    # The registration is readable through RFC 7592 with the token stored in .client.
    uri = client["registration_client_uri"]
    g = as_server.session().get(as_server.url + uri[len(as_server.vhost.public_base):],
                                headers={"Authorization": "Bearer " +
                                         client["registration_access_token"]}, timeout=30)
    assert g.status_code == 200 and g.json()["spiffe_id"] == SUB
    # A second login reuses the .client: no new registration.
    assert rp.login().status_code == 302
    assert len(registered(as_server)) == 1


def refused(rp, as_server, error):
    """mod_auth_openidc got our error, wrote no .client, did not redirect."""
    r = rp.login()
    assert r.status_code != 302, r.headers
    assert not os.path.exists(rp.client_file)
    assert registered(as_server) == []
    posts = [e for e in as_server.wait_access_log(1) if e["method"] == "POST"]
    assert posts and all(e["status"] == 400 for e in posts)
    assert error in rp.h.error_log_text()  # mod_auth_openidc logs the server's error code
    rp.h.allow_errors(r"\[auth_openidc:error\]")


def test_openidc_without_statement_is_refused(relying_party, as_server):
    rp = relying_party(as_server, None)
    refused(rp, as_server, "invalid_software_statement")


@pytest.mark.parametrize("domain,error", [
    ("rp.example.org", "invalid_software_statement"),  # trusted name, key not in the bundle
    ("evil.example.org", "unapproved_software_statement")])  # trust domain not configured
def test_openidc_foreign_statement_is_refused(relying_party, as_server, tmp_path, domain,
                                              error):
    stranger = TrustDomain(domain, tmp_path / "other.json")
    js = json.dumps({"software_statement": stranger.svid(
        as_server.vhost.public_base + as_server.vhost.location)})
    refused(relying_party(as_server, js), as_server, error)


def test_openidc_conf_object_is_not_read(relying_party, as_server, trust):
    """A trap worth a test: 2.4.12 reads registration_endpoint_json as a JSON *string*; an
    object there is ignored, so the statement never reaches us."""
    rp = relying_party(as_server, json.loads(statement_json(trust, as_server)))
    refused(rp, as_server, "invalid_software_statement")


def test_openidc_takes_a_configured_spiffe_auth_method(httpd_factory, relying_party, trust):
    """mod_auth_openidc ignores spiffe_jwt (it warns, keeping the provider's method); an AS
    whose token endpoint treats these clients as public can say so with DCRSpiffeAuthMethod."""
    as_httpd = httpd_factory(vhosts=[Vhost(conf=["DCRStore socache:shmcb", trust.directive(),
                                                 "DCRSpiffeAuthMethod none"])])
    rp = relying_party(as_httpd, statement_json(trust, as_httpd))
    assert rp.login().status_code == 302
    assert rp.client()["token_endpoint_auth_method"] == "none"
    assert rp.client()["spiffe_id"] == SUB
    assert "unsupported client auth method" not in rp.h.error_log_text()
