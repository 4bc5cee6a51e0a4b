"""DCRInitialAccessToken: registration only with an initial access token from the token file
(SHA-256 hashes, optional expiry). Missing, wrong, expired and valid tokens with the exact RFC
6750 answers; the store unchanged by refusals; statements still required; the file read by the
parent at start and reload (apache2 -t refuses a bad one without quoting it); VirtualHost
inheritance and `none`; DCRRefusalLimit counting wrong tokens; CORS preflight without one."""

import hashlib
import os
import re
import shutil
import time

import pytest

from dcr_httpd import Vhost
from services import child_writable_dir
from store_util import sqlite_count
from test_configtest import configtest_fails
from test_spiffe import TrustDomain

GOOD = {"redirect_uris": ["https://app.example/cb"], "client_name": "app"}
VALID = "iat-valid-4f1c0b6e2d9a8c7b"
OLD = "iat-old-77aa10b2c3d4e5f6"
OTHER = "iat-other-0123456789abcdef"


def sha(token):
    return hashlib.sha256(token.encode()).hexdigest()


def write_tokens(path, lines, mode=0o600):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, mode)  # root reads it at configuration; the children never need to


def token_file(d, mode=0o600):
    path = os.path.join(d, "initial_access_tokens")
    write_tokens(path, ["# tokens for the CI pipelines",
                        "",
                        "%s  # team a" % sha(VALID),
                        "%s 1000000000" % sha(OLD)], mode)  # expired in 2001
    return path


@pytest.fixture
def store_dir():
    d = child_writable_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def server(httpd_factory, tokens, db, *lines, start=True, **kw):
    h = httpd_factory([Vhost(conf=["DCRStore sqlite:%s" % db, "DCRRequireStatement Off",
                                   "DCRInitialAccessToken file:%s" % tokens] + list(lines))],
                      start=start, **kw)
    h.allow_errors(r"token\(s\) expired")  # the file holds an expired token on purpose
    return h


def post(h, token=None, session=None, headers=None, **body):
    hd = dict(headers or {})
    if token is not None:
        hd["Authorization"] = "Bearer " + token
    return (session or h.session()).post(h.endpoint, json=dict(GOOD, **body), headers=hd,
                                         timeout=30)


def assert_missing(r):
    # RFC 6750 3.1: no error code in the challenge or the body
    assert r.status_code == 401, r.text
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert "error" not in r.json() and r.json()["error_description"]
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Pragma"] == "no-cache"


def assert_invalid(r):
    assert r.status_code == 401, r.text
    assert r.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert r.json()["error"] == "invalid_token"
    assert r.headers["Cache-Control"] == "no-store"


def test_missing_wrong_expired_and_valid(httpd_factory, store_dir, tmp_path):
    db = os.path.join(store_dir, "clients.db")
    h = server(httpd_factory, token_file(str(tmp_path)), db)
    assert_missing(post(h))
    # another scheme, or Bearer without a value, is no token
    assert_missing(post(h, headers={"Authorization": "Basic " + VALID}))
    assert_missing(post(h, headers={"Authorization": "Bearer   "}))
    # wrong, expired, the hash instead of the token, a prefix: all alike
    for t in (OTHER, OLD, sha(VALID), VALID[:-1], VALID + "x"):
        assert_invalid(post(h, t))
    assert sqlite_count(db) == 0
    # the valid one registers (RFC 6750 allows any case of "Bearer" and extra spaces)
    r = post(h, headers={"Authorization": "bearer  " + VALID + " "})
    assert r.status_code == 201, r.text
    assert sqlite_count(db) == 1
    c = r.json()
    # RFC 7592 management uses the registration access token, never the initial one
    url = "%s/%s" % (h.endpoint, c["client_id"])
    s = h.session()
    assert s.get(url, headers={"Authorization": "Bearer " + c["registration_access_token"]}
                 ).status_code == 200
    assert_invalid(s.get(url, headers={"Authorization": "Bearer " + VALID}))
    assert_invalid(post(h, c["registration_access_token"]))
    assert sqlite_count(db) == 1
    # the log says what happened, by line, and never a token
    decisions = [e["decision"] for e in h.wait_access_log(12)]
    assert decisions.count("missing_token") == 3
    assert decisions.count("invalid_token") == 7
    log = h.error_log_text()
    assert "registration refused: missing_token: no initial access token" in log
    assert "initial access token of line 4 has expired" in log
    assert "unknown initial access token" in log
    assert "with the initial access token of line 3" in log
    logs = log + open(h.path("logs", "access.log")).read()
    for t in (VALID, OLD, OTHER):
        assert t not in logs


