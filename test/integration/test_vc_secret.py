"""A client secret only where the admin asked for one (DCRVCAuthMethod client_secret_basic):
then it comes once, with client_secret_expires_at, only its hash is stored, it is never shown
again, and an RFC 7592 update may carry it only as the current secret."""

import hashlib
import sqlite3

from test_vc import env, post  # noqa: F401  (env is a fixture)


def record(db, client_id):
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute("SELECT record FROM dcr_clients WHERE client_id = ?",
                           (client_id,)).fetchone()[0]
    finally:
        con.close()


def path_of(h, reg):
    return h.url + reg["registration_client_uri"][len(h.vhost.public_base):]


def test_secret_only_when_configured(env):  # noqa: F811
    make, issuer, status, db = env
    h = make(extra=["DCRVCAuthMethod client_secret_basic", "DCRRegistrationLifetime 86400"])
    st = issuer.vc2()
    r = post(h, st)
    assert r.status_code == 201, r.text
    reg = r.json()
    secret = reg["client_secret"]
    assert len(secret) >= 43
    assert reg["token_endpoint_auth_method"] == "client_secret_basic"
    assert reg["client_secret_expires_at"] == reg["client_id_issued_at"] + 86400
    rec = record(db, reg["client_id"])
    assert secret not in rec
    assert hashlib.sha256(secret.encode()).hexdigest() in rec

    auth = {"Authorization": "Bearer " + reg["registration_access_token"]}
    got = h.session().get(path_of(h, reg), headers=auth)
    assert got.status_code == 200 and "client_secret" not in got.json()
    assert got.json()["client_secret_expires_at"] == reg["client_secret_expires_at"]

    body = {k: v for k, v in got.json().items()
            if k not in ("registration_client_uri", "client_id_issued_at",
                         "client_secret_expires_at", "registration_access_token")}
    wrong = h.session().put(path_of(h, reg), headers=auth,
                            json=dict(body, client_secret="not-the-secret"))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client_metadata"
    ok = h.session().put(path_of(h, reg), headers=auth, json=dict(body, client_secret=secret))
    assert ok.status_code == 200, ok.text
    assert ok.json()["token_endpoint_auth_method"] == "client_secret_basic"
    assert "client_secret" not in ok.json()
    assert hashlib.sha256(secret.encode()).hexdigest() in record(db, reg["client_id"])


def test_no_secret_by_default_even_when_asked(env):  # noqa: F811
    make, issuer, status, db = env
    h = make()
    r = post(h, issuer.vc2(), token_endpoint_auth_method="client_secret_post")
    assert r.status_code == 201, r.text
    assert "client_secret" not in r.json() and "client_secret_expires_at" not in r.json()
    assert "client_secret_sha256" not in record(db, r.json()["client_id"])

