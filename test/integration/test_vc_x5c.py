"""x5c-root: issuers (issue 11): only a signing leaf may sign a credential. A CA certificate, a
TLS server or client certificate or an e-mail certificate that happens to name the issuer is
refused, and DCRVCx5cEKU makes the leaf carry an extendedKeyUsage of the admin's choice."""

import base64
import datetime
import os
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from jwcrypto import jwk, jwt

from dcr_httpd import Vhost
from test_vc import SUBJECT, audience, env, post, refused  # noqa: F401 (env is a fixture)
from store_util import sqlite_count as count

IDENT = "https://ca-backed.example"
VC_PURPOSE = "1.3.6.1.4.1.99999.7.1"  # a private arc, as an issuer might define one


class Pki:
    """A root (written as the x5c-root file) and leaves it signs, each naming IDENT."""

    def __init__(self, directory):
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = self._cert(self.root_key.public_key(), "vc root", ca=True, san=None)
        self.roots = os.path.join(directory, "x5c-roots-%d.pem" % id(self))
        with open(self.roots, "wb") as f:
            f.write(self.root.public_bytes(serialization.Encoding.PEM))
        os.chmod(self.roots, 0o644)

    def _cert(self, pub, cn, ca=None, key_usage=None, eku=None, san=IDENT):
        now = datetime.datetime.now(datetime.timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vc root")])
        b = (x509.CertificateBuilder().subject_name(name).issuer_name(root_name)
             .public_key(pub).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(hours=1))
             .not_valid_after(now + datetime.timedelta(days=2)))
        if ca is not None:
            b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        if key_usage is not None:
            flags = dict(digital_signature=False, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=False, crl_sign=False, encipher_only=False,
                         decipher_only=False)
            flags.update({k: True for k in key_usage})
            b = b.add_extension(x509.KeyUsage(**flags), critical=True)
        if eku is not None:
            b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(san)]), critical=False)
        return b.sign(self.root_key, hashes.SHA256())

    def leaf(self, **ext):
        """(certificate, signing key) of a new leaf with exactly the extensions given."""
        key = ec.generate_private_key(ec.SECP256R1())
        return self._cert(key.public_key(), "vc signer", **ext), key


_serial = iter(range(1, 1000000))


