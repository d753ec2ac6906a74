#!/usr/bin/python3
"""tests/integration/audit/mtasts_server.py CERT KEY ADDRESS PORT LOG

The MTA-STS policy server of test_audit_https: HTTPS (one certificate
naming the test domains' mta-sts hosts) on ADDRESS:PORT inside the test's
network namespace, serving /.well-known/mta-sts.txt by Host header: a good
policy, and the planted problems (RFC 8461 3.2, 3.3) the audit must find.
Requests are logged to LOG (one line each). Runs until killed.
"""
import http.server
import ssl
import sys

GOOD = (b"version: STSv1\r\nmode: enforce\r\nmx: mx.good.test\r\n"
        b"mx: mx2.good.test\r\nmax_age: 604800\r\n")

# host -> (status, content type, body, extra headers, send length)
POLICIES = {
    "mta-sts.stsgood.test": (200, "text/plain; charset=utf-8", GOOD, {},
                             True),
    # the same file behind a certificate that does not name the host
    "mta-sts.stswrongcert.test": (200, "text/plain", GOOD, {}, True),
    "mta-sts.ststypo.test": (200, "text/plain",
                             GOOD.replace(b"mode: enforce", b"mode: enforcing"),
                             {}, True),
    "mta-sts.stsnoage.test": (200, "text/plain",
                              GOOD.replace(b"max_age: 604800\r\n", b""), {},
                              True),
    "mta-sts.stsmx.test": (200, "text/plain",
                           b"version: STSv1\r\nmode: enforce\r\n"
                           b"mx: mail.elsewhere.test\r\nmax_age: 604800\r\n",
                           {}, True),
    # a policy behind a redirect: senders must not follow it
    "mta-sts.stsredirect.test": (301, "text/plain", b"moved\r\n",
                                 {"Location": "https://mta-sts.stsgood.test"
                                  "/.well-known/mta-sts.txt"}, True),
    "mta-sts.sts404.test": (404, "text/html", b"<h1>not found</h1>\n", {},
                            True),
    "mta-sts.ststype.test": (200, "text/html",
                             b"<html><body><pre>" + GOOD +
                             b"</pre></body></html>\n", {}, True),
    # 70 KiB: over the 64 KiB limit, with a Content-Length ...
    "mta-sts.stsbig.test": (200, "text/plain",
                            GOOD + b"# " + b"x" * (70 * 1024) + b"\r\n", {},
                            True),
    # ... and without one (read until the connection closes)
    "mta-sts.stsstream.test": (200, "text/plain",
                               GOOD + b"# " + b"y" * (100 * 1024) + b"\r\n",
                               {}, False),
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        pol = POLICIES.get(host)
        if pol is None or self.path != "/.well-known/mta-sts.txt":
            pol = (404, "text/plain", b"no such policy\n", {}, True)
        status, ctype, body, extra, length = pol
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in extra.items():
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        try:
            # in pieces, so that a client that stops early is seen
            for i in range(0, len(body), 8192):
                self.wfile.write(body[i:i + 8192])
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    def log_message(self, fmt, *args):
        with open(LOG, "a") as f:
            f.write("%s %s\n" % (self.headers.get("Host"), fmt % args))


def main():
    global LOG
    cert, key, addr, port, LOG = sys.argv[1:6]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    srv = http.server.ThreadingHTTPServer((addr, int(port)), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


LOG = None
if __name__ == "__main__":
    main()
