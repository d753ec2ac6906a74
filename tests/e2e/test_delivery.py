#!/usr/bin/python3
"""End-to-end tests of remote delivery (docs/queue.md, "Remote delivery").

usage: test_delivery.py --bin PATH/TO/mailsec CASE

Two `mailsec serve` instances on loopback aliases deliver to each other:
A is mx.a.test on 127.0.0.2, B is mx.b.test on 127.0.0.3, both with the
same MX port (each one's delivery.port is the other's MX port), each with
its own state directory, DNS from tests/e2e/delivery.zone (plus DANE TLSA
records made from B's certificate, in a $SECURE part the test appends).
A client submits to A (implicit TLS, AUTH) for users at B's domains.
Cases:
  starttls      delivered to B's Maildir over STARTTLS (B's Received says
                ESMTPS); `mailsec queue` of A is empty again
  deferred      B down: deferred in A's queue with the connection error
                (`mailsec queue --json`); B back, `mailsec queue flush`:
                delivered
  bounce        B answers 550 for an unknown user: A's sender gets a DSN
                that Python's email package reads as multipart/report with
                message/delivery-status, Action: failed, Status: 5.x.x
  null_mx       a null MX domain (RFC 7505): bounced at once, 5.1.10
  mta_sts       MTA-STS enforce, B's certificate not trusted: deferred,
                and B saw no transaction (nothing sent in clear)
  dane          DANE: a matching TLSA -> delivered; a mismatching TLSA ->
                deferred, nothing sent to B
  tlsrpt        TLS-RPT (RFC 8460): the MTA-STS failure of the mta_sts case,
                sts.test's rua being mailto:tls@a.test; A restarted a day
                later (MAILSEC_TEST_NOW): the report mail arrives in A's
                Maildir, multipart/report; report-type="tlsrpt" whose JSON
                counts the failed session (certificate-not-trusted)
Exit status 0 pass, 1 fail, 77 skipped (a tool or alias is missing).
"""
import email
import email.policy
import gzip
import hashlib
import http.server
import json
import os
import re
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import e2e_lib as lib  # noqa: E402
from e2e_lib import Fail, Skip, check, run  # noqa: E402

ZONE = os.path.join(lib.HERE, "delivery.zone")
IP_A, IP_B, IP_STS = "127.0.0.2", "127.0.0.3", "127.0.0.4"
PASSWORD = "secret pw"


def openssl(*args):
    r = run(["openssl"] + list(args))
    check(r.returncode == 0, "openssl %s: %s" % (" ".join(args), r.stderr))
    return r.stdout


class Pki:
    """A test CA, the MTA-STS policy host's certificate (CA-signed) and
    B's certificate (self-signed: no CA vouches for it)."""

    def __init__(self, d):
        self.d = d
        p = lambda n: os.path.join(d, n)
        self.ca_key, self.ca = p("ca.key"), p("ca.pem")
        self.sts_key, self.sts = p("sts.key"), p("sts.pem")
        self.b_key, self.b = p("b.key"), p("b.pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.ca_key,
                "-out", self.ca, "-days", "2", "-subj", "/CN=mailsec e2e CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.sts_key,
                "-out", p("sts.csr"), "-subj", "/CN=mta-sts.sts.test")
        with open(p("sts.ext"), "w") as f:
            f.write("subjectAltName=DNS:mta-sts.sts.test\n"
                    "extendedKeyUsage=serverAuth\n")
        openssl("x509", "-req", "-in", p("sts.csr"), "-CA", self.ca,
                "-CAkey", self.ca_key, "-CAcreateserial", "-out", self.sts,
                "-days", "2", "-extfile", p("sts.ext"))
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.b_key,
                "-out", self.b, "-days", "2", "-subj", "/CN=mx.b.test",
                "-addext", "subjectAltName=DNS:mx.b.test,DNS:mx.sts.test")

    def b_spki_sha256(self):
        """TLSA 3 1 1 data of B's certificate (RFC 6698 2.1)."""
        pub = subprocess.run(["openssl", "x509", "-in", self.b, "-pubkey",
                              "-noout"], capture_output=True, check=True)
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform",
                              "DER"], input=pub.stdout, capture_output=True,
                             check=True)
        return hashlib.sha256(der.stdout).hexdigest()