def credential(cert, key, name, vhost):
    """A VC-JWT signed by key with cert as x5c, bound to vhost's endpoint (aud), for a subject
    of its own (so that each registration is a first one)."""
    now = int(time.time())
    signer = jwk.JWK.from_pem(key.private_bytes(serialization.Encoding.PEM,
                                                serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    t = jwt.JWT(header={"alg": "ES256", "typ": "vc+jwt", "x5c": [base64.b64encode(
        cert.public_bytes(serialization.Encoding.DER)).decode()]},
        claims={"@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential"], "issuer": IDENT, "nbf": now - 10,
                "exp": now + 600, "aud": audience(vhost),
                "credentialSubject": {"id": "%s/%d" % (SUBJECT, next(_serial)),
                                      "client_name": name}})
    t.make_signed_token(signer)
    return t.serialize()


@pytest.fixture
def x5c_env(env):
    make, issuer, status, db = env
    pki = Pki(os.path.dirname(issuer.jwks))

    def start(extra=()):
        return make(["DCRVCIssuer %s x5c-root:%s" % (IDENT, pki.roots)] + list(extra))

    return start, pki, db


def accepted(h, pki, db, **ext):
    before = count(db)
    r = post(h, credential(*pki.leaf(**ext), name="signer", vhost=h.vhost))
    assert r.status_code == 201, (ext, r.text)
    assert r.json()["vc_issuer"] == IDENT
    assert count(db) == before + 1


def rejected(h, pki, db, why, **ext):
    before = count(db)
    r = post(h, credential(*pki.leaf(**ext), name="not a signer", vhost=h.vhost))
    refused(r, 400, "invalid_software_statement")
    assert count(db) == before  # nothing stored
    assert why in h.error_log_text(), ext


def test_signing_leaves_accepted(x5c_env):
    start, pki, db = x5c_env
    h = start()
    accepted(h, pki, db)  # no basicConstraints, keyUsage or EKU: an end entity
    accepted(h, pki, db, ca=False, key_usage=["digital_signature"])
    accepted(h, pki, db, eku=[ExtendedKeyUsageOID.CODE_SIGNING])
    accepted(h, pki, db, eku=[ExtendedKeyUsageOID.SERVER_AUTH, ObjectIdentifier(VC_PURPOSE)])


def test_ca_tls_and_mail_leaves_refused(x5c_env):
    """Any holder of the issuer's web server key (a certificate whose SAN names the issuer)
    could otherwise mint credentials."""
    start, pki, db = x5c_env
    h = start()
    rejected(h, pki, db, "CA certificate", ca=True)
    rejected(h, pki, db, "CA certificate", ca=True, key_usage=["digital_signature",
                                                                 "key_cert_sign"])
    rejected(h, pki, db, "keyUsage", key_usage=["key_encipherment"])
    rejected(h, pki, db, "TLS or e-mail", eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    rejected(h, pki, db, "TLS or e-mail", eku=[ExtendedKeyUsageOID.SERVER_AUTH,
                                               ExtendedKeyUsageOID.CLIENT_AUTH])
    rejected(h, pki, db, "TLS or e-mail", eku=[ExtendedKeyUsageOID.EMAIL_PROTECTION])
    assert count(db) == 0


def test_configured_eku_required(x5c_env):
    start, pki, db = x5c_env
    h = start(["DCRVCx5cEKU %s %s" % (VC_PURPOSE,
                                      ExtendedKeyUsageOID.CODE_SIGNING.dotted_string)])
    accepted(h, pki, db, eku=[ObjectIdentifier(VC_PURPOSE)])
    accepted(h, pki, db, eku=[ExtendedKeyUsageOID.CODE_SIGNING])
    rejected(h, pki, db, "DCRVCx5cEKU")  # no EKU at all
    rejected(h, pki, db, "DCRVCx5cEKU", eku=[ExtendedKeyUsageOID.TIME_STAMPING])
    rejected(h, pki, db, "DCRVCx5cEKU", eku=[ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE])


def test_eku_list_per_vhost(httpd_factory, x5c_env):
    """A vhost that sets DCRVCx5cEKU replaces the main server's list; one that does not
    inherits it."""
    start, pki, db = x5c_env
    issuer_line = "DCRVCIssuer %s x5c-root:%s" % (IDENT, pki.roots)
    inherit = Vhost(name="a.example.test", conf=["DCRStore socache:shmcb"])
    other = Vhost(name="b.example.test", conf=["DCRStore socache:shmcb",
                                               "DCRVCx5cEKU %s" % VC_PURPOSE])
    h = httpd_factory(vhosts=[inherit, other],
                      server_conf="%s\nDCRVCx5cEKU 1.3.6.1.5.5.7.3.3\n" % issuer_line)

    def send(v, cert_key):
        return h.session().post(v.endpoint, json={
            "software_statement": credential(*cert_key, name="x", vhost=v),
            "grant_types": ["authorization_code"],
            "redirect_uris": ["https://agent.example.com/cb"]}, timeout=30)

    code_signing = [ExtendedKeyUsageOID.CODE_SIGNING]
    assert send(inherit, pki.leaf(eku=code_signing)).status_code == 201
    refused(send(inherit, pki.leaf(eku=[ObjectIdentifier(VC_PURPOSE)])), 400,
            "invalid_software_statement")
    assert send(other, pki.leaf(eku=[ObjectIdentifier(VC_PURPOSE)])).status_code == 201
    refused(send(other, pki.leaf(eku=code_signing)), 400, "invalid_software_statement")


@pytest.mark.parametrize("value", ["codeSigning", "1..3", "1.3.6.1.5.5.7.3.3x"])
def test_bad_eku_fails_startup(httpd_factory, value):
    h = httpd_factory(vhosts=[Vhost(conf=["DCRStore socache:shmcb", "DCRVCx5cEKU " + value])],
                      start=False)
    p = h.config_test()
    assert p.returncode != 0
    assert "DCRVCx5cEKU: '%s' is not a dotted OID" % value in p.stderr + p.stdout, p.stderr
