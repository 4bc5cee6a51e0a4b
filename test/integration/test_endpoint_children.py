"""A registration made in one child process is read back by another (prefork, several
children): the socache store is shared memory, not process memory. The access log's %P shows
which child served which request."""

import requests

from dcr_httpd import Vhost

META = {"redirect_uris": ["https://client.example.org/cb"], "client_name": "child test"}


def fresh_session(h):
    # a new connection per request, so the kernel hands requests to whichever child accepts
    s = h.session()
    s.headers["Connection"] = "close"
    return s


def test_read_back_by_another_child(httpd_factory):
    h = httpd_factory([Vhost()], mpm="prefork")
    seen = []
    for attempt in range(60):
        r = fresh_session(h).post(h.endpoint, json=META)
        assert r.status_code == 201, r.text
        reg = r.json()
        uri = h.url + reg["registration_client_uri"][len(h.vhost.public_base):]
        g = fresh_session(h).get(uri, headers={
            "Authorization": "Bearer " + reg["registration_access_token"]})
        assert g.status_code == 200, g.text
        assert g.json()["client_id"] == reg["client_id"]
        entries = h.wait_access_log(2 * (attempt + 1))
        post = [e for e in entries if e["method"] == "POST" and e["client_id"] == reg["client_id"]]
        get = [e for e in entries if e["method"] == "GET" and e["client_id"] == reg["client_id"]]
        assert len(post) == 1 and len(get) == 1
        seen.append((post[0]["pid"], get[0]["pid"]))
        if post[0]["pid"] != get[0]["pid"]:
            break
    else:
        raise AssertionError("every POST and GET ran in the same child: %r" % seen)
    assert len({p for pair in seen for p in pair}) >= 2


def test_concurrent_registrations_across_children(httpd_factory):
    """Several children writing at once (the store mutex serialises shmcb): every registration
    is readable afterwards."""
    import concurrent.futures
    h = httpd_factory([Vhost()], mpm="prefork")

    def one(_):
        r = fresh_session(h).post(h.endpoint, json=META)
        return r.status_code, r.json()

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as ex:
        results = list(ex.map(one, range(30)))
    assert all(code == 201 for code, _ in results)
    regs = [reg for _, reg in results]
    assert len({reg["client_id"] for reg in regs}) == 30
    for reg in regs:
        uri = h.url + reg["registration_client_uri"][len(h.vhost.public_base):]
        g = fresh_session(h).get(uri, headers={
            "Authorization": "Bearer " + reg["registration_access_token"]})
        assert g.status_code == 200
    pids = {e["pid"] for e in h.wait_access_log(60)}
    assert len(pids) >= 2