def test_statement_still_required(httpd_factory, tmp_path):
    td = TrustDomain("example.org", str(tmp_path / "bundle.json"))
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb",
                                   "DCRTrustDomain example.org %s" % td.path,
                                   "DCRInitialAccessToken file:%s" % token_file(str(tmp_path))])])
    h.allow_errors(r"token\(s\) expired")
    aud = h.vhost.public_base + "/register"
    body = {"grant_types": ["client_credentials"], "client_name": "workload"}
    s = h.session()
    r = s.post(h.endpoint, json=body, headers={"Authorization": "Bearer " + VALID})
    assert r.status_code == 400 and r.json()["error"] == "invalid_software_statement", r.text
    # a good statement does not stand in for the token
    svid = td.svid(aud, sub="spiffe://example.org/w1")
    assert_missing(s.post(h.endpoint, json=dict(body, software_statement=svid)))
    r = s.post(h.endpoint, json=dict(body, software_statement=svid),
               headers={"Authorization": "Bearer " + VALID})
    assert r.status_code == 201, r.text
    assert r.json()["client_id"]


def test_bad_files_fail_configtest_and_start_without_quoting_them(httpd_factory, tmp_path):
    secret_ish = "deadbeefcafe" * 5  # 60 hex digits: not a hash
    cases = [
        (["# ok", sha(VALID), secret_ish], "line 3: not a SHA-256 hash"),
        ([sha(VALID) + " 2027-02-30T00:00:00Z"], "line 1: the expiry is neither"),
        ([sha(VALID) + " 1790000000 team-" + secret_ish], "line 1: unexpected text"),
        ([sha(VALID), sha(OTHER), sha(VALID)], "line 3: the same hash as line 1"),
        (["# nothing yet"], "holds no token hash"),
    ]
    for i, (lines, why) in enumerate(cases):
        path = str(tmp_path / ("tokens-%d" % i))
        write_tokens(path, lines)
        err = configtest_fails(httpd_factory, [Vhost(conf=[
            "DCRStore socache:shmcb", "DCRRequireStatement Off",
            "DCRInitialAccessToken file:%s" % path])], "DCRInitialAccessToken", path, why,
            "as.example.test")
        assert secret_ish not in err and "team-" not in err, err
    missing = str(tmp_path / "no-such-file")
    configtest_fails(httpd_factory, [Vhost(conf=[
        "DCRStore socache:shmcb", "DCRRequireStatement Off",
        "DCRInitialAccessToken file:%s" % missing])], "DCRInitialAccessToken", missing,
        "No such file")


@pytest.mark.parametrize("line, words", [
    ("DCRInitialAccessToken /etc/tokens", ["neither file:<path>", "nor none"]),
    ("DCRInitialAccessToken file:", ["neither file:<path>"]),
    ("DCRInitialAccessToken none\nDCRInitialAccessToken none", ["set twice"]),
])
def test_bad_directive_values(httpd_factory, line, words):
    h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb", "DCRRequireStatement Off"] +
                           line.split("\n"))], start=False)
    p = h.config_test()
    assert p.returncode != 0
    for w in words:
        assert w in p.stderr, p.stderr


def test_reload_reads_the_file_again_and_a_broken_one_is_refused(httpd_factory, store_dir,
                                                                  tmp_path):
    db = os.path.join(store_dir, "clients.db")
    path = str(tmp_path / "tokens")
    write_tokens(path, [sha(VALID)])
    h = server(httpd_factory, path, db)
    assert post(h, VALID).status_code == 201
    assert_invalid(post(h, OTHER))
    # a new token and a revoked one take effect with a graceful restart
    write_tokens(path, [sha(OTHER)])
    assert post(h, VALID).status_code == 201  # still the old set until the reload
    h.graceful()
    assert post(h, OTHER).status_code == 201
    assert_invalid(post(h, VALID))
    # a broken file: the configtest (Debian's apache2ctl graceful runs it first) refuses it,
    # and the running server keeps the tokens it has
    pid = h.pid()
    write_tokens(path, [sha(OTHER), "not a hash"])
    p = h.config_test()
    assert p.returncode != 0 and "line 2: not a SHA-256 hash" in p.stderr, p.stderr
    assert h.pid() == pid
    assert post(h, OTHER).status_code == 201
    assert sqlite_count(db) == 4


