"""JWT-SVID software statements against a real httpd: ES256 and RS256 registrations, key
rotation across a graceful restart, two vhosts that trust different trust domains, and every
refusal with its status and error code while the (SQLite) store stays empty."""

import base64
import json
import os
import shutil
import time

import pytest
from jwcrypto import jwk, jwt

from services import child_writable_dir
from dcr_httpd import Vhost
from store_util import sqlite_count as count

META = {"client_name": "from the request", "grant_types": ["client_credentials"]}


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TrustDomain:
    """A demo trust domain: its JWT signing keys and its bundle file."""

    def __init__(self, name, path, kinds=(("ec1", "EC"), ("rsa1", "RSA")), shape="spiffe"):
        self.name = name
        self.path = path
        self.shape = shape
        self.keys = {}
        for kid, kind in kinds:
            self.add_key(kid, kind)
        self.write()

    def add_key(self, kid, kind):
        if kind == "EC":
            self.keys[kid] = jwk.JWK.generate(kty="EC", crv="P-256", kid=kid)
        else:
            self.keys[kid] = jwk.JWK.generate(kty="RSA", size=2048, kid=kid)

    def write(self, sequence=1):
        keys = []
        for kid, k in self.keys.items():
            pub = json.loads(k.export_public())
            if self.shape == "spiffe":
                pub["use"] = "jwt-svid"
            else:
                pub["alg"] = "ES256" if pub["kty"] == "EC" else "RS256"
            keys.append(pub)
        doc = {"keys": keys}
        if self.shape == "spiffe":
            doc.update(spiffe_sequence=sequence, spiffe_refresh_hint=300)
            # An X.509 authority beside the JWT keys: never a JWT key.
            x509 = json.loads(jwk.JWK.generate(kty="EC", crv="P-256").export_public())
            x509.update(use="x509-svid", x5c=["MIIBAA=="])
            keys.append(x509)
        with open(self.path, "w") as f:
            json.dump(doc, f)
        os.chmod(self.path, 0o644)

    def svid(self, audience_, sub=None, kid="ec1", key=None, header=None, **claims):
        """A JWT-SVID for audience_; claims add or replace (None removes) claims. Each one of a
        subject is issued later than the one before (iat, from 3000 s back so a thousand fit
        before now), as a SPIFFE issuer minting a fresh SVID does: only a later statement may
        rewrite a registration (docs/security.md)."""
        now = int(time.time())
        sub = sub or "spiffe://%s/ns/prod/billing" % self.name
        last = getattr(self, "_last_iat", {})
        iat = last[sub] = max(now - 3000, last.get(sub, 0) + 1)
        self._last_iat = last
        body = {"sub": sub, "aud": [audience_], "exp": now + 300, "iat": iat}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        key = key or self.keys[kid]
        alg = "ES256" if json.loads(key.export_public())["kty"] == "EC" else "RS256"
        hdr = {"alg": alg, "kid": kid, "typ": "JWT"}
        hdr.update(header or {})
        hdr = {k: v for k, v in hdr.items() if v is not None}
        t = jwt.JWT(header=hdr, claims=body)
        t.make_signed_token(key)
        return t.serialize()


def unsigned(header, claims):
    return "%s.%s.%s" % (b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()),
                         b64(b"x" * 32))


@pytest.fixture
def store_dir():
    d = child_writable_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


_SQLITE = []


def sqlite_wired(httpd_factory):
    """Whether this build's DCRStore takes sqlite: (counted rows prove "stores nothing");
    otherwise the tests fall back to socache and the access log."""
    if not _SQLITE:
        d = child_writable_dir()
        h = httpd_factory(vhosts=[Vhost(conf=["DCRStore sqlite:%s/x.db" % d,
                                              "DCRRequireStatement Off"])], start=False)
        p = h.config_test()
        _SQLITE.append(p.returncode == 0)
        shutil.rmtree(d, ignore_errors=True)
    return _SQLITE[0]


def spiffe_vhost(name, store, trust_lines, extra=()):
    line = "DCRStore sqlite:%s" % store if store else "DCRStore socache:shmcb"
    return Vhost(name=name, conf=[line] + list(trust_lines) + list(extra))


