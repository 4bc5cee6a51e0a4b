"""The suite's own Keycloak contract server (no Keycloak runs here: neither Debian nor npm ships
it). It checks every request the module makes against Keycloak's documented admin REST API and
token endpoint (Keycloak 26.4: the admin REST API reference, ClientsResource, the
ClientRepresentation, SearchQueryUtils' q syntax, federated client authentication) and answers
as Keycloak does, error shapes included:

- POST /realms/<realm>/protocol/openid-connect/token: client_credentials, the client
  authenticated by client_secret_post or client_secret_basic (not both); 401
  {"error": "unauthorized_client", ...} for bad credentials. Counts token requests.
- /admin/realms/<realm>/clients[...]: bearer token required (401 {"error": "HTTP 401
  Unauthorized"} for none, an unknown or an expired one), the service account's realm-management
  roles checked (403 {"error": "HTTP 403 Forbidden"}); GET ?clientId= (exact) or ?q= (client
  attributes, searchable ones only); POST (201 + Location, 409 {"errorMessage": "Client X
  already exists"}, 400 for invalid input); GET/PUT/DELETE /clients/{id} (404 {"error": "Could
  not find client"}).

Every departure from the API is recorded in .violations (and answered 400), so a test can assert
that the module made none. Clients are kept in .clients (internal id -> representation) for
tests to look at. Runs in the test process on 127.0.0.1 with a throwaway CA (.ca)."""

import base64
import http.server
import json
import re
import secrets
import threading
import time
import urllib.parse
import uuid

from bundle_server import serve_tls, stop_tls
from dcr_httpd import _make_cert, free_port

# ClientRepresentation (Keycloak 26.4) members and their JSON types.
_S, _B, _L, _M, _I, _O = "string", "boolean", "list of strings", "map of strings", "int", "object"
CLIENT_REP = {
    "id": _S, "clientId": _S, "name": _S, "description": _S, "type": _S, "rootUrl": _S,
    "adminUrl": _S, "baseUrl": _S, "surrogateAuthRequired": _B, "enabled": _B,
    "alwaysDisplayInConsole": _B, "clientAuthenticatorType": _S, "secret": _S,
    "registrationAccessToken": _S, "defaultRoles": _L, "redirectUris": _L, "webOrigins": _L,
    "notBefore": _I, "bearerOnly": _B, "consentRequired": _B, "standardFlowEnabled": _B,
    "implicitFlowEnabled": _B, "directAccessGrantsEnabled": _B, "serviceAccountsEnabled": _B,
    "authorizationServicesEnabled": _B, "directGrantsOnly": _B, "publicClient": _B,
    "frontchannelLogout": _B, "protocol": _S, "attributes": _M,
    "authenticationFlowBindingOverrides": _M, "fullScopeAllowed": _B, "nodeReRegistrationTimeout": _I,
    "registeredNodes": _O, "protocolMappers": _O, "clientTemplate": _S,
    "useTemplateConfig": _B, "useTemplateScope": _B, "useTemplateMappers": _B,
    "defaultClientScopes": _L, "optionalClientScopes": _L, "authorizationSettings": _O,
    "access": _O, "origin": _S,
}
# Client authenticators a Keycloak 26.4 realm has with the client-auth-federated and spiffe
# preview features on, plus DescriptionConverter's "none" for public clients.
AUTHENTICATORS = {"client-secret", "client-jwt", "client-secret-jwt", "client-x509",
                  "federated-jwt", "none"}
# Attributes Keycloak's JPA store lets q= search (REQUIRED_SEARCHABLE_ATTRIBUTES with the
# federated client lookup's two).
SEARCHABLE = {"saml_idp_initiated_sso_url_name", "saml.artifact.binding.identifier",
              "jwt.credential.issuer", "jwt.credential.sub"}
ADMIN_QUERY = {"clientId", "viewableOnly", "search", "q", "first", "max"}


def _type_ok(kind, v):
    if kind == _S:
        return isinstance(v, str)
    if kind == _B:
        return isinstance(v, bool)
    if kind == _I:
        return isinstance(v, int) and not isinstance(v, bool)
    if kind == _L:
        return isinstance(v, list) and all(isinstance(e, str) for e in v)
    if kind == _M:
        return isinstance(v, dict) and all(isinstance(e, str) for e in v.values())
    return True