def zone_text(pki, port):
    """delivery.zone plus the DNSSEC-secure DANE part for port."""
    with open(ZONE) as f:
        text = f.read()
    good = pki.b_spki_sha256()
    bad = "00" * 32
    return text + """
; DANE (RFC 7672): answers below are DNSSEC-secure. mx.dane-ok.test has a
; TLSA record matching B's key, mx.dane-bad.test one that matches nothing.
$SECURE on
dane-ok.test.		IN	MX	10 mx.dane-ok.test.
mx.dane-ok.test.	IN	A	127.0.0.3
_%(port)s._tcp.mx.dane-ok.test.	IN	TLSA	3 1 1 %(good)s
dane-bad.test.		IN	MX	10 mx.dane-bad.test.
mx.dane-bad.test.	IN	A	127.0.0.3
_%(port)s._tcp.mx.dane-bad.test.	IN	TLSA	3 1 1 %(bad)s
$SECURE off
; TLS-RPT (RFC 8460): reports about sts.test go to a local user of A.
_smtp._tls.sts.test.	IN	TXT	"v=TLSRPTv1; rua=mailto:tls@a.test"
""" % {"port": port, "good": good, "bad": bad}


class Instance(lib.Daemon):
    """One daemon: A or B."""

    def __init__(self, top, name, ip, domains, mx_port, zone, pki,
                 local="", delivery=""):
        super().__init__(os.path.join(top, name), {"alice": PASSWORD})
        os.makedirs(self.dir)
        self.name, self.ip = name, ip
        self.mx = mx_port
        self.subs = lib.free_port([ip])
        self.domains = domains
        self.zone = zone
        self.pki = pki
        self.local = local
        self.delivery = delivery

    def addresses(self):
        return [(self.ip, self.mx), (self.ip, self.subs)]

    def config_text(self):
        tls = ""
        if self.name == "b":
            tls = 'tls { cert "%s"; key "%s"; }' % (self.pki.b,
                                                   self.pki.b_key)
        return """
state_dir "%(state)s";
workers 1;
log stderr;
log_level debug;
listen {
	mx { address [%(ip)s]; port %(mx)d; }
	submission { enabled no; }
	submissions { address [%(ip)s]; port %(subs)d; }
}
%(tls)s
dns { zone "%(zone)s"; }
local { domains [%(domains)s]; %(local)s }
auth { user "alice" { send_as [alice@a.test]; } }
policy { authserv_id mx.%(name)s.test; }
limits { timeout_command 30s; timeout_data 30s; }
delivery {
	helo mx.%(name)s.test;
	port %(mx)d;
	threads 2;
	connect_timeout 5s;
	command_timeout 30s;
	data_timeout 30s;
	%(delivery)s
}
""" % {"state": self.state, "ip": self.ip, "mx": self.mx,
       "subs": self.subs, "tls": tls, "zone": self.zone,
       "domains": ", ".join(self.domains), "local": self.local,
       "name": self.name, "delivery": self.delivery}

    def queue_json(self):
        return json.loads(self.queue("list", "--json"))["messages"]

    def submit(self, rcpts, subject="delivery test", body="Hello.\r\n"):
        msg = ("From: Alice <alice@a.test>\r\nTo: %s\r\n"
               "Subject: %s\r\nMessage-ID: <%s@a.test>\r\n\r\n%s" %
               (", ".join(rcpts), subject, hashlib.sha1(
                   (subject + str(time.time())).encode()).hexdigest(),
                body))
        s = smtplib.SMTP_SSL(self.ip, self.subs, context=lib.tls_ctx(),
                             timeout=30)
        s.ehlo("client.a.test")
        s.login("alice", PASSWORD)
        refused = s.sendmail("alice@a.test", rcpts, msg.encode())
        s.quit()
        check(not refused, "refused: %r" % refused)
        return msg


def wait_queue(inst, pred, what, wait=30.0):
    """Polls A's `mailsec queue list --json` until pred(messages)."""
    deadline = time.time() + wait
    msgs = []
    while time.time() < deadline:
        msgs = inst.queue_json()
        if pred(msgs):
            return msgs
        time.sleep(0.2)
    raise Fail("%s; queue:\n%s\nlog:\n%s" % (what, json.dumps(msgs,
                                                             indent=1),
                                            inst.read_log()[-4000:]))


def rcpt_of(msgs, addr):
    for m in msgs:
        for r in m["recipients"]:
            if r["address"] == addr:
                return m, r
    return None, None


