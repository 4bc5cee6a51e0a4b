"""A minimal SPIFFE trust domain for the interop tests: one real P-256 JWT key, its bundle file
(SPIFFE bundle format) and JWT-SVIDs minted with jwcrypto. Kept here so the interop tests do
not depend on another test module's helpers."""

import json
import os
import time

from jwcrypto import jwk, jwt


class TrustDomain:
    def __init__(self, name, bundle_path, kid="k1"):
        self.name = name
        self.path = str(bundle_path)
        self.kid = kid
        self.key = jwk.JWK.generate(kty="EC", crv="P-256", kid=kid)
        pub = json.loads(self.key.export_public())
        pub["use"] = "jwt-svid"
        with open(self.path, "w") as f:
            json.dump({"keys": [pub], "spiffe_sequence": 1, "spiffe_refresh_hint": 300}, f)
        os.chmod(self.path, 0o644)  # the children (nobody) read it on reloads

    def directive(self):
        return "DCRTrustDomain %s %s" % (self.name, self.path)

    def svid(self, audience, path="/ns/mcp/agent", lifetime=300, key=None, **claims):
        """A JWT-SVID for audience; claims add or replace claims (e.g. client_name)."""
        now = int(time.time())
        body = {"sub": "spiffe://%s%s" % (self.name, path), "aud": [audience],
                "iat": now, "exp": now + lifetime}
        body.update(claims)
        t = jwt.JWT(header={"alg": "ES256", "kid": self.kid, "typ": "JWT"}, claims=body)
        t.make_signed_token(key or self.key)
        return t.serialize()
