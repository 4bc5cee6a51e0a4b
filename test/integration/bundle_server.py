"""The suite's own HTTPS key server: serves one SPIFFE bundle or JWKS at /bundle that a test can
change at any time (body, content type, Cache-Control), counts the requests it answers, and can
go down (refuse connections) and come back on the same port. Runs in the test process, on
127.0.0.1, with a certificate from its own throwaway CA (ca, for DCRFetchCAFile)."""

import http.server
import json
import os
import ssl
import threading

from dcr_httpd import _make_cert, free_port


class _Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True  # down and up again on the same port
    daemon_threads = True


def serve_tls(handler, port, crt, key):
    """A threaded HTTPS server of handler on 127.0.0.1:port, serving from a daemon thread."""
    httpd = _Server(("127.0.0.1", port), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def stop_tls(httpd):
    """Closes a serve_tls server: its port refuses connections until served again."""
    if httpd:
        httpd.shutdown()
        httpd.server_close()


class BundleServer:
    PATH = "/bundle"

    def __init__(self, directory):
        self.crt, self.key, self.ca = _make_cert(directory, ["bundle.test"])
        os.chmod(self.ca, 0o644)
        self.port = free_port()
        self.body = b'{"keys": []}'
        self.content_type = "application/json"
        self.cache_control = None
        self.redirect = None  # a URL: answer 302 to it instead
        self.requests = 0
        self.lock = threading.Lock()
        self.httpd = None
        self.start()

    @property
    def url(self):
        return "https://127.0.0.1:%d%s" % (self.port, self.PATH)

    def serve(self, doc, content_type="application/json", cache_control=None):
        """doc: a dict (dumped as JSON) or bytes served verbatim."""
        with self.lock:
            self.body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
            self.content_type = content_type
            self.cache_control = cache_control

    def count(self):
        with self.lock:
            return self.requests

    def start(self):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with outer.lock:
                    outer.requests += 1
                    body, ctype, cc = outer.body, outer.content_type, outer.cache_control
                    redirect = outer.redirect
                if self.path != outer.PATH:
                    self.send_error(404)
                    return
                if redirect:
                    self.send_response(302)
                    self.send_header("Location", redirect)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                if ctype:
                    self.send_header("Content-Type", ctype)
                if cc:
                    self.send_header("Cache-Control", cc)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = serve_tls(Handler, self.port, self.crt, self.key)

    def stop(self):
        """Down: the port refuses connections until start()."""
        stop_tls(self.httpd)
        self.httpd = None
