#!/usr/bin/python3
"""End-to-end tests of `mailsec serve` (docs/gateway.md).

usage: test_gateway.py --bin PATH/TO/mailsec CASE

Each case starts the daemon in the foreground on 127.0.0.1 with free
ports, a temporary state directory and DNS from tests/e2e/e2e.zone, talks
to it with swaks, smtplib or a raw socket, checks what it answers, what
lands in the Maildirs and the log, then stops it with SIGTERM and checks
that it exited cleanly (and, under ASan/UBSan, said nothing). Exit status
0 pass, 1 fail, 77 skipped (a tool is missing).
"""
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import e2e_lib as lib  # noqa: E402
from e2e_lib import Fail, SKIP, check, tls_ctx  # noqa: E402

ZONE = os.path.join(lib.HERE, "e2e.zone")


class Gateway(lib.Daemon):
    """One daemon on 127.0.0.1: MX, submission and submissions."""
    maildir_domain = "localhost"
    maildir_wait = 10.0

    def __init__(self, limits=None, policy=None, extra="", users=None,
                 greet_pause=0, throttle=5, local=""):
        super().__init__(tempfile.mkdtemp(prefix="mailsec-e2e-"), users,
                         ["--greet-pause", str(greet_pause)]
                         if greet_pause else [])
        self.mx, self.sub, self.subs = lib.free_ports(3)
        self.limits = {"message_size": "1m", "recipients": 5,
                       "timeout_command": "30s", "timeout_data": "30s",
                       "connections_per_ip": 50}
        self.limits.update(limits or {})
        self.policy = policy or {}
        self.extra = extra
        self.throttle = throttle
        self.local = local

    def addresses(self):
        return [("127.0.0.1", p) for p in (self.mx, self.sub, self.subs)]

    def config_text(self):
        lim = "".join("\t%s %s;\n" % kv for kv in self.limits.items())
        pol = "".join("\t%s %s;\n" % kv for kv in self.policy.items())
        return """
state_dir "%s";
workers 1;
log stderr;
log_level debug;
listen {
	mx { address [127.0.0.1]; port %d; }
	submission { address [127.0.0.1]; port %d; }
	submissions { address [127.0.0.1]; port %d; }
}
dns { zone "%s"; }
local { domains [localhost, example.net]; %s }
auth {
	throttle %d;
	user "alice" { send_as [alice@example.net]; }
}
policy {
	authserv_id mx.test;
%s}
limits {
%s}
# These cases keep mail for remote domains queued (remote.test does not
# resolve); remote delivery has its own tests (test_delivery.py).
delivery { enabled no; }
%s
""" % (self.state, self.mx, self.sub, self.subs, ZONE, self.local,
       self.throttle, pol, lim, self.extra)

    # -- helpers --------------------------------------------------------

    def smtp(self, port=None):
        return smtplib.SMTP("127.0.0.1", port or self.mx, timeout=20)

    def raw(self, port=None):
        s = socket.create_connection(("127.0.0.1", port or self.mx), 20)
        return RawClient(s)


class RawClient:
    """A byte-exact SMTP client for pipelining and smuggling tests."""

    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def reply(self, timeout=20):
        """One complete (possibly multi-line) reply: (code, text)."""
        self.s.settimeout(timeout)
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise Fail("connection closed; got %r" % lines)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode("latin-1"))
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), "\n".join(lines)

    def nothing_more(self, wait=0.5):
        """True when no further reply arrives within wait seconds."""
        if self.buf:
            return False
        self.s.settimeout(wait)
        try:
            data = self.s.recv(65536)
        except socket.timeout:
            return True
        self.buf += data
        return False

    def closed(self, wait=5):
        self.s.settimeout(wait)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (socket.timeout, ConnectionResetError):
            return False

    def close(self):
        self.s.close()


def message(frm, to, subject="test", body="Hello.\r\n", extra=""):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
            "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
            "Message-ID: <%s.%s@e2e.test>\r\n%s\r\n%s" %
            (frm, to, subject, time.time(), os.getpid(), extra, body))


def expect(code_text, code, what):
    check(code_text[0] == code, "%s: expected %d, got %r" %
          (what, code, code_text))


# -- cases ----------------------------------------------------------------

CASES = {}


def case(f):
    CASES[f.__name__.replace("case_", "")] = f
    return f


