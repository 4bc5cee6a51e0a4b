"""mod_auth_openidc (Debian's libapache2-mod-auth-openidc 2.4.12.x) as an OAuth 2.0 resource
server: lines for a Vhost that protect <Location /api> with `AuthType oauth20`, checking bearer
tokens at an OidcAS's introspection endpoint as its static resource-server client
(client_secret_basic, TLS verified against the AS's CA), and serve a small static resource
there. REMOTE_USER is the token's client_id (client_credentials tokens have no sub); the answer
carries it back in X-Remote-User so a test sees whose token was accepted."""

import atexit
import os
import shutil
import tempfile

from dcr_httpd import MODULE_DIR

OIDC_SO = os.path.join(MODULE_DIR, "mod_auth_openidc.so")
MODULES = ["alias", "headers", "authn_core", "authz_user", "auth_openidc"]
RESOURCE = b'{"resource": "served"}\n'


class ResourceServer:
    """ResourceServer(oidc_as).conf() goes into a Vhost's conf; load MODULES in the httpd
    (httpd_factory(..., modules=MODULES)). GET <vhost>/api/resource.json is the resource."""

    def __init__(self, oidc_as, location="/api"):
        self.as_ = oidc_as
        self.location = location
        self.dir = tempfile.mkdtemp(prefix="dcr-rs-")  # the children (nobody) read it
        os.chmod(self.dir, 0o755)
        atexit.register(shutil.rmtree, self.dir, True)  # after every httpd naming it stopped
        self.file = os.path.join(self.dir, "resource.json")
        with open(self.file, "wb") as f:
            f.write(RESOURCE)
        os.chmod(self.file, 0o644)

    @property
    def path(self):
        return self.location + "/resource.json"

    def conf(self):
        a = self.as_
        return "\n".join([
            "OIDCCABundlePath %s" % a.ca_file,
            "OIDCOAuthSSLValidateServer On",
            "OIDCOAuthIntrospectionEndpoint %s" % a.introspection_endpoint,
            "OIDCOAuthIntrospectionEndpointAuth client_secret_basic",
            "OIDCOAuthClientID %s" % a.rs_client_id,
            "OIDCOAuthClientSecret %s" % a.rs_client_secret,
            "OIDCOAuthRemoteUserClaim client_id",
            "Alias %s %s" % (self.location, self.dir),
            "<Location %s>" % self.location,
            "    AuthType oauth20",
            "    Require valid-user",
            '    Header always set X-Remote-User "expr=%{REMOTE_USER}"',
            "</Location>"])
