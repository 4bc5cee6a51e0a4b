"""DCRRefusalLimit: refused registrations per client address, counted in DCRCache across the
server's processes; past the limit even a good registration waits (429 + Retry-After)."""

from dcr_httpd import Vhost

GOOD = {"redirect_uris": ["https://app.example/cb"]}
BAD = {"redirect_uris": ["http://evil.example/cb"]}


def server(httpd_factory, *lines, mpm="event"):
    return httpd_factory([Vhost(conf=["DCRStore socache:shmcb", "DCRRequireStatement Off"] +
                                list(lines))], mpm=mpm)


def test_refusals_are_limited_per_address(httpd_factory):
    h = server(httpd_factory, "DCRRefusalLimit 3 3600", mpm="prefork")
    s = h.session()
    assert s.post(h.endpoint, json=GOOD).status_code == 201  # successes are not counted
    for _ in range(3):
        r = s.post(h.endpoint, json=BAD)
        assert r.status_code == 400, r.text
    r = s.post(h.endpoint, json=GOOD)
    assert r.status_code == 429, r.text
    assert r.json()["error"] == "too_many_requests"
    assert 0 < int(r.headers["Retry-After"]) <= 3600
    assert r.headers["Cache-Control"] == "no-store"
    # the counter is shared: new connections (likely other prefork children) see it too
    for _ in range(4):
        assert h.session().post(h.endpoint, json=GOOD).status_code == 429


def test_off_by_default(httpd_factory):
    h = server(httpd_factory)
    s = h.session()
    codes = [s.post(h.endpoint, json=BAD).status_code for _ in range(30)]
    assert set(codes) == {400}
    assert s.post(h.endpoint, json=GOOD).status_code == 201


def test_bad_arguments_stop_the_start(httpd_factory):
    for line in ("DCRRefusalLimit 3", "DCRRefusalLimit x 60", "DCRRefusalLimit 3 0"):
        h = httpd_factory([Vhost(conf=["DCRStore socache:shmcb", line])], start=False)
        p = h.start(expect_fail=True)
        assert "DCRRefusalLimit" in p.stderr, p.stderr