@case
def case_plain(gw):
    with gw.smtp() as s:
        code, _ = s.ehlo("client.e2e.test")
        check(code == 250, "EHLO")
        for ext in ("pipelining", "8bitmime", "smtputf8", "size",
                    "enhancedstatuscodes", "chunking", "dsn", "starttls"):
            check(s.has_extn(ext), "EHLO lacks " + ext)
        check(not s.has_extn("auth"), "MX offers AUTH")
        s.sendmail("someone@nowhere.test", ["postmaster@localhost"],
                   message("someone@nowhere.test", "postmaster@localhost"))
    got = gw.maildir("postmaster")
    check(len(got) == 1, "one message delivered, got %d" % len(got))
    check(b"Authentication-Results: mx.test;" in got[0],
          "no Authentication-Results")
    check(b"Received: from client.e2e.test" in got[0], "no Received")
    check(re.search(r"msg id=\w{16} .*result=queued reply=250",
                    gw.read_log()), "no log line:\n" + gw.read_log())


@case
def case_swaks(gw):
    if shutil.which("swaks") is None:
        return SKIP
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port",
                        str(gw.mx), "--from", "a@nowhere.test", "--to",
                        "user@localhost", "--pipeline", "-tls"],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "swaks failed:\n" + r.stdout + r.stderr)
    check("queued as" in r.stdout, "no 250 queued:\n" + r.stdout)
    got = gw.maildir("user")
    check(len(got) == 1, "swaks message not delivered")
    check(b"with ESMTPS" in got[0], "Received does not say ESMTPS")


