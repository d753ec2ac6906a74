"""What the e2e scripts (tests/e2e/test_*.py) share: the daemon handle
(configuration file, start, wait for the listeners, stop with the log
checked, Maildir reading, `mailsec` CLI calls), free ports, the capture
SMTP server and the small checks.

A script sets BIN (main(): the --bin argument, made absolute) before it
starts anything; it imports this module after setting
sys.dont_write_bytecode, so that no __pycache__ lands in the source tree.
"""
import argparse
import os
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import threading
import time

BIN = None
SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
# In every daemon log: a sanitizer's report. DAEMON_BAD adds the master's
# line about a worker that died of a signal (the crash test kills them).
SANITIZER_WORDS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
DAEMON_BAD = SANITIZER_WORDS + ("killed by signal",)


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def parse_args(cases):
    """--bin PATH CASE, CASE one of cases; sets BIN."""
    global BIN
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("case", choices=sorted(cases))
    a = ap.parse_args()
    BIN = os.path.abspath(a.bin)
    return a


def run(args, text=True, **kw):
    return subprocess.run(args, capture_output=True, text=text, **kw)


def free_ports(n, ip="127.0.0.1"):
    """n distinct ports free on ip."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind((ip, 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def free_port(ips):
    """A port free on every address of ips."""
    for _ in range(50):
        port = free_ports(1, ips[0])[0]
        ok = True
        for ip in ips:
            t = socket.socket()
            try:
                t.bind((ip, port))
            except OSError:
                ok = False
            finally:
                t.close()
        if ok:
            return port
    raise Fail("no common free port")


def unbindable(ips):
    """The first address of ips this host cannot bind (a loopback alias
    that is missing), or None."""
    for ip in ips:
        try:
            s = socket.socket()
            s.bind((ip, 0))
            s.close()
        except OSError:
            return ip
    return None


def tls_ctx():
    """A client context that takes any certificate."""
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def wait_listening(proc, addrs, deadline, poll=0.1):
    """True once every (ip, port) of addrs takes a connection; False when
    proc exits or the deadline passes first."""
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            for a in addrs:
                socket.create_connection(a, 1).close()
            return True
        except OSError:
            time.sleep(poll)
    return False


def check_log_clean(log, what, words=DAEMON_BAD):
    for bad in words:
        check(bad not in log, "%s has %r:\n%s" % (what, bad, log[-4000:]))


def read_maildir(state, user, domain, want=1, wait=0.0):
    """The files in user@domain's Maildir new/ under state, once there are
    at least want of them or wait seconds ran out."""
    d = os.path.join(state, "mail", domain, user, "new")
    deadline = time.time() + wait
    while time.time() < deadline:
        if os.path.isdir(d) and len(os.listdir(d)) >= want:
            break
        time.sleep(0.05)
    if not os.path.isdir(d):
        return []
    out = []
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            out.append(f.read())
    return out


class Daemon:
    """One `mailsec serve --foreground` in directory top: its state in
    top/var, configuration top/mailsec.conf (config_text() of the
    subclass), log top/daemon.log (appended to by every start)."""

    name = "daemon"             # in failure messages
    maildir_domain = None       # maildir()'s default domain
    maildir_wait = 20.0         # and how long it waits

    def __init__(self, top, users=None, serve_args=()):
        self.dir = top
        self.state = os.path.join(top, "var")
        self.conf = os.path.join(top, "mailsec.conf")
        self.log_path = os.path.join(top, "daemon.log")
        self.users = users or {}
        self.serve_args = list(serve_args)
        self.proc = None
        self.log = None

    def config_text(self):
        raise NotImplementedError

    def addresses(self):
        """The (ip, port) listeners start() waits for."""
        raise NotImplementedError

    def write_config(self):
        with open(self.conf, "w") as f:
            f.write(self.config_text())

    def start(self, env=None):
        """Passwords for users, the configuration written and checked,
        the daemon started with env added to the environment; returns
        once it listens."""
        os.makedirs(self.state, exist_ok=True)
        for user, pw in self.users.items():
            self.cli("passwd", "--stdin", user, input=pw + "\n")
        self.write_config()
        r = run([BIN, "serve", "--config", self.conf, "--check-config"])
        check(r.returncode == 0, "%s --check-config: %s%s" % (
            self.name, r.stderr, r.stdout))
        e = dict(os.environ)
        e.update(env or {})
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen([BIN, "serve", "--config", self.conf,
                                      "--foreground"] + self.serve_args,
                                     stdout=self.log,
                                     stderr=subprocess.STDOUT, env=e)
        if not wait_listening(self.proc, self.addresses(),
                              time.time() + 30):
            raise Fail("%s %s:\n%s" % (
                self.name, "did not listen" if self.proc.poll() is None
                else "exited at start", self.read_log()))
        return self

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, check_clean=True):
        """SIGTERM; then (check_clean) exit status 0 and no sanitizer
        report nor dead worker in the log."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise Fail("%s did not stop on SIGTERM" % self.name)
        self.log.close()
        rc, self.proc = self.proc.returncode, None
        if not check_clean:
            return
        log = self.read_log()
        check_log_clean(log, "%s log" % self.name)
        check(rc == 0, "%s exit status %d:\n%s" % (self.name, rc, log))

    def kill(self):
        """SIGKILL if still running (after a failure)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def maildir(self, user, domain=None, want=1, wait=None):
        return read_maildir(self.state, user, domain or self.maildir_domain,
                            want, self.maildir_wait if wait is None
                            else wait)

    def cli(self, cmd, *args, ok=True, input=None):
        """`mailsec CMD --state-dir STATE ARGS...`; ok: exit status 0."""
        r = run([BIN, cmd, "--state-dir", self.state] + list(args),
                input=input)
        if ok:
            check(r.returncode == 0, "mailsec %s %s: exit %d\n%s%s" %
                  (cmd, " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def queue(self, *args):
        """The output of `mailsec queue ARGS...` (exit status 0)."""
        return self.cli("queue", *args).stdout

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Capture(socketserver.ThreadingTCPServer):
    """A minimal SMTP server (RFC 5321) on addr, serving from a thread of
    its own once start()ed. Every transaction is {"mail": line, "rcpt":
    [lines], "data": bytes (dots unstuffed)}: arrived lists those whose
    data came in whole, got those it said 250 to. While the event hold is
    set it does not answer the final dot: the transaction goes to held and
    the session ends, unanswered, once hold is cleared."""
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, addr):
        super().__init__(addr, CaptureHandler)
        self.lock = threading.Lock()
        self.arrived = []
        self.got = []
        self.held = []
        self.hold = threading.Event()

    def start(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def close(self):
        self.hold.clear()
        self.shutdown()
        self.server_close()


class CaptureHandler(socketserver.StreamRequestHandler):
    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        srv = self.server
        self.reply("220 capture.remote.test ESMTP")
        tx = None
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            cmd = line.rstrip(b"\r\n").decode("ascii", "replace")
            verb = cmd[:4].upper()
            if verb == "EHLO":
                self.reply("250-capture.remote.test\r\n250-PIPELINING\r\n"
                           "250-8BITMIME\r\n250-DSN\r\n250 SIZE 10485760")
            elif verb == "HELO":
                self.reply("250 capture.remote.test")
            elif verb == "MAIL":
                tx = {"mail": cmd, "rcpt": [], "data": b""}
                self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                tx["rcpt"].append(cmd)
                self.reply("250 2.1.5 Ok")
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = []
                while True:
                    ln = self.rfile.readline(1 << 20)
                    if not ln:
                        return
                    if ln == b".\r\n":
                        break
                    data.append(ln[1:] if ln.startswith(b".") else ln)
                tx["data"] = b"".join(data)
                with srv.lock:
                    srv.arrived.append(tx)
                    held = srv.hold.is_set()
                    if held:
                        srv.held.append(tx)
                if held:
                    while srv.hold.is_set():
                        time.sleep(0.05)
                    return          # the sender is dead: no reply
                with srv.lock:
                    srv.got.append(tx)
                tx = None
                self.reply("250 2.0.0 Ok: captured")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            elif verb in ("RSET", "NOOP"):
                tx = None if verb == "RSET" else tx
                self.reply("250 2.0.0 Ok")
            else:
                self.reply("502 5.5.2 not here")