def wait_deferred(inst, addr):
    """addr's recipient entry in inst's queue once a first attempt was
    made, checked to be deferred."""
    msgs = wait_queue(inst, lambda m: rcpt_of(m, addr)[1] is not None and
                      rcpt_of(m, addr)[1]["attempts"] >= 1, "no attempt")
    _, r = rcpt_of(msgs, addr)
    check(r["status"] == "deferred", "not deferred: %r" % r)
    return r


def parse_dsn(raw):
    """The DSN as Python's email package sees it: (message, per-message
    fields, [per-recipient fields])."""
    m = email.message_from_bytes(raw, policy=email.policy.default)
    check(m.get_content_type() == "multipart/report",
          "DSN type %s" % m.get_content_type())
    check(m.get_param("report-type") == "delivery-status",
          "report-type %r" % m.get_param("report-type"))
    parts = list(m.iter_parts())
    check(len(parts) >= 2, "DSN has %d parts" % len(parts))
    ds = parts[1]
    check(ds.get_content_type() == "message/delivery-status",
          "second part %s" % ds.get_content_type())
    groups = ds.get_payload()
    check(isinstance(groups, list) and len(groups) >= 2,
          "delivery-status groups: %r" % groups)
    return m, groups[0], groups[1:]


# ---- cases -----------------------------------------------------------------

CASES = {}


def case(fn):
    CASES[fn.__name__[len("case_"):]] = fn
    return fn


@case
def case_starttls(a, b, env):
    a.submit(["bob@b.test"], subject="over starttls")
    got = b.maildir("bob", "b.test")
    check(len(got) == 1, "B got %d messages:\n%s\n%s" % (
        len(got), a.read_log()[-3000:], b.read_log()[-3000:]))
    check(b"Subject: over starttls" in got[0], "not the message")
    check(re.search(rb"Received: from mx\.a\.test .*?with ESMTPS id",
                    got[0], re.S) is not None,
          "B's Received shows no TLS:\n%r" % got[0][:800])
    wait_queue(a, lambda m: m == [], "A's queue not empty")
    check(re.search(r"delivery to=bob@b\.test relay=mx\.b\.test "
                    r"status=done tls=TLS", a.read_log()) is not None,
          "A's log has no TLS delivery line")


@case
def case_deferred(a, b, env):
    b.stop()
    a.submit(["bob@b.test"], subject="while B is down")
    msgs = wait_queue(a, lambda m: rcpt_of(m, "bob@b.test")[1] is not None
                      and rcpt_of(m, "bob@b.test")[1]["status"] ==
                      "deferred", "not deferred")
    m, r = rcpt_of(msgs, "bob@b.test")
    check(r["reason"] and r["attempts"] >= 1,
          "no last error or attempts: %r" % r)
    check(m["attempts"] >= 1 and m["next_attempt"] > time.time(),
          "no next attempt: %r" % m)
    text = a.queue("list")
    check("bob@b.test  deferred: " in text and "next in" in text,
          "queue list text:\n" + text)
    check(b.maildir("bob", "b.test", wait=0.5) == [], "B got it?")
    b.start()
    a.queue("flush")
    got = b.maildir("bob", "b.test")
    check(len(got) == 1 and b"Subject: while B is down" in got[0],
          "not delivered after flush:\n" + a.read_log()[-3000:])
    wait_queue(a, lambda m: m == [], "A's queue not empty after flush")


@case
def case_bounce(a, b, env):
    a.submit(["nobody@b.test"], subject="to nobody")
    got = a.maildir("alice", "a.test")
    check(len(got) == 1, "no DSN for alice:\n" + a.read_log()[-3000:])
    check(got[0].startswith(b"Return-Path: <>\r\n"), "DSN not from <>")
    m, msg_fields, rcpts = parse_dsn(got[0])
    check(m["Auto-Submitted"] == "auto-replied", "Auto-Submitted")
    check("mx.a.test" in msg_fields["Reporting-MTA"], "Reporting-MTA %r" %
          msg_fields["Reporting-MTA"])
    r = rcpts[0]
    check(r["Action"].strip() == "failed", "Action %r" % r["Action"])
    check(re.match(r"5\.\d+\.\d+$", r["Status"].strip()) is not None,
          "Status %r" % r["Status"])
    check("nobody@b.test" in r["Final-Recipient"], "Final-Recipient")
    check("550" in r["Diagnostic-Code"], "Diagnostic-Code %r" %
          r["Diagnostic-Code"])
    check(b.maildir("nobody", "b.test", wait=0.2) == [], "B stored it")
    wait_queue(a, lambda q: q == [], "A's queue not empty")


