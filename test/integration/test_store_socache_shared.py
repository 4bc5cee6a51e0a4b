"""DCRStore socache:memcache and socache:redis against a real memcached / redis-server (started
by the fixture on free loopback ports) with two httpd nodes: what node A registers, node B
reads, updates and deletes; registrations survive an httpd restart (the data lives in the
shared cache, unlike shmcb)."""

import pytest

from services import Daemon
from store_util import (assert_other_node_updates_and_deletes, assert_readable, read, register,
                        register_many, vhost)

KINDS = {
    # daemon, httpd module, DCRStore argument
    "memcache": ("memcached", "socache_memcache", "socache:memcache:127.0.0.1:%d"),
    "redis": ("redis", "socache_redis", "socache:redis:127.0.0.1:%d"),
}


@pytest.fixture(params=sorted(KINDS))
def shared_cache(request):
    daemon, module, arg = KINDS[request.param]
    d = Daemon(daemon)
    try:
        d.start()
        yield module, arg % d.port
    finally:
        d.cleanup()


def node(httpd_factory, shared_cache):
    module, store = shared_cache
    return httpd_factory(vhosts=[vhost(["DCRStore %s" % store])], modules=[module])


def test_node_b_reads_updates_deletes_what_node_a_registered(httpd_factory, shared_cache):
    a = node(httpd_factory, shared_cache)
    b = node(httpd_factory, shared_cache)
    c = register(a, name="from-a")
    r = read(b, c)
    assert r.status_code == 200, r.text
    assert r.json()["client_id"] == c.id and r.json()["client_name"] == "from-a"
    assert read(b, c, token="x" + c.token).status_code == 401

    assert_other_node_updates_and_deletes(a, b, c)
    assert read(b, c).status_code == 401


def test_concurrent_registrations_on_both_nodes(httpd_factory, shared_cache):
    a = node(httpd_factory, shared_cache)
    b = node(httpd_factory, shared_cache)
    clients = register_many([a, b], 100, workers=8)
    assert len({c.id for c in clients}) == 100
    assert_readable(b, clients[0::2])
    assert_readable(a, clients[1::2])


def test_registrations_survive_httpd_restart(httpd_factory, shared_cache):
    a = node(httpd_factory, shared_cache)
    clients = [register(a, name="r%d" % i) for i in range(5)]
    a.restart()
    assert_readable(a, clients)
    a.stop()
    a.start()
    assert_readable(a, clients)


def redis_ttls(port):
    """TTL in seconds of every key in the redis instance."""
    import subprocess
    cli = ["redis-cli", "-h", "127.0.0.1", "-p", str(port)]
    keys = subprocess.run(cli + ["--scan"], capture_output=True, text=True,
                          check=True).stdout.split()
    return [int(subprocess.run(cli + ["TTL", k], capture_output=True, text=True,
                               check=True).stdout) for k in keys]


@pytest.mark.parametrize("lifetime_line,expected", [
    (None, 29 * 86400),                                  # a cache cannot sweep: bounded
    ("DCRRegistrationLifetime 3600", 3600),
])
def test_socache_registrations_are_bounded_by_default(httpd_factory, lifetime_line, expected):
    d = Daemon("redis")
    try:
        d.start()
        lines = ["DCRStore socache:redis:127.0.0.1:%d" % d.port]
        if lifetime_line:
            lines.append(lifetime_line)
        h = httpd_factory(vhosts=[vhost(lines)], modules=["socache_redis"])
        register(h, name="bounded")
        ttls = redis_ttls(d.port)
        assert ttls, "nothing stored"
        assert all(expected - 120 <= t <= expected for t in ttls), ttls
    finally:
        d.cleanup()