def registered(h):
    time.sleep(0.3)  # the access log line is written after the response
    return [e for e in h.access_log_entries() if e["decision"] == "registered"]


def stored(h, db):
    """How many registrations the server holds: SQLite rows, else registered decisions."""
    return count(db) if db is not None else len(registered(h))


def audience(vhost):
    return vhost.public_base + vhost.location


def post(h, statement, vhost=None, **meta):
    body = dict(META, **meta)
    if statement is not None:
        body["software_statement"] = statement
    v = vhost or h.vhost
    return h.session().post(v.endpoint, json=body, timeout=30)


def server(httpd_factory, store_dir, tds, extra=(), issuer=None):
    db = os.path.join(store_dir, "clients.db") if sqlite_wired(httpd_factory) else None
    lines = ["DCRTrustDomain %s %s%s" % (td.name, td.path, " issuer=" + issuer if issuer else "")
             for td in tds]
    h = httpd_factory(vhosts=[spiffe_vhost("as.example.test", db, lines, extra)], start=False)
    h.start()
    return h, db


@pytest.fixture
def example(tmp_path_factory):
    d = tmp_path_factory.mktemp("bundles")
    os.chmod(d, 0o755)
    return TrustDomain("example.org", str(d / "example.org.json"))


def test_es256_and_rs256_register(httpd_factory, store_dir, example):
    h, db = server(httpd_factory, store_dir, [example])
    aud = audience(h.vhost)
    for kid in ("ec1", "rsa1"):
        sub = "spiffe://example.org/ns/prod/%s" % kid
        st = example.svid(aud, sub=sub, kid=kid, client_name="from the statement")
        r = post(h, st, token_endpoint_auth_method="client_secret_basic")
        assert r.status_code == 201, r.text
        reg = r.json()
        assert reg["spiffe_id"] == sub
        assert reg["token_endpoint_auth_method"] == "spiffe_jwt"
        assert "client_secret" not in reg
        assert reg["client_name"] == "from the statement"  # the statement wins
        assert reg["software_statement"] == st  # returned unmodified
        for claim in ("iss", "sub", "aud", "exp", "iat"):
            assert claim not in reg
        # The registration reads back with its token.
        uri = reg["registration_client_uri"]
        path = uri[len(h.vhost.public_base):]
        g = h.session().get(h.url + path, timeout=30,
                            headers={"Authorization": "Bearer " + reg["registration_access_token"]})
        assert g.status_code == 200, g.text
        assert g.json()["spiffe_id"] == sub
    assert stored(h, db) == 2