@case
def case_null_mx(a, b, env):
    start = time.time()
    a.submit(["x@nullmx.test"], subject="to null mx")
    got = a.maildir("alice", "a.test")
    check(len(got) == 1, "no DSN for alice:\n" + a.read_log()[-3000:])
    check(time.time() - start < 15, "not immediate")
    m, msg_fields, rcpts = parse_dsn(got[0])
    r = rcpts[0]
    check(r["Action"].strip() == "failed", "Action %r" % r["Action"])
    check(r["Status"].strip() == "5.1.10", "Status %r" % r["Status"])
    wait_queue(a, lambda q: q == [], "A's queue not empty")


class PolicyHandler(http.server.BaseHTTPRequestHandler):
    POLICY = (b"version: STSv1\r\nmode: enforce\r\nmx: mx.sts.test\r\n"
              b"max_age: 86400\r\n")
    hits = []

    def do_GET(self):
        PolicyHandler.hits.append(self.path)
        if self.path != "/.well-known/mta-sts.txt":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(self.POLICY)))
        self.end_headers()
        self.wfile.write(self.POLICY)

    def log_message(self, fmt, *args):
        pass


@case
def case_mta_sts(a, b, env):
    a.submit(["carol@sts.test"], subject="sts enforce")
    r = wait_deferred(a, "carol@sts.test")
    check("certificate" in (r["reason"] or ""), "reason: %r" % r)
    check(PolicyHandler.hits, "the policy was never fetched")
    time.sleep(1)
    check(b.maildir("carol", "sts.test", wait=0.2) == [],
          "B got the message")
    # B saw no transaction: nothing was sent in clear (or at all)
    check("carol@sts.test" not in b.read_log(),
          "B's log names the recipient:\n" + b.read_log()[-3000:])


@case
def case_dane(a, b, env):
    a.submit(["dave@dane-ok.test"], subject="dane ok")
    got = b.maildir("dave", "dane-ok.test")
    check(len(got) == 1, "not delivered with a matching TLSA:\n" +
          a.read_log()[-3000:])
    a.submit(["erin@dane-bad.test"], subject="dane bad")
    r = wait_deferred(a, "erin@dane-bad.test")
    check("TLSA" in (r["reason"] or ""), "reason: %r" % r)
    check(re.search(r"delivery to=dave@dane-ok\.test \S+ status=done "
                    r"tls=TLS\S*dane", a.read_log()) is not None,
          "A's log shows no DANE-verified delivery")
    time.sleep(1)
    check(b.maildir("erin", "dane-bad.test", wait=0.2) == [],
          "B got the message with a mismatching TLSA")
    check("erin@dane-bad.test" not in b.read_log(),
          "B's log names the recipient")


