"""A real authorization server for the upstream tests: node oidc-provider (interop/oidc_as.mjs)
over HTTPS on a free loopback port, with a certificate from its own throwaway CA (ca_file, for
DCRFetchCAFile and OIDCCABundlePath). Dynamic registration needs initial_access_token; RFC 7592
management, client_credentials (client_secret_basic, client_secret_post, private_key_jwt,
none) and introspection are on. One static client, the resource server (rs_client_id,
rs_client_secret), may introspect. A plain-HTTP control port on 127.0.0.1 lists the clients in
the provider's storage, injects faults on the registration endpoints and takes the HTTPS port
down and up without losing state (state lives as long as the process)."""

import atexit
import json
import os
import secrets
import select
import shutil
import subprocess
import tempfile
import time
import urllib.parse

import requests
from jwcrypto import jwk

from dcr_httpd import make_cert
from node_deps import INTEROP, node_env

SCRIPT = os.path.join(INTEROP, "oidc_as.mjs")
PROXY_MODULES = ["proxy", "proxy_http", "headers"]  # what proxy_conf() needs in the httpd
_SIGNING_JWK = []  # one RSA key per test run: node would spend half a second making its own


def signing_jwk():
    if not _SIGNING_JWK:
        k = jwk.JWK.generate(kty="RSA", size=2048, kid="as-1", use="sig", alg="RS256")
        _SIGNING_JWK.append(k.export_private(as_dict=True))
    return _SIGNING_JWK[0]


