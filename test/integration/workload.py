"""A workload as an OAuth client: its own P-256 key, the public JWKS it registers (`jwks`), and
the client_credentials token request it makes with private_key_jwt (RFC 7523 client assertion,
RFC 7521 section 4.2): iss = sub = client_id, aud = the AS's issuer, a fresh jti."""

import time
import uuid

import requests
from jwcrypto import jwk, jwt

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class Workload:
    def __init__(self, kid="workload-1"):
        self.key = jwk.JWK.generate(kty="EC", crv="P-256", kid=kid)
        self.kid = kid

    @property
    def jwks(self):
        """The public JWKS to register (never the private key)."""
        return {"keys": [self.key.export_public(as_dict=True)]}

    def assertion(self, client_id, audience, lifetime=60, key=None, **claims):
        """A signed client assertion; claims add or replace claims (tests of bad ones)."""
        now = int(time.time())
        body = {"iss": client_id, "sub": client_id, "aud": audience, "jti": str(uuid.uuid4()),
                "iat": now, "exp": now + lifetime}
        body.update(claims)
        t = jwt.JWT(header={"alg": "ES256", "kid": self.kid, "typ": "JWT"}, claims=body)
        t.make_signed_token(key or self.key)
        return t.serialize()

    def token_request(self, token_endpoint, client_id, audience, ca_file, scope=None,
                      assertion=None):
        """POST grant_type=client_credentials with the assertion; the requests.Response."""
        form = {"grant_type": "client_credentials", "client_id": client_id,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion or self.assertion(client_id, audience)}
        if scope:
            form["scope"] = scope
        with requests.Session() as s:
            s.trust_env = False
            return s.post(token_endpoint, data=form, verify=ca_file, timeout=10)

    def access_token(self, as_, client_id, scope=None):
        """An access token from the OidcAS as_ (asserts that the AS issued one)."""
        r = self.token_request(as_.token_endpoint, client_id, as_.issuer, as_.ca_file, scope)
        assert r.status_code == 200, (r.status_code, r.text)
        body = r.json()
        assert body["token_type"].lower() == "bearer" and body["access_token"], body
        return body["access_token"]