@case
def case_tlsrpt(a, b, env):
    a.submit(["carol@sts.test"], subject="sts enforce, reported")
    wait_deferred(a, "carol@sts.test")
    day = int(time.time()) // 86400
    check(a.maildir("tls", "a.test", wait=1) == [],
          "a TLS report before the day ended")
    a.stop()
    # the day's sessions are the attempts so far; the message goes, so
    # that no retry at the restart adds one before the report is built
    m, r = rcpt_of(a.queue_json(), "carol@sts.test")
    attempts = r["attempts"]
    a.queue("delete", m["id"])
    # the next day: the schedule's run at start reports this one
    a.start(env={"MAILSEC_TEST_NOW": str(int(time.time()) + 86400)})
    got = a.maildir("tls", "a.test", wait=30)
    check(len(got) == 1, "%d TLS reports at tls@a.test:\n%s" % (
        len(got), a.read_log()[-4000:]))
    m = email.message_from_bytes(got[0], policy=email.policy.default)
    check(m.get_content_type() == "multipart/report",
          "report mail is %s" % m.get_content_type())
    check(m.get_param("report-type") == "tlsrpt",
          "report-type %r" % m.get_param("report-type"))
    check(m["TLS-Report-Domain"] == "sts.test", "TLS-Report-Domain %r" %
          m["TLS-Report-Domain"])
    check(m["TLS-Report-Submitter"] == "mx.a.test",
          "TLS-Report-Submitter %r" % m["TLS-Report-Submitter"])
    check(re.match(r"Report Domain: sts\.test Submitter: mx\.a\.test "
                   r"Report-ID: <\S+@mx\.a\.test>$", str(m["Subject"])),
          "Subject %r" % m["Subject"])
    check("postmaster@mx.a.test" in str(m["From"]), "From %r" % m["From"])
    check(got[0].startswith(b"Return-Path: <postmaster@mx.a.test>"),
          "envelope sender: %r" % got[0][:80])
    parts = [p for p in m.iter_parts()
             if p.get_content_type() == "application/tlsrpt+gzip"]
    check(len(parts) == 1, "no application/tlsrpt+gzip part")
    fn = parts[0].get_filename() or ""
    check(re.match(r"mx\.a\.test!sts\.test!%d!%d!\w+\.json\.gz$" %
                   (day * 86400, day * 86400 + 86399), fn),
          "file name %r" % fn)
    rep = json.loads(gzip.decompress(parts[0].get_content()))
    check(rep["organization-name"] and "date-range" in rep and
          rep["contact-info"] == "postmaster@mx.a.test", "report head %r" %
          {k: v for k, v in rep.items() if k != "policies"})
    pols = [p for p in rep["policies"]
            if p["policy"]["policy-domain"] == "sts.test"]
    check(len(pols) == 1 and pols[0]["policy"]["policy-type"] == "sts",
          "policies %r" % rep["policies"])
    p = pols[0]
    check(p["policy"]["mx-host"] == ["mx.sts.test"], "mx-host %r" %
          p["policy"].get("mx-host"))
    fd = p.get("failure-details", [])
    check(len(fd) == 1 and fd[0]["result-type"] in (
        "certificate-not-trusted", "validation-failure"),
        "failure-details %r" % fd)
    check(fd[0]["receiving-mx-hostname"] == "mx.sts.test" and
          fd[0]["receiving-ip"] == IP_B, "failure-details %r" % fd)
    check(fd[0]["failed-session-count"] == attempts and
          p["summary"] == {"total-successful-session-count": 0,
                           "total-failure-session-count": attempts},
          "%d attempts, report says %r / %r" % (attempts, fd, p["summary"]))
    check(re.search(r"tlsrpt: \S+ for sts\.test to tls@a\.test queued as",
                    a.read_log()), "A's log has no TLS-RPT line")


def main():
    args = lib.parse_args(CASES)
    ip = lib.unbindable([IP_A, IP_B, IP_STS])
    if ip is not None:
        print("SKIP: cannot bind %s" % ip)
        return lib.SKIP
    if shutil.which("openssl") is None:
        print("SKIP: no openssl")
        return lib.SKIP
    top = tempfile.mkdtemp(prefix="mailsec-e2e-delivery-")
    insts, httpd = [], None
    try:
        pki = Pki(top)
        port = lib.free_port([IP_A, IP_B])
        zone = os.path.join(top, "dns.zone")
        with open(zone, "w") as f:
            f.write(zone_text(pki, port))
        https_port = lib.free_port([IP_STS])
        httpd = http.server.ThreadingHTTPServer((IP_STS, https_port),
                                                PolicyHandler)
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(pki.sts, pki.sts_key)
        httpd.socket = sctx.wrap_socket(httpd.socket, server_side=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        b = Instance(top, "b", IP_B, ["b.test", "sts.test", "dane-ok.test",
                                      "dane-bad.test"], port, zone, pki,
                     local="recipients listed; users [bob, carol, dave, "
                     "erin];")
        a = Instance(top, "a", IP_A, ["a.test"], port, zone, pki,
                     delivery='tls { ca_file "%s"; https_port %d; }' %
                     (pki.ca, https_port))
        insts = [b, a]
        b.start()
        a.start()
        CASES[args.case](a, b, {})
        for i in insts:
            i.stop()
        print("PASS %s" % args.case)
        return 0
    except Skip as e:
        print("SKIP: %s" % e)
        return lib.SKIP
    except Fail as e:
        print("FAIL %s: %s" % (args.case, e))
        for i in insts:
            try:
                i.stop(check_clean=False)
            except Fail:
                pass
        return 1
    finally:
        if httpd is not None:
            httpd.shutdown()
        for i in insts:
            i.kill()
        if os.environ.get("KEEP") is None:
            shutil.rmtree(top, ignore_errors=True)
        else:
            print("kept %s" % top)


if __name__ == "__main__":
    sys.exit(main())