class OidcAS:
    NAMES = ["oidc-as.test", "localhost"]  # the certificate's DNS names (and 127.0.0.1)

    def __init__(self, issuer=None, rotate_registration_access_token=True, access_token_ttl=600,
                 scopes=None, initial_access_token=None):
        # Outside pytest's 0700 tree: httpd's children (nobody) read ca_file.
        self.dir = tempfile.mkdtemp(prefix="dcr-oidc-as-")
        os.chmod(self.dir, 0o755)
        # Removed at exit, not at teardown: an httpd still running names ca_file in its
        # config, and `httpd -k stop` re-reads that config.
        atexit.register(shutil.rmtree, self.dir, True)
        self.crt, self.key, self.ca_file = make_cert(self.dir, self.NAMES)
        os.chmod(self.ca_file, 0o644)
        self.initial_access_token = initial_access_token or secrets.token_urlsafe(24)
        self.rs_client_id = "resource-server"
        self.rs_client_secret = secrets.token_urlsafe(32)
        self.config = {
            "cert": self.crt, "key": self.key, "port": 0, "admin_port": 0, "issuer": issuer,
            "initial_access_token": self.initial_access_token,
            "rotate_registration_access_token": rotate_registration_access_token,
            "resource_server": {"client_id": self.rs_client_id,
                                "client_secret": self.rs_client_secret},
            "access_token_ttl": access_token_ttl, "signing_jwk": signing_jwk()}
        if scopes is not None:
            self.config["scopes"] = list(scopes)
        self.log = os.path.join(self.dir, "oidc_as.log")
        self.proc = None
        self.port = self.admin_port = None
        self.issuer = None

    # -- process ----------------------------------------------------------------------------
    def start(self, timeout=20):
        conf = os.path.join(self.dir, "config.json")
        with open(os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            json.dump(self.config, f)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(["node", SCRIPT, conf], cwd=INTEROP, env=node_env(),
                                         stdout=subprocess.PIPE, stderr=log)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            self.stop()
            raise RuntimeError("oidc_as.mjs did not come up:\n" + self.log_text())
        info = json.loads(line)
        self.port, self.admin_port, self.issuer = info["port"], info["admin_port"], info["issuer"]
        # Later runs of the same object (restart) keep the port.
        self.config.update(port=self.port, admin_port=self.admin_port)
        return self

    def stop(self):
        """Ends the process (its clients with it)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # -- where it answers -------------------------------------------------------------------
    @property
    def url(self):
        """Where this process listens (by IP); the issuer may name a proxy in front."""
        return "https://127.0.0.1:%d" % self.port

    def endpoint(self, path, base=None):
        return (base or self.url) + path

    @property
    def registration_endpoint(self):
        return self.endpoint("/reg")

    @property
    def token_endpoint(self):
        return self.endpoint("/token")

    @property
    def introspection_endpoint(self):
        return self.endpoint("/token/introspection")

    @property
    def jwks_uri(self):
        return self.endpoint("/jwks")

    def proxy_conf(self):
        """Lines for a TLS Vhost that reverse-proxies everything to this AS (start it with
        issuer=vhost.url): TLS to the AS verified against ca_file; oidc-provider builds its
        URLs from X-Forwarded-Host / -Proto (Koa's proxy mode)."""
        return "\n".join([
            "SSLProxyEngine on",
            "SSLProxyCACertificateFile %s" % self.ca_file,
            "SSLProxyVerify require",
            "SSLProxyCheckPeerName on",
            "RequestHeader set X-Forwarded-Proto https",
            # By name: mod_ssl matches the peer name against DNS SANs only, never an IP.
            "ProxyPass / https://localhost:%d/" % self.port,
            "ProxyPassReverse / https://localhost:%d/" % self.port])

    def session(self):
        """A requests.Session that trusts ca_file and ignores proxy / CA variables."""
        s = requests.Session()
        s.trust_env = False
        s.verify = self.ca_file
        return s

    def register(self, metadata, token=None, timeout=10, url=None, session=None):
        """POST metadata to the registration endpoint (or url, e.g. through a proxy, with a
        session that trusts it); token None: the initial access token, "": no Authorization
        header. Returns the requests.Response."""
        token = self.initial_access_token if token is None else token
        headers = {"Authorization": "Bearer " + token} if token else {}
        with session or self.session() as s:
            return s.post(url or self.registration_endpoint, json=metadata, headers=headers,
                          timeout=timeout)

    # -- the control port -------------------------------------------------------------------
    def _admin(self, method, path, body=None):
        with requests.Session() as s:
            s.trust_env = False  # no proxy from the environment
            r = s.request(method, "http://127.0.0.1:%d/__test/%s" % (self.admin_port, path),
                          json=body, timeout=10)
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.json()

    def clients(self):
        """Every dynamically registered client the provider holds: its stored metadata (with
        client_secret when it has one; the static resource server is not listed)."""
        return self._admin("GET", "clients")["clients"]

    def client(self, client_id):
        """One client's stored metadata, or None when the provider does not hold it."""
        return self._admin("GET", "clients/" + urllib.parse.quote(client_id, safe=""))

    def count(self):
        return self._admin("GET", "clients")["count"]

    def registration_calls(self):
        """What reached the registration endpoints, in order: dicts method, path (/reg or
        /reg/<id>), status (None when hung or reset), fault (None or the injected mode),
        authorization (the Authorization header as sent, or None) and body (the JSON body as
        the provider parsed it, unknown members included; None when there was none or a fault
        answered)."""
        return self._admin("GET", "requests")["requests"]

    def fail(self, mode="status", status=500, body=None, methods=None, times=None, ms=None):
        """Faults on the registration endpoints from now on: mode "status" (answer status with
        body, default a server_error JSON), "hang" (never answer), "reset" (close the
        connection), "delay" (the provider's own answer, ms milliseconds late: races; with
        "status", ms delays the injected answer); only for
        methods (e.g. ["DELETE"]) when given; for the next `times` matching requests only when
        given. Replaces an earlier fault."""
        rule = {"mode": mode, "status": status}
        if ms is not None:
            rule["ms"] = ms
        if body is not None:
            rule["body"] = body
        if methods is not None:
            rule["methods"] = list(methods)
        if times is not None:
            rule["times"] = times
        return self._admin("POST", "fault", rule)

    def rotation(self, on):
        """Whether RFC 7592 updates rotate the registration access token from now on."""
        return self._admin("POST", "rotation", {"rotate": bool(on)})["rotate"]

    def heal(self):
        """No more faults; hung requests are closed."""
        return self._admin("DELETE", "fault")

    def down(self):
        """The HTTPS port refuses connections (open ones are closed); state is kept."""
        return self._admin("POST", "down")

    def up(self):
        """The HTTPS port listens again, same port, same clients."""
        r = self._admin("POST", "up")
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                with self.session() as s:
                    s.get(self.jwks_uri, timeout=2)
                return r
            except requests.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("oidc_as did not come back on port %d" % self.port)
