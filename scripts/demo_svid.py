#!/usr/bin/python3
"""A demo SPIFFE trust domain for scripts/demo.sh: makes its signing key and bundle file once
(DIR/demo.key.json, DIR/bundle.json, in SPIFFE bundle format) and prints a fresh JWT-SVID for
the given SPIFFE ID and audience, as a SPIRE agent would hand one to a workload.

    demo_svid.py DIR SPIFFE_ID AUDIENCE
"""

import json
import os
import sys
import time

from jwcrypto import jwk, jwt


def trust_domain(directory):
    key_file = os.path.join(directory, "demo.key.json")
    if not os.path.exists(key_file):
        key = jwk.JWK.generate(kty="EC", crv="P-256", kid="demo-key-1")
        with open(key_file, "w") as f:
            f.write(key.export_private())
        os.chmod(key_file, 0o600)
        pub = json.loads(key.export_public())
        pub["use"] = "jwt-svid"
        with open(os.path.join(directory, "bundle.json"), "w") as f:
            json.dump({"keys": [pub], "spiffe_sequence": 1, "spiffe_refresh_hint": 300}, f,
                      indent=2)
    with open(key_file) as f:
        return jwk.JWK.from_json(f.read())


def main():
    directory, spiffe_id, audience = sys.argv[1:4]
    key = trust_domain(directory)
    now = int(time.time())
    svid = jwt.JWT(header={"alg": "ES256", "kid": json.loads(key.export_public())["kid"], "typ": "JWT"},
                   claims={"sub": spiffe_id, "aud": [audience], "iat": now, "exp": now + 300,
                           "client_name": "billing service (from the SVID)"})
    svid.make_signed_token(key)
    print(svid.serialize())


if __name__ == "__main__":
    main()