def test_every_refusal_stores_nothing(httpd_factory, store_dir, example, tmp_path):
    h, db = server(httpd_factory, store_dir, [example],
                   extra=["DCRAllowSpiffeID spiffe://example.org/ns/prod/*"])
    aud = audience(h.vhost)
    now = int(time.time())
    stranger = jwk.JWK.generate(kty="EC", crv="P-256", kid="ec1")
    other_td = TrustDomain("evil.org", str(tmp_path / "evil.json"), kinds=(("ec1", "EC"),))
    pem = example.keys["rsa1"].export_to_pem()
    hs = jwk.JWK(kty="oct", k=b64(pem))
    hs_token = jwt.JWT(header={"alg": "HS256", "kid": "rsa1"},
                       claims={"sub": "spiffe://example.org/ns/prod/a", "aud": aud,
                               "exp": now + 300, "iat": now})
    hs_token.make_signed_token(hs)
    good_claims = {"sub": "spiffe://example.org/ns/prod/a", "aud": [aud], "exp": now + 300,
                   "iat": now}
    inv, unap = "invalid_software_statement", "unapproved_software_statement"
    cases = [
        ("untrusted trust domain", other_td.svid(aud), unap),
        # order of judgement: a foreign trust domain outranks header defects
        ("untrusted trust domain, no kid", other_td.svid(aud, header={"kid": None}), unap),
        ("untrusted trust domain, jku", other_td.svid(aud, header={"jku": "https://e.x/k"}),
         unap),
        ("malformed sub, no kid", example.svid(aud, sub="spiffe://Evil.org/a",
                                               header={"kid": None}), inv),
        ("signed by a stranger under a known kid", example.svid(aud, key=stranger), inv),
        ("unknown kid", example.svid(aud, kid="nope", key=stranger), inv),
        ("no kid", example.svid(aud, header={"kid": None}), inv),
        ("typ not JWT", example.svid(aud, header={"typ": "at+jwt"}), inv),
        ("jku header", example.svid(aud, header={"jku": "https://evil.example/keys"}), inv),
        ("expired", example.svid(aud, exp=now - 120, iat=now - 400), inv),
        ("iat in the future", example.svid(aud, iat=now + 600, exp=now + 900), inv),
        ("no iat", example.svid(aud, iat=None), inv),
        ("no exp", example.svid(aud, exp=None), inv),
        ("lifetime too long", example.svid(aud, exp=now + 7200), inv),
        ("nbf in the future", example.svid(aud, nbf=now + 600), inv),
        ("audience of another server", example.svid("https://other.example/register"), inv),
        ("audience on another port", example.svid("https://as.example.test:1/register"), inv),
        ("no aud", example.svid(aud, aud=None), inv),
        ("empty aud", example.svid(aud, aud=[]), inv),
        ("iss not the trust domain", example.svid(aud, iss="https://oidc.example.org"), inv),
        ("alg none", unsigned({"alg": "none", "kid": "ec1"}, good_claims), inv),
        ("HS256 keyed with the public key", hs_token.serialize(), inv),
        ("sub not a SPIFFE ID", example.svid(aud, sub="spiffe://Example.org/ns/prod/a"), inv),
        ("sub with a dot segment", example.svid(aud, sub="spiffe://example.org/ns/prod/../a"),
         inv),
        ("trust domain only", example.svid(aud, sub="spiffe://example.org"), unap),
        ("outside DCRAllowSpiffeID", example.svid(aud, sub="spiffe://example.org/ns/dev/a"),
         unap),
        ("tampered payload", example.svid(aud).split(".")[0] + "." +
         b64(json.dumps(dict(good_claims, sub="spiffe://example.org/ns/prod/admin")).encode()) +
         "." + example.svid(aud).split(".")[2], inv),
        ("padded base64url", example.svid(aud).replace(".", "==.", 1), inv),
    ]
    for what, st, error in cases:
        r = post(h, st)
        assert r.status_code == 400, (what, r.status_code, r.text)
        body = r.json()
        assert body["error"] == error, (what, body)
        assert body["error_description"], what
        assert st.split(".")[-1] not in r.text, what  # the token is never echoed
    assert stored(h, db) == 0
    assert not registered(h)
    # The right SVID still registers on the same server afterwards.
    assert post(h, example.svid(aud)).status_code == 201
    assert stored(h, db) == 1
    assert "issuer=https://oidc.example.org" in h.error_log_text()


def test_key_rotation_across_graceful_restart(httpd_factory, store_dir, example):
    example.add_key("ec2", "EC")
    example.write(sequence=2)
    h, db = server(httpd_factory, store_dir, [example])
    aud = audience(h.vhost)

    def svid(kid, n):  # a distinct workload each time: re-registration is not under test
        return example.svid(aud, kid=kid, sub="spiffe://example.org/ns/prod/w%d" % n)

    assert post(h, svid("ec1", 1)).status_code == 201
    assert post(h, svid("ec2", 2)).status_code == 201
    old = svid("ec1", 3)
    del example.keys["ec1"]
    example.write(sequence=3)
    h.graceful()
    r = post(h, old)
    assert r.status_code == 400 and r.json()["error"] == "invalid_software_statement", r.text
    assert post(h, svid("ec2", 4)).status_code == 201
    assert stored(h, db) == 3