def test_expiry_is_judged_per_request(httpd_factory, store_dir, tmp_path):
    db = os.path.join(store_dir, "clients.db")
    path = str(tmp_path / "tokens")
    soon = int(time.time()) + 6
    write_tokens(path, ["%s %d" % (sha(VALID), soon),
                        "%s %s" % (sha(OTHER), time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                              time.gmtime(soon)))])
    h = server(httpd_factory, path, db)
    assert post(h, VALID).status_code == 201
    assert post(h, OTHER).status_code == 201
    while time.time() < soon + 0.2:
        time.sleep(0.2)
    # no reload: the expiry is checked against the request's time
    assert_invalid(post(h, VALID))
    assert_invalid(post(h, OTHER))
    assert sqlite_count(db) == 2
    assert "initial access token of line 1 has expired" in h.error_log_text()


def test_vhosts_inherit_the_main_servers_file_or_say_none(httpd_factory, tmp_path):
    path = token_file(str(tmp_path))
    closed = Vhost(name="closed.example.test")
    own_path = str(tmp_path / "own")
    write_tokens(own_path, [sha(OTHER)])
    own = Vhost(name="own.example.test", conf=["DCRStore socache:shmcb",
                                               "DCRRequireStatement Off",
                                               "DCRInitialAccessToken file:%s" % own_path])
    open_ = Vhost(name="open.example.test", conf=["DCRStore socache:shmcb",
                                                  "DCRRequireStatement Off",
                                                  "DCRInitialAccessToken none"])
    h = httpd_factory([closed, own, open_],
                      server_conf="DCRInitialAccessToken file:%s" % path)
    h.allow_errors(r"token\(s\) expired")
    s = h.session()

    def reg(v, token=None):
        hd = {"Authorization": "Bearer " + token} if token else {}
        return s.post(v.endpoint, json=GOOD, headers=hd, timeout=30)

    assert_missing(reg(closed))
    assert reg(closed, VALID).status_code == 201
    assert_invalid(reg(own, VALID))  # its own file replaces the main server's
    assert reg(own, OTHER).status_code == 201
    assert reg(open_).status_code == 201
    # the startup line says what each endpoint asks for
    lines = [l for l in h.error_log_lines() if "dcr-registration at" in l]
    assert any("closed.example.test" in l and "initial access tokens: 2 (1 expired)" in l
               for l in lines), lines
    assert any("own.example.test" in l and "initial access tokens: 1 (0 expired)" in l
               for l in lines), lines
    assert not any("open.example.test" in l and "initial access tokens" in l for l in lines)


def test_wrong_tokens_count_for_the_refusal_limit(httpd_factory, store_dir, tmp_path):
    db = os.path.join(store_dir, "clients.db")
    h = server(httpd_factory, token_file(str(tmp_path)), db, "DCRRefusalLimit 3 3600")
    s = h.session()
    for _ in range(6):  # asking without a token guesses nothing: not counted
        assert_missing(post(h, session=s))
    for i in range(3):
        assert_invalid(post(h, "guess-%d" % i, session=s))
    r = post(h, VALID, session=s)  # past the limit even the right token waits
    assert r.status_code == 429, r.text
    assert int(r.headers["Retry-After"]) > 0
    assert sqlite_count(db) == 0


def test_cors_preflight_needs_no_token(httpd_factory, store_dir, tmp_path):
    db = os.path.join(store_dir, "clients.db")
    origin = "https://app.example"
    h = server(httpd_factory, token_file(str(tmp_path)), db, "DCRCORSOrigins %s" % origin)
    s = h.session()
    r = s.options(h.endpoint, headers={"Origin": origin,
                                       "Access-Control-Request-Method": "POST",
                                       "Access-Control-Request-Headers":
                                           "content-type, authorization"})
    assert r.status_code == 204, r.text
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    # the browser script can read the challenge of the 401
    r = post(h, headers={"Origin": origin})
    assert_missing(r)
    assert r.headers["Access-Control-Allow-Origin"] == origin
    assert "WWW-Authenticate" in r.headers["Access-Control-Expose-Headers"]
    r = post(h, VALID, headers={"Origin": origin})
    assert r.status_code == 201, r.text
    assert sqlite_count(db) == 1


def test_a_file_others_can_write_is_warned_about(httpd_factory, store_dir, tmp_path):
    path = str(tmp_path / "tokens")
    write_tokens(path, [sha(VALID)], mode=0o666)
    h = server(httpd_factory, path, os.path.join(store_dir, "clients.db"))
    h.allow_errors(r"writable by its group or others")
    assert re.search(r"\[dcr_trusted:warn\].*DCRInitialAccessToken file:%s is writable by its "
                     r"group or others" % re.escape(path), h.error_log_text())
    assert post(h, VALID).status_code == 201