def parse_q(q):
    """SearchQueryUtils.getFields: key:value pairs separated by spaces; a key or a value may be
    double-quoted with \\" escapes."""
    out = {}
    tok = r'(?:"((?:[^"\\]|\\.)*)"|([^\s:"]\S*?))'
    for m in re.finditer(tok + r':(?:"((?:[^"\\]|\\.)*)"|(\S+))', q):
        key = m.group(1) if m.group(1) is not None else m.group(2)
        val = m.group(3) if m.group(3) is not None else m.group(4)
        unesc = lambda s: re.sub(r'\\(.)', r'\1', s)  # noqa: E731
        out[unesc(key)] = unesc(val)
    return out


class KeycloakServer:
    REALM = "agents"

    def __init__(self, directory, client_id="dcr-gateway", secret="kc-secret-1",
                 token_life=300):
        self.crt, self.key, self.ca = _make_cert(directory, ["kc.test"])
        import os
        os.chmod(self.ca, 0o644)
        self.port = free_port()
        self.admin_client_id, self.admin_secret = client_id, secret
        self.token_life = token_life
        self.roles = {"manage-clients", "view-clients"}
        self.lock = threading.Lock()
        self.clients = {}  # internal id -> ClientRepresentation as Keycloak keeps it
        self.tokens = {}  # access token -> expiry (server time)
        self.token_requests = 0
        self.calls = []  # (method, path, query dict, body or None)
        self.violations = []
        self.inject = []  # [(method, path regex, status, body dict or None)], used once each
        self.httpd = None
        self.start()

    # --- what tests use -------------------------------------------------------------------
    @property
    def realm_url(self):
        return "https://127.0.0.1:%d/realms/%s" % (self.port, self.REALM)

    @property
    def origin(self):
        return "127.0.0.1:%d" % self.port

    def by_client_id(self, client_id):
        with self.lock:
            return [c for c in self.clients.values() if c["clientId"] == client_id]

    def by_sub(self, sub):
        with self.lock:
            return [c for c in self.clients.values()
                    if c.get("attributes", {}).get("jwt.credential.sub") == sub]

    def add_client(self, rep):
        """A client made by hand (an administrator), as Keycloak would store it."""
        rep = dict(rep)
        rep.setdefault("id", str(uuid.uuid4()))
        rep.setdefault("enabled", True)
        rep.setdefault("attributes", {})
        with self.lock:
            self.clients[rep["id"]] = rep
        return rep

    def expire_tokens(self):
        """Every admin token issued so far is expired from now on (Keycloak answers 401)."""
        with self.lock:
            for t in self.tokens:
                self.tokens[t] = 0

    def fail_next(self, method, path_re, status, body=None):
        with self.lock:
            self.inject.append((method, re.compile(path_re), status, body))

    def admin_calls(self, method=None):
        with self.lock:
            return [c for c in self.calls if c[1].startswith("/admin/") and
                    (method is None or c[0] == method)]

    # --- the server -----------------------------------------------------------------------
    def violation(self, what):
        with self.lock:
            self.violations.append(what)

    def start(self):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self, status, body=None, headers=()):
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def read_body(self):
                n = int(self.headers.get("Content-Length") or 0)
                if self.headers.get("Transfer-Encoding"):
                    outer.violation("%s %s: chunked body" % (self.command, self.path))
                return self.rfile.read(n) if n else b""

            def handle_any(self):
                u = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
                raw = self.read_body()
                with outer.lock:
                    outer.calls.append((self.command, u.path, query, raw))
                    for i, (m, rx, st, b) in enumerate(outer.inject):
                        if m == self.command and rx.search(u.path):
                            del outer.inject[i]
                            return self.answer(st, b)
                token_path = "/realms/%s/protocol/openid-connect/token" % outer.REALM
                admin = "/admin/realms/%s/clients" % outer.REALM
                if u.path == token_path:
                    return self.token(raw)
                if u.path == admin or u.path.startswith(admin + "/"):
                    return self.admin(u.path[len(admin):], query, raw)
                outer.violation("%s %s: not an endpoint of the realm" % (self.command, u.path))
                self.answer(404, {"error": "Unable to find matching target resource method"})

            do_GET = do_POST = do_PUT = do_DELETE = handle_any

            def token(self, raw):
                if self.command != "POST":
                    return self.answer(405, {"error": "RESTEASY003650: No resource method found"})
                ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                if ctype != "application/x-www-form-urlencoded":
                    outer.violation("token request: Content-Type %r" % ctype)
                    return self.answer(400, {"error": "invalid_request"})
                form = urllib.parse.parse_qs(raw.decode(), keep_blank_values=True)
                if any(len(v) != 1 for v in form.values()):
                    outer.violation("token request: a repeated parameter")
                    return self.answer(400, {"error": "invalid_request"})
                form = {k: v[0] for k, v in form.items()}
                basic = self.headers.get("Authorization", "")
                cid = csec = None
                if basic.startswith("Basic "):
                    cid, _, csec = base64.b64decode(basic[6:]).decode().partition(":")
                    cid, csec = urllib.parse.unquote(cid), urllib.parse.unquote(csec)
                    if "client_secret" in form:
                        outer.violation("token request: two client authentication methods")
                        return self.answer(400, {"error": "invalid_request"})
                else:
                    cid, csec = form.get("client_id"), form.get("client_secret")
                if form.get("grant_type") != "client_credentials":
                    outer.violation("token request: grant_type %r" % form.get("grant_type"))
                    return self.answer(400, {"error": "unsupported_grant_type"})
                with outer.lock:
                    outer.token_requests += 1
                if cid != outer.admin_client_id or csec != outer.admin_secret:
                    return self.answer(401, {"error": "unauthorized_client",
                                             "error_description": "Invalid client or Invalid "
                                                                  "client credentials"})
                tok = secrets.token_urlsafe(32)
                with outer.lock:
                    outer.tokens[tok] = time.time() + outer.token_life
                self.answer(200, {"access_token": tok, "expires_in": outer.token_life,
                                  "refresh_expires_in": 0, "token_type": "Bearer",
                                  "not-before-policy": 0, "scope": "profile email"},
                            headers=[("Cache-Control", "no-store"), ("Pragma", "no-cache")])

            def authorized(self, need):
                auth = self.headers.get("Authorization", "")
                tok = auth[7:] if auth.startswith("Bearer ") else None
                with outer.lock:
                    exp = outer.tokens.get(tok)
                    roles = set(outer.roles)
                if exp is None or exp < time.time():
                    self.answer(401, {"error": "HTTP 401 Unauthorized"})
                    return False
                # manage-clients implies viewing them (Keycloak's canView)
                if need not in roles and not (need == "view-clients" and
                                              "manage-clients" in roles):
                    self.answer(403, {"error": "HTTP 403 Forbidden"})
                    return False
                return True

            def rep_from(self, raw, what):
                ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                if ctype != "application/json":
                    outer.violation("%s: Content-Type %r" % (what, ctype))
                    return None
                try:
                    rep = json.loads(raw)
                except ValueError:
                    outer.violation("%s: not JSON" % what)
                    return None
                if not isinstance(rep, dict):
                    outer.violation("%s: not a ClientRepresentation object" % what)
                    return None
                for k, v in rep.items():
                    if k not in CLIENT_REP:
                        outer.violation("%s: %r is no ClientRepresentation member" % (what, k))
                        return None
                    if not _type_ok(CLIENT_REP[k], v):
                        outer.violation("%s: %s must be a %s" % (what, k, CLIENT_REP[k]))
                        return None
                authn = rep.get("clientAuthenticatorType")
                if authn is not None and authn not in AUTHENTICATORS:
                    outer.violation("%s: unknown clientAuthenticatorType %r" % (what, authn))
                    return None
                attrs = rep.get("attributes", {})
                if authn == "federated-jwt":
                    if not attrs.get("jwt.credential.issuer") or not attrs.get("jwt.credential.sub"):
                        outer.violation("%s: federated-jwt without both attributes" % what)
                        return None
                    if "secret" in rep:
                        outer.violation("%s: a secret for a federated-jwt client" % what)
                        return None
                return rep

            def bad_uri(self, rep):
                for r in rep.get("redirectUris", []):
                    p = urllib.parse.urlsplit(r)
                    if not p.scheme or ("://" in r and not p.netloc):
                        return True
                return False

            def admin(self, rest, query, raw):
                for k in query:
                    if k not in ADMIN_QUERY:
                        outer.violation("GET clients: unknown parameter %r" % k)
                if rest == "" and self.command == "GET":
                    if not self.authorized("view-clients"):
                        return
                    return self.search(query)
                if rest == "" and self.command == "POST":
                    if not self.authorized("manage-clients"):
                        return
                    return self.create(raw)
                m = re.fullmatch(r"/([A-Za-z0-9-]{1,64})", rest)
                if not m:
                    outer.violation("%s clients%s: not a client path" % (self.command, rest))
                    return self.answer(404, {"error": "Unable to find matching target resource "
                                                      "method"})
                cid = m.group(1)
                need = "view-clients" if self.command == "GET" else "manage-clients"
                if self.command not in ("GET", "PUT", "DELETE"):
                    return self.answer(405, {"error": "RESTEASY003650: No resource method found"})
                if not self.authorized(need):
                    return
                with outer.lock:
                    cur = outer.clients.get(cid)
                if cur is None:
                    return self.answer(404, {"error": "Could not find client"})
                if self.command == "GET":
                    return self.answer(200, cur)
                if self.command == "DELETE":
                    if raw:
                        outer.violation("DELETE client: a body")
                    with outer.lock:
                        outer.clients.pop(cid, None)
                    return self.answer(204)
                rep = self.rep_from(raw, "PUT client")
                if rep is None:
                    return self.answer(400, {"error": "invalid_input"})
                if rep.get("id", cid) != cid:
                    outer.violation("PUT client: id %r in the body of client %s" %
                                    (rep.get("id"), cid))
                if self.bad_uri(rep):
                    return self.answer(400, {"error": "invalid_input",
                                             "error_description": "A redirect URI is not a "
                                                                  "proper URI"})
                with outer.lock:
                    if any(c["clientId"] == rep.get("clientId") and c["id"] != cid
                           for c in outer.clients.values()):
                        return self.answer(409, {"errorMessage": "Client %s already exists" %
                                                 rep.get("clientId")})
                    new = dict(cur)
                    attrs = dict(cur.get("attributes", {}))
                    for k, v in rep.get("attributes", {}).items():
                        if v == "":
                            attrs.pop(k, None)  # Keycloak drops empty attributes
                        else:
                            attrs[k] = v
                    new.update({k: v for k, v in rep.items() if k != "attributes"})
                    new["attributes"] = attrs
                    new["id"] = cid
                    outer.clients[cid] = new
                return self.answer(204)

            def search(self, query):
                one = {k: v[0] for k, v in query.items()}
                with outer.lock:
                    every = list(outer.clients.values())
                if "q" in one:
                    fields = parse_q(one["q"])
                    if not fields:
                        outer.violation("GET clients: q=%r has no key:value" % one["q"])
                    for k in fields:
                        if k not in SEARCHABLE:
                            outer.violation("GET clients: attribute %r is not searchable" % k)
                            return self.answer(500, {"error": "unknown_error"})
                    found = [c for c in every
                             if all(c.get("attributes", {}).get(k) == v for k, v in fields.items())]
                elif one.get("clientId"):
                    if one.get("search") == "true":
                        outer.violation("GET clients: search=true is a substring search")
                    found = [c for c in every if c["clientId"] == one["clientId"]]
                else:
                    outer.violation("GET clients: neither clientId nor q: the whole realm")
                    found = every
                first, mx = int(one.get("first", 0)), int(one.get("max", 100))
                self.answer(200, found[first:first + mx])

            def create(self, raw):
                rep = self.rep_from(raw, "POST client")
                if rep is None:
                    return self.answer(400, {"error": "invalid_input"})
                if not rep.get("clientId"):
                    return self.answer(400, {"errorMessage": "clientId is required"})
                if self.bad_uri(rep):
                    return self.answer(400, {"error": "invalid_input",
                                             "error_description": "A redirect URI is not a "
                                                                  "proper URI"})
                with outer.lock:
                    if any(c["clientId"] == rep["clientId"] or c["id"] == rep.get("id")
                           for c in outer.clients.values()):
                        return self.answer(409, {"errorMessage": "Client %s already exists" %
                                                 rep["clientId"]})
                    new = dict(rep)
                    new.setdefault("id", str(uuid.uuid4()))
                    new.setdefault("enabled", True)
                    new.setdefault("protocol", "openid-connect")
                    new.setdefault("publicClient", False)
                    new.setdefault("clientAuthenticatorType", "client-secret")
                    # Keycloak's defaults for a client that does not say
                    new.setdefault("standardFlowEnabled", True)
                    new.setdefault("directAccessGrantsEnabled", True)
                    new.setdefault("implicitFlowEnabled", False)
                    new.setdefault("serviceAccountsEnabled", False)
                    new.setdefault("redirectUris", [])
                    new["attributes"] = {k: v for k, v in rep.get("attributes", {}).items() if v}
                    if new["clientAuthenticatorType"] in ("client-secret", "client-secret-jwt") \
                            and not new["publicClient"] and "secret" not in new:
                        new["secret"] = secrets.token_urlsafe(24)
                    outer.clients[new["id"]] = new
                loc = "https://127.0.0.1:%d/admin/realms/%s/clients/%s" % (
                    outer.port, outer.REALM, new["id"])
                self.answer(201, None, headers=[("Location", loc)])

            def log_message(self, *a):
                pass

        self.httpd = serve_tls(Handler, self.port, self.crt, self.key)

    def stop(self):
        """Down: the port refuses connections until start()."""
        stop_tls(self.httpd)
        self.httpd = None