def test_two_vhosts_refuse_each_others_svids(httpd_factory, store_dir, tmp_path):
    a = TrustDomain("a.example", str(tmp_path / "a.json"), kinds=(("k", "EC"),))
    b = TrustDomain("b.example", str(tmp_path / "b.json"), kinds=(("k", "EC"),))
    os.chmod(tmp_path, 0o755)
    sql = sqlite_wired(httpd_factory)
    dba = os.path.join(store_dir, "a.db") if sql else None
    dbb = os.path.join(store_dir, "b.db") if sql else None
    va = spiffe_vhost("as-a.example.test", dba, ["DCRTrustDomain a.example %s" % a.path])
    vb = spiffe_vhost("as-b.example.test", dbb, ["DCRTrustDomain b.example %s" % b.path])
    h = httpd_factory(vhosts=[va, vb])
    both = [audience(va), audience(vb)]  # only the trust domain decides below
    for mine, theirs, v in ((a, b, va), (b, a, vb)):
        r = post(h, theirs.svid(None, kid="k", aud=both), vhost=v)
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "unapproved_software_statement"
        r = post(h, mine.svid(None, kid="k", aud=both), vhost=v)
        assert r.status_code == 201, r.text
        assert r.json()["spiffe_id"].startswith("spiffe://%s/" % mine.name)
    # An SVID whose only audience is the other vhost is refused even by its own domain's vhost.
    r = post(h, a.svid(audience(vb), kid="k"), vhost=va)
    assert r.status_code == 400 and r.json()["error"] == "invalid_software_statement"
    if sql:
        assert count(dba) == 1 and count(dbb) == 1
    else:
        assert len(registered(h)) == 2


def test_oidc_jwks_bundle_with_issuer(httpd_factory, store_dir, tmp_path):
    os.chmod(tmp_path, 0o755)
    td = TrustDomain("example.org", str(tmp_path / "keys.json"), shape="jwks")
    h, db = server(httpd_factory, store_dir, [td], issuer="https://oidc.example.org")
    aud = audience(h.vhost)
    assert post(h, td.svid(aud, iss="https://oidc.example.org")).status_code == 201
    for iss in (None, "spiffe://example.org", "https://oidc.example.org/"):
        r = post(h, td.svid(aud, iss=iss))
        assert r.status_code == 400 and r.json()["error"] == "invalid_software_statement", iss
    assert stored(h, db) == 1


def test_bad_bundle_files_stop_the_start(httpd_factory, store_dir, tmp_path):
    os.chmod(tmp_path, 0o755)
    missing = str(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"keys": [')
    os.chmod(broken, 0o644)
    for path, reason in ((missing, "cannot read bundle"), (str(broken), "not usable")):
        h = httpd_factory(vhosts=[spiffe_vhost("as.example.test",
                                               None,
                                               ["DCRTrustDomain example.org %s" % path])],
                          start=False)
        p = h.start(expect_fail=True)
        out = p.stderr + h.error_log_text()
        assert path in out and reason in out, out
        h.allow_errors(".")
    h = httpd_factory(vhosts=[spiffe_vhost("as.example.test", None,
                                           ["DCRTrustDomain Example.org %s" % broken])],
                      start=False)
    p = h.start(expect_fail=True)
    assert "not a trust domain name" in p.stderr + h.error_log_text()
    h.allow_errors(".")
    h = httpd_factory(vhosts=[spiffe_vhost("as.example.test", None,
                                           ["DCRAllowSpiffeID spiffe://example.org/a*"])],
                      start=False)
    p = h.start(expect_fail=True)
    assert "DCRAllowSpiffeID" in p.stderr + h.error_log_text()
    h.allow_errors(".")


def test_vhost_lists_replace_the_main_servers(httpd_factory, example):
    """DCRTrustDomain inherited from the main server; a vhost's DCRAllowSpiffeID replaces the
    main server's patterns instead of extending them."""
    main = ["DCRTrustDomain example.org %s" % example.path,
            "DCRAllowSpiffeID spiffe://example.org/ns/prod/*"]
    inherit = Vhost(name="inherit.example.test", conf=["DCRStore socache:shmcb"])
    own = Vhost(name="own.example.test", conf=["DCRStore socache:shmcb",
                                               "DCRAllowSpiffeID spiffe://example.org/ns/dev/*"])
    h = httpd_factory(vhosts=[inherit, own], server_conf="\n".join(main))
    for v, ok, refused in ((inherit, "prod", "dev"), (own, "dev", "prod")):
        aud = audience(v)
        r = post(h, example.svid(aud, sub="spiffe://example.org/ns/%s/a" % ok), vhost=v)
        assert r.status_code == 201, (v.server_name, r.text)
        r = post(h, example.svid(aud, sub="spiffe://example.org/ns/%s/a" % refused), vhost=v)
        assert r.status_code == 400, (v.server_name, r.text)
        assert r.json()["error"] == "unapproved_software_statement"
