#!/usr/bin/env python3
"""HTTPS server for test_daemon_tlspolicy.

Usage: sts_server.py CERT KEY ROOT PORTFILE

Listens on 127.0.0.1 (a port of the system's choosing, written to
PORTFILE once it accepts); GET serves the files under ROOT (.txt as
text/plain), POST stores the body in ROOT/posted.bin and its
Content-Type in ROOT/posted.ct and answers 201.
"""
import functools
import http.server
import os
import ssl
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        with open(os.path.join(self.directory, "posted.bin"), "wb") as f:
            f.write(body)
        with open(os.path.join(self.directory, "posted.ct"), "w") as f:
            f.write(self.headers.get("Content-Type", ""))
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    cert, key, root, portfile = sys.argv[1:5]
    httpd = http.server.HTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=root))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(httpd.server_address[1]))
    os.rename(tmp, portfile)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