@case
def case_maildir_bytes(gw):
    # Binary-safe content, long lines, dots at line starts, 8-bit bytes:
    # what is delivered is what was sent, after the prepended fields.
    body = (b"line one\r\n.leading dot\r\n..two dots\r\n" +
            bytes(range(0x20, 0x7f)) + b"\r\n" + b"x" * 990 + b"\r\n" +
            "caf\u00e9 \u00fcber\r\n".encode() + b"\r\n\r\nend\r\n")
    msg = (b"From: <a@nowhere.test>\r\nTo: <bytes@localhost>\r\n"
           b"Subject: bytes\r\nMessage-ID: <b1@e2e.test>\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body)
    with gw.smtp() as s:
        s.ehlo("client.e2e.test")
        s.sendmail("a@nowhere.test", ["bytes@localhost"], msg,
                   mail_options=["BODY=8BITMIME"])
    got = gw.maildir("bytes")
    check(len(got) == 1, "not delivered")
    check(got[0].endswith(msg), "delivered bytes differ from sent")
    prefix = got[0][:-len(msg)]
    # the prefix is only whole header fields we added
    fields = re.findall(rb"(?m)^([A-Za-z-]+):", prefix)
    check(set(fields) <= {b"Return-Path", b"Received",
                          b"Authentication-Results", b"Delivered-To"},
          "unexpected prepended fields %r" % fields)
    check(prefix.endswith(b"\r\n"), "prefix not whole lines")


@case
def case_starttls(gw):
    with gw.smtp() as s:
        s.ehlo("client.e2e.test")
        code, _ = s.starttls(context=tls_ctx())
        check(code == 220, "STARTTLS")
        check(s.sock.version() in ("TLSv1.2", "TLSv1.3"),
              "TLS version " + str(s.sock.version()))
        s.ehlo("client.e2e.test")
        check(not s.has_extn("starttls"), "STARTTLS offered under TLS")
        s.sendmail("a@nowhere.test", ["tls@localhost"],
                   message("a@nowhere.test", "tls@localhost"))
    got = gw.maildir("tls")
    check(len(got) == 1 and b"with ESMTPS" in got[0], "TLS delivery")
    # TLS 1.1 refused
    c = tls_ctx()
    try:
        c.minimum_version = ssl.TLSVersion.TLSv1
        c.maximum_version = ssl.TLSVersion.TLSv1_1
        with gw.smtp() as s:
            s.ehlo("x.test")
            try:
                s.starttls(context=c)
                raise Fail("TLS 1.1 accepted")
            except (ssl.SSLError, smtplib.SMTPServerDisconnected,
                    ConnectionResetError):
                pass
    except ValueError:
        pass


@case
def case_starttls_injection(gw):
    # CVE-2011-0411: commands pipelined after STARTTLS in clear text must
    # not be executed inside the TLS session.
    r = gw.raw()
    expect(r.reply(), 220, "greeting")
    r.send(b"EHLO x.test\r\n")
    expect(r.reply(), 250, "EHLO")
    r.send(b"STARTTLS\r\nMAIL FROM:<evil@nowhere.test>\r\n")
    expect(r.reply(), 220, "STARTTLS")
    check(not r.buf, "extra reply before TLS")
    ts = tls_ctx().wrap_socket(r.s, server_hostname="localhost")
    t = RawClient(ts)
    t.send(b"RCPT TO:<postmaster@localhost>\r\n")
    code, text = t.reply()
    check(code == 503, "injected MAIL was executed: %d %s" % (code, text))
    t.send(b"QUIT\r\n")
    expect(t.reply(), 221, "QUIT")
    check("discarded" in gw.read_log(), "discard not logged")


@case
def case_implicit_tls(gw):
    s = smtplib.SMTP_SSL("127.0.0.1", gw.subs, context=tls_ctx(),
                         timeout=20)
    s.ehlo("client.e2e.test")
    check(s.has_extn("auth"), "no AUTH on submissions")
    check(not s.has_extn("starttls"), "STARTTLS on implicit TLS")
    check("PLAIN" in s.esmtp_features.get("auth", ""), "no PLAIN")
    code, _ = s.mail("alice@example.net")
    check(code == 530, "MAIL before AUTH: %d" % code)
    s.quit()


@case
def case_auth(gw):
    s = smtplib.SMTP_SSL("127.0.0.1", gw.subs, context=tls_ctx(),
                         timeout=20)
    s.ehlo("client.e2e.test")
    try:
        s.login("alice", "wrong password")
        raise Fail("bad password accepted")
    except smtplib.SMTPAuthenticationError as e:
        check(e.smtp_code == 535, "bad password: %r" % (e.args,))
    s.quit()
    for mech in ("PLAIN", "LOGIN"):
        s = smtplib.SMTP("127.0.0.1", gw.sub, timeout=20)
        s.ehlo("client.e2e.test")
        s.starttls(context=tls_ctx())
        s.ehlo("client.e2e.test")
        s.user, s.password = "alice", "secret pw"
        code, _ = s.auth(mech, getattr(s, "auth_" + mech.lower()))
        check(code == 235, "AUTH %s: %d" % (mech, code))
        s.sendmail("alice@example.net", ["bob@localhost"],
                   message("alice@example.net", "bob@localhost"))
        s.quit()
    got = gw.maildir("bob")
    check(len(got) >= 1 and b"ESMTPSA" in got[0], "authenticated mail")
    check(re.search(r"auth=alice", gw.read_log()), "log lacks auth=")


@case
def case_auth_before_tls(gw):
    r = gw.raw(gw.sub)
    expect(r.reply(), 220, "greeting")
    r.send(b"EHLO x.test\r\n")
    code, text = r.reply()
    check(code == 250 and "AUTH" not in text, "AUTH offered before TLS")
    r.send(b"AUTH PLAIN AGFsaWNlAHNlY3JldCBwdw==\r\n")
    code, text = r.reply()
    check(code == 538 and "5.7.11" in text, "AUTH before TLS: " + text)
    r.send(b"MAIL FROM:<alice@example.net>\r\n")
    code, text = r.reply()
    check(code == 530 and "5.7.0" in text, "MAIL before TLS: " + text)
    r.close()
    # the MX port does not offer AUTH at all
    r = gw.raw(gw.mx)
    r.reply()
    r.send(b"EHLO x.test\r\nAUTH PLAIN AGFsaWNlAHNlY3JldCBwdw==\r\n")
    r.reply()
    code, _ = r.reply()
    check(code == 502, "AUTH on MX: %d" % code)


@case
def case_auth_throttle(gw):
    # auth.throttle 2: the third attempt within the minute is refused
    # without a password check, also from a new connection.
    for i in range(2):
        s = smtplib.SMTP_SSL("127.0.0.1", gw.subs, context=tls_ctx(),
                             timeout=20)
        s.ehlo("x.test")
        s.user, s.password = "alice", "nope%d" % i
        try:
            s.auth("PLAIN", s.auth_plain)
            raise Fail("bad password accepted")
        except smtplib.SMTPAuthenticationError as e:
            check(e.smtp_code == 535, "failure %d: %r" % (i, e.args))
        s.close()
    s = smtplib.SMTP_SSL("127.0.0.1", gw.subs, context=tls_ctx(),
                         timeout=20)
    s.ehlo("x.test")
    s.user, s.password = "alice", "secret pw"
    try:
        s.auth("PLAIN", s.auth_plain)
        raise Fail("throttled login accepted")
    except smtplib.SMTPAuthenticationError as e:
        check(e.smtp_code == 454 and b"4.7.0" in e.smtp_error,
              "throttle: %r" % (e.args,))


@case
def case_sender_not_allowed(gw):
    s = smtplib.SMTP_SSL("127.0.0.1", gw.subs, context=tls_ctx(),
                         timeout=20)
    s.ehlo("x.test")
    s.login("alice", "secret pw")
    code, text = s.mail("ceo@example.net")
    check(code == 553 and b"5.7.1" in text, "foreign sender: %d" % code)
    code, _ = s.mail("alice@example.net")
    check(code == 250, "own address refused")
    # authenticated users may relay: remote mail waits in the queue
    code, _ = s.rcpt("someone@remote.test")
    check(code == 250, "relay for authenticated user: %d" % code)
    # the author must be allowed too, not only the envelope sender
    code, text = s.data(message("ceo@example.net", "someone@remote.test"))
    check(code == 550 and b"5.7.1" in text, "foreign From: %d %r" %
          (code, text))
    code, _ = s.mail("alice@example.net")
    check(code == 250, "second transaction")
    s.rcpt("someone@remote.test")
    code, text = s.data(message("alice@example.net",
                                "someone@remote.test"))
    check(code == 250, "own From: %d %r" % (code, text))
    s.quit()


@case
def case_pipelining(gw):
    r = gw.raw()
    expect(r.reply(), 220, "greeting")
    r.send(b"EHLO x.test\r\n")
    expect(r.reply(), 250, "EHLO")
    msg = message("a@nowhere.test", "p1@localhost").encode()
    # one write: MAIL, three RCPTs (one refused), DATA
    r.send(b"MAIL FROM:<a@nowhere.test>\r\n"
           b"RCPT TO:<p1@localhost>\r\n"
           b"RCPT TO:<x@remote.test>\r\n"
           b"RCPT TO:<p2@localhost>\r\n"
           b"DATA\r\n")
    codes = [r.reply()[0] for _ in range(5)]
    check(codes == [250, 250, 554, 250, 354], "replies %r" % codes)
    # the message and the next transaction in one write
    r.send(msg + b".\r\nMAIL FROM:<b@nowhere.test>\r\n"
           b"RCPT TO:<p3@localhost>\r\nDATA\r\n")
    codes = [r.reply()[0] for _ in range(4)]
    check(codes == [250, 250, 250, 354], "replies %r" % codes)
    r.send(message("b@nowhere.test", "p3@localhost").encode() +
           b".\r\nQUIT\r\n")
    expect(r.reply(), 250, "second message")
    expect(r.reply(), 221, "QUIT")
    for u in ("p1", "p2", "p3"):
        check(len(gw.maildir(u)) == 1, "not delivered to " + u)


@case
def case_bdat(gw):
    r = gw.raw()
    r.reply()
    r.send(b"EHLO x.test\r\n")
    r.reply()
    msg = message("a@nowhere.test", "chunk@localhost",
                  body="first\r\nsecond\r\n.dot stays\r\n").encode()
    a, b = msg[:50], msg[50:]
    r.send(b"MAIL FROM:<a@nowhere.test>\r\nRCPT TO:<chunk@localhost>\r\n"
           b"BDAT %d\r\n" % len(a) + a + b"BDAT %d LAST\r\n" % len(b) + b)
    codes = [r.reply()[0] for _ in range(4)]
    check(codes == [250, 250, 250, 250], "BDAT replies %r" % codes)
    # BDAT 0 LAST ends a message too
    m2 = message("a@nowhere.test", "chunk@localhost").encode()
    r.send(b"MAIL FROM:<a@nowhere.test>\r\nRCPT TO:<chunk@localhost>\r\n"
           b"BDAT %d\r\n" % len(m2) + m2 + b"BDAT 0 LAST\r\n")
    codes = [r.reply()[0] for _ in range(4)]
    check(codes == [250, 250, 250, 250], "BDAT 0 LAST %r" % codes)
    got = gw.maildir("chunk")
    deadline = time.time() + 10
    while len(got) < 2 and time.time() < deadline:
        time.sleep(0.1)
        got = gw.maildir("chunk")
    check(len(got) == 2, "BDAT messages delivered: %d" % len(got))
    check(any(x.endswith(msg) for x in got), "BDAT bytes differ")


@case
def case_bdat_bad(gw):
    r = gw.raw()
    r.reply()
    r.send(b"EHLO x.test\r\n")
    r.reply()
    # BDAT without a transaction: refused, its bytes drained (they look
    # like commands and must not run)
    junk = b"MAIL FROM:<evil@nowhere.test>\r\n"
    r.send(b"BDAT %d\r\n" % len(junk) + junk + b"NOOP\r\n")
    check(r.reply()[0] == 503, "BDAT outside a transaction")
    check(r.reply()[0] == 250, "NOOP after the drained chunk")
    # a bare LF inside a text BDAT chunk: refused, then RSET needed
    bad = b"Subject: x\r\n\r\nbare\nLF\r\n"
    r.send(b"MAIL FROM:<a@nowhere.test>\r\nRCPT TO:<bad@localhost>\r\n"
           b"BDAT %d\r\n" % len(bad) + bad +
           b"BDAT 3 LAST\r\nx\r\nRSET\r\n")
    codes = [r.reply()[0] for _ in range(5)]
    check(codes == [250, 250, 554, 554, 250], "replies %r" % codes)
    time.sleep(0.5)
    check(gw.maildir("bad", wait=0.5) == [], "refused BDAT delivered")


@case
def case_8bitmime_smtputf8(gw):
    with gw.smtp() as s:
        s.ehlo("x.test")
        msg = ("From: <j\u00f6rg@nowhere.test>\r\nTo: <\u00fcser@localhost>"
               "\r\nSubject: gr\u00fc\u00dfe\r\n\r\nUmlaute: \u00e4\u00f6"
               "\u00fc\r\n").encode()
        s.sendmail("j\u00f6rg@nowhere.test", ["\u00fcser@localhost"], msg,
                   mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        code, text = s.mail("j\u00f6rg@nowhere.test")
        check(code in (550, 553, 501), "UTF-8 sender without SMTPUTF8")
        s.rset()
    got = gw.maildir("\u00fcser")
    check(len(got) == 1 and got[0].endswith(msg), "UTF-8 delivery")
    check(b"with UTF8SMTP" in got[0], "Received lacks UTF8SMTP")


@case
def case_size_limit(gw):
    with gw.smtp() as s:
        s.ehlo("x.test")
        check(s.esmtp_features.get("size") == str(64 * 1024),
              "SIZE %r" % s.esmtp_features.get("size"))
        code, text = s.mail("a@nowhere.test", ["SIZE=100000"])
        check(code == 552 and b"5.3.4" in text, "SIZE= over: %d" % code)
        s.rset()
        big = message("a@nowhere.test", "big@localhost",
                      body=("y" * 900 + "\r\n") * 100)
        # no SIZE= announced: the limit holds while the data streams
        check(s.mail("a@nowhere.test")[0] == 250, "MAIL")
        check(s.rcpt("big@localhost")[0] == 250, "RCPT")
        code, text = s.data(big.encode())
        check(code == 552 and b"5.3.4" in text, "size: %d %s" %
              (code, text))
        # the session is still in step
        code, _ = s.noop()
        check(code == 250, "NOOP after 552")
    check(gw.maildir("big", wait=0.5) == [], "big message delivered")


@case
def case_too_many_rcpts(gw):
    with gw.smtp() as s:
        s.ehlo("x.test")
        s.mail("a@nowhere.test")
        for i in range(3):
            check(s.rcpt("r%d@localhost" % i)[0] == 250, "rcpt %d" % i)
        code, text = s.rcpt("r3@localhost")
        check(code == 452 and b"4.5.3" in text, "4th rcpt: %d" % code)


@case
def case_relay(gw):
    with gw.smtp() as s:
        s.ehlo("x.test")
        s.mail("a@nowhere.test")
        code, text = s.rcpt("victim@elsewhere.test")
        check(code == 554 and b"5.7.1" in text, "relay: %d %s" %
              (code, text))
        code, text = s.rcpt("x@[192.0.2.1]")
        check(code == 554, "relay to a literal: %d" % code)
        check(s.rcpt("ok@example.net")[0] == 250, "second local domain")
    with smtplib.SMTP("127.0.0.1", gw.sub, timeout=20) as s:
        s.ehlo("x.test")
        code, _ = s.mail("a@nowhere.test")
        check(code == 530, "submission without TLS/AUTH: %d" % code)


@case
def case_rcpt_listed(gw):
    # local.recipients listed: users, logins and postmaster only
    with gw.smtp() as s:
        s.ehlo("x.test")
        s.mail("a@nowhere.test")
        check(s.rcpt("known@localhost")[0] == 250, "listed user")
        check(s.rcpt("alice@localhost")[0] == 250, "login")
        check(s.rcpt("Postmaster")[0] == 250, "<Postmaster>")
        code, text = s.rcpt("stranger@localhost")
        check(code == 550 and b"5.1.1" in text, "unknown user: %d" % code)
        code, text = s.rcpt('"a b"@localhost')
        check(code == 550, "unfileable mailbox: %d" % code)


SMUGGLING = [
    b"\n.\n", b"\r.\r", b"\r\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r",
    b"\r\n\x00.\r\n", b"\n.\r", b"\r\n.\r\r\n", b"\r\n.\n\r\n",
    b"\n\n.\n\n", b"\r\r.\r\r",
]


@case
def case_smuggling(gw):
    for i, variant in enumerate(SMUGGLING):
        r = gw.raw()
        r.reply()
        r.send(b"EHLO x.test\r\n")
        r.reply()
        r.send(b"MAIL FROM:<a@nowhere.test>\r\nRCPT TO:<s%d@localhost>\r\n"
               b"DATA\r\n" % i)
        codes = [r.reply()[0] for _ in range(3)]
        check(codes == [250, 250, 354], "variant %d setup %r" % (i, codes))
        # what a receiver that took the variant as the end would run:
        # a second transaction, ended by the real CRLF.CRLF below
        smuggled = (b"MAIL FROM:<admin@nowhere.test>\r\n"
                    b"RCPT TO:<smuggled%d@localhost>\r\nDATA\r\n"
                    b"Subject: smuggled\r\n\r\nsmuggled" % i)
        r.send(b"From: <a@nowhere.test>\r\nSubject: real\r\n\r\nreal" +
               variant + smuggled + b"\r\n.\r\n")
        code, text = r.reply()
        if b"\r" in variant.replace(b"\r\n", b"") or \
                b"\n" in variant.replace(b"\r\n", b""):
            check(code == 554 and "5.6.0" in text,
                  "variant %d %r: %d %s" % (i, variant, code, text))
        else:
            # no bare CR or LF (a NUL): one ordinary message
            check(code == 250, "variant %d %r: %d %s" %
                  (i, variant, code, text))
            got = gw.maildir("s%d" % i)
            check(len(got) == 1 and b"MAIL FROM:<admin" in got[0],
                  "variant %d: not one message" % i)
        check(r.nothing_more(), "variant %d: extra replies: smuggled "
              "commands ran" % i)
        r.send(b"NOOP\r\n")
        check(r.reply()[0] == 250, "variant %d: out of step" % i)
        r.send(b"QUIT\r\n")
        r.reply()
        r.close()
    time.sleep(1)
    mail = os.path.join(gw.state, "mail", "localhost")
    delivered = os.listdir(mail) if os.path.isdir(mail) else []
    check(not [d for d in delivered if d.startswith("smuggled")],
          "smuggled mail delivered: %r" % delivered)


@case
def case_bare_lf_command(gw):
    r = gw.raw()
    r.reply()
    r.send(b"EHLO x.test\r\n")
    r.reply()
    # a bare LF ends a refused line (RFC 5321 2.3.8): the MAIL never
    # runs, so the RCPT after it is out of sequence
    r.send(b"MAIL FROM:<a@nowhere.test>\nRCPT TO:<x@localhost>\r\n")
    code, text = r.reply()
    check(code == 500 and "5.5.2" in text, "bare LF: %d %s" % (code, text))
    code, text = r.reply()
    check(code == 503, "MAIL before a bare LF ran: %d %s" % (code, text))
    r.send(b"NOOP\rRSET\r\n")
    check(r.reply()[0] == 500, "bare CR")
    check(r.nothing_more(), "a bare CR split the line")
    r.send(b"NOOP\r\n")
    check(r.reply()[0] == 250, "out of step")


@case
def case_timeout(gw):
    r = gw.raw()
    expect(r.reply(), 220, "greeting")
    r.send(b"EHLO x.test\r\n")
    r.reply()
    t0 = time.time()
    code, text = r.reply(timeout=15)
    check(code == 421 and "4.4.2" in text, "timeout reply %d" % code)
    check(1.5 <= time.time() - t0 < 10, "timeout after %.1fs" %
          (time.time() - t0))
    check(r.closed(), "not closed after timeout")


@case
def case_early_talker(gw):
    r = gw.raw()
    r.send(b"EHLO early.test\r\n")
    code, text = r.reply()
    check(code == 554, "early talker: %d %s" % (code, text))
    check(r.closed(), "early talker not disconnected")
    r = gw.raw()
    code, _ = r.reply()
    check(code == 220, "patient client")


@case
def case_conn_limit(gw):
    held = []
    for _ in range(3):
        r = gw.raw()
        expect(r.reply(), 220, "greeting")
        held.append(r)
    r = gw.raw()
    code, text = r.reply()
    check(code == 421, "4th connection from one address: %d" % code)
    held[0].send(b"QUIT\r\n")
    held[0].reply()
    held[0].closed()
    time.sleep(0.3)
    r = gw.raw()
    check(r.reply()[0] == 220, "connection after one closed")


@case
def case_dmarc_reject(gw):
    with gw.smtp() as s:
        s.ehlo("x.test")
        try:
            s.sendmail("boss@reject.test", ["victim@localhost"],
                       message("boss@reject.test", "victim@localhost"))
            raise Fail("p=reject sender accepted")
        except smtplib.SMTPDataError as e:
            check(e.smtp_code == 550 and b"5.7.1" in e.smtp_error,
                  "reject: %r" % (e.args,))
        # an aligned SPF pass from the same kind of domain is accepted
        s.sendmail("ok@pass.test", ["victim@localhost"],
                   message("ok@pass.test", "victim@localhost"))
    got = gw.maildir("victim")
    check(len(got) == 1 and b"dmarc=pass" in got[0], "pass.test mail")
    check(re.search(r"dmarc=fail.*result=rejected reply=550",
                    gw.read_log()), "log of the reject")


@case
def case_dmarc_quarantine(gw):
    with gw.smtp() as s:
        s.ehlo("x.test")
        s.sendmail("news@quar.test", ["q@localhost"],
                   message("news@quar.test", "q@localhost"))
    got = gw.maildir("q")
    check(len(got) == 1, "quarantined message not delivered")
    check(b"X-Mailsec-Quarantine:" in got[0], "no quarantine header")
    check(b"dmarc=fail" in got[0], "no dmarc=fail")
    check("action=quarantine" in gw.read_log(), "log: action")


@case
def case_quarantine_maildir(gw):
    # policy.quarantine maildir (the default): the message is queued
    # with the envelope's quarantine key and lands in quarantine_dir,
    # never in the recipient's inbox.
    with gw.smtp() as s:
        s.ehlo("x.test")
        s.sendmail("news@quar.test", ["q@localhost"],
                   message("news@quar.test", "q@localhost"))
    qdir = os.path.join(gw.state, "quarantine", "localhost", "q", "new")
    deadline = time.time() + 10
    while time.time() < deadline and not (os.path.isdir(qdir) and
                                          os.listdir(qdir)):
        time.sleep(0.05)
    got = []
    for name in sorted(os.listdir(qdir)) if os.path.isdir(qdir) else []:
        with open(os.path.join(qdir, name), "rb") as f:
            got.append(f.read())
    check(len(got) == 1, "not in the quarantine Maildir: %d" % len(got))
    check(b"dmarc=fail" in got[0], "no dmarc=fail")
    check(b"X-Mailsec-Quarantine:" not in got[0],
          "stop-gap header in maildir mode")
    check(gw.maildir("q", wait=0.5) == [], "quarantined mail in the inbox")
    check(re.search(r"action=quarantine quarantine=maildir.*"
                    r"result=queued reply=250", gw.read_log()),
          "log: action")


@case
def case_dkim_signed(gw):
    try:
        import dkim
    except ImportError:
        return SKIP
    s = smtplib.SMTP("127.0.0.1", gw.sub, timeout=20)
    s.ehlo("x.test")
    s.starttls(context=tls_ctx())
    s.ehlo("x.test")
    s.login("alice", "secret pw")
    s.sendmail("alice@example.net", ["signed@localhost"],
               message("alice@example.net", "signed@localhost",
                       body="Signed body.\r\n"))
    s.quit()
    got = gw.maildir("signed")
    check(len(got) == 1, "not delivered")
    check(b"DKIM-Signature:" in got[0], "not signed")
    key = os.path.join(gw.state, "dkim", "mailsec.example.net.private")
    pub = subprocess.run(["openssl", "pkey", "-in", key, "-pubout"],
                         capture_output=True, text=True, check=True).stdout
    p = "".join(l for l in pub.splitlines() if "-----" not in l)
    rec = ("v=DKIM1; k=rsa; p=%s" % p).encode()

    def dnsfunc(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        return rec if n.rstrip(".") == "mailsec._domainkey.example.net" \
            else None
    check(dkim.verify(got[0], dnsfunc=dnsfunc), "dkimpy does not verify")


@case
def case_queue_control(gw):
    s = smtplib.SMTP_SSL("127.0.0.1", gw.subs, context=tls_ctx(),
                         timeout=20)
    s.ehlo("x.test")
    s.login("alice", "secret pw")
    s.sendmail("alice@example.net", ["far@remote.test"],
               message("alice@example.net", "far@remote.test"))
    s.quit()
    deadline = time.time() + 10
    while True:
        r = gw.cli("queue", "list", ok=False)
        if "far@remote.test" in r.stdout or time.time() > deadline:
            break
        time.sleep(0.2)
    check(r.returncode == 0 and "far@remote.test" in r.stdout,
          "queue list:\n" + r.stdout + r.stderr)


@case
def case_reload(gw):
    held = gw.raw()
    expect(held.reply(), 220, "greeting")
    held.send(b"EHLO x.test\r\n")
    held.reply()
    gw.limits["recipients"] = 1
    gw.write_config()
    gw.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "configuration reloaded" not in gw.read_log():
        check(time.time() < deadline, "no reload:\n" + gw.read_log())
        time.sleep(0.1)
    # the open session survived and still works
    held.send(b"NOOP\r\n")
    check(held.reply()[0] == 250, "session lost on reload")
    with gw.smtp() as s:
        s.ehlo("x.test")
        s.mail("a@nowhere.test")
        check(s.rcpt("a@localhost")[0] == 250, "first rcpt")
        check(s.rcpt("b@localhost")[0] == 452, "new limit not applied")
    # a broken file keeps the old configuration
    with open(gw.conf, "a") as f:
        f.write("limits { recipients nonsense; }\n")
    gw.proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    check("running configuration stays" in gw.read_log(),
          "broken config not reported")
    r = gw.raw()
    check(r.reply()[0] == 220, "daemon gone after a bad reload")


@case
def case_reload_domains(gw):
    # Mail queued for a domain that is not local waits ("no relay
    # yet"); SIGHUP makes the domain local: sessions accept it and the
    # delivery runner delivers the waiting message at once.
    s = smtplib.SMTP_SSL("127.0.0.1", gw.subs, context=tls_ctx(),
                         timeout=20)
    s.ehlo("x.test")
    s.login("alice", "secret pw")
    s.sendmail("alice@example.net", ["far@later.test"],
               message("alice@example.net", "far@later.test"))
    s.quit()
    with gw.smtp() as c:
        c.ehlo("x.test")
        c.mail("a@nowhere.test")
        check(c.rcpt("x@later.test")[0] == 554, "relay before reload")
    time.sleep(0.5)
    check(gw.maildir("far", domain="later.test", wait=0.1) == [],
          "delivered before the domain was local")
    gw.write_config()
    with open(gw.conf) as f:
        text = f.read()
    with open(gw.conf, "w") as f:
        f.write(text.replace("domains [localhost, example.net];",
                             "domains [localhost, example.net, later.test];"))
    gw.proc.send_signal(signal.SIGHUP)
    got = gw.maildir("far", domain="later.test")
    check(len(got) == 1, "queued message not delivered after reload")
    with gw.smtp() as c:
        c.ehlo("x.test")
        c.sendmail("a@nowhere.test", ["x@later.test"],
                   message("a@nowhere.test", "x@later.test"))
    check(len(gw.maildir("x", domain="later.test")) == 1,
          "new local domain not delivered")


@case
def case_drain(gw):
    r = gw.raw()
    r.reply()
    r.send(b"EHLO x.test\r\nMAIL FROM:<a@nowhere.test>\r\n"
           b"RCPT TO:<late@localhost>\r\nDATA\r\n")
    codes = [r.reply()[0] for _ in range(4)]
    check(codes == [250, 250, 250, 354], "setup %r" % codes)
    idle = gw.raw()
    idle.reply()
    gw.proc.send_signal(signal.SIGTERM)
    code, _ = idle.reply()
    check(code == 421, "idle session on SIGTERM: %d" % code)
    # the transaction in flight finishes
    r.send(message("a@nowhere.test", "late@localhost").encode() +
           b".\r\n")
    code, text = r.reply()
    check(code == 250, "message during drain: %d %s" % (code, text))
    r.send(b"QUIT\r\n")
    r.reply()
    gw.proc.wait(30)
    check(len(gw.maildir("late", wait=0.1)) == 1 or
          os.listdir(os.path.join(gw.state, "queue", "incoming")),
          "drained message lost")


# per-case daemon settings
SETUP = {
    "timeout": dict(limits={"timeout_command": "2s"}),
    "size_limit": dict(limits={"message_size": "64k"}),
    "too_many_rcpts": dict(limits={"recipients": 3}),
    "early_talker": dict(greet_pause=700),
    "conn_limit": dict(limits={"connections_per_ip": 3}),
    "dmarc_quarantine": dict(policy={"quarantine": "header"}),
    "auth_throttle": dict(throttle=2),
    "rcpt_listed": dict(local="recipients listed; users [known];",
                        users={"alice": "secret pw"}),
}
AUTH_CASES = ("auth", "auth_throttle", "sender_not_allowed", "dkim_signed",
              "queue_control", "auth_before_tls", "implicit_tls",
              "reload_domains")


def main():
    a = lib.parse_args(CASES)
    kw = dict(SETUP.get(a.case, {}))
    if a.case in AUTH_CASES:
        kw["users"] = {"alice": "secret pw"}
    gw = Gateway(**kw)
    rc = 0
    try:
        gw.start()
        rc = CASES[a.case](gw) or 0
        gw.stop()
    except Fail as e:
        print("FAIL %s: %s" % (a.case, e))
        print("---- daemon log ----")
        print(gw.read_log()[-6000:] if os.path.exists(gw.log_path) else "")
        rc = 1
    finally:
        gw.kill()
        gw.cleanup()
    if rc == 0:
        print("PASS %s" % a.case)
    elif rc == SKIP:
        print("SKIP %s" % a.case)
    return rc


if __name__ == "__main__":
    sys.exit(main())
