#!/usr/bin/python3
"""End-to-end tests of DMARC reports in the gateway (docs/reports.md, "In
the gateway").

usage: test_reports.py --bin PATH/TO/mailsec CASE

Each case starts `mailsec serve` (one worker, loopback, a temporary state
directory) with a zone written for it: sender.test publishes
"v=DMARC1; p=none; rua=mailto:dmarc@example.net; ruf=mailto:ruf@example.net;
fo=1" and SPF that passes 127.0.0.1 and 127.0.0.2 but not 127.0.0.3;
example.net (a local domain of the gateway) authorizes reports about
sender.test (sender.test._report._dmarc.example.net, RFC 9990 4). A "day"
of traffic goes in with smtplib from the three addresses, passing and
failing, then:

  aggregate  `mailsec report send --now` puts the report into the
             gateway's queue; it arrives in dmarc@example.net's Maildir:
             MIME read with the email package, the attachment gunzips,
             xmllint validates it against the RFC 9990 schema
             ($MAILSEC_TESTSUITES/reports/schema/dmarc-xml-0.2.xsd), its
             counts are the traffic sent; `mailsec report import` of that
             mail and `report summary --json` show the same counts.
  schedule   the daemon restarted with the test clock MAILSEC_TEST_NOW
             one day ahead: its schedule reports the day that "ended" at
             start, delivered the same way, same checks.
  failure    reports.failure on: each failing message gives an AFRF
             report at ruf@example.net (rate-limited to failure_rate),
             redacted: no sender's local part in it.
  ingest     reports.ingest_address: the report mailed to that address is
             imported into the store instead of the mailbox.

Exit status 0 pass, 1 fail, 77 skipped (xmllint or the schema missing).
"""
import email
import email.policy
import gzip
import json
import os
import re
import shutil
import smtplib
import sys
import tempfile
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import e2e_lib as lib  # noqa: E402
from e2e_lib import Fail, check  # noqa: E402

SUITES = os.environ.get("MAILSEC_TESTSUITES",
                        os.path.join(lib.HERE, "..", "..", "..", "shared",
                                     "testsuites"))
SCHEMA = os.path.join(SUITES, "reports", "schema", "dmarc-xml-0.2.xsd")

ZONE = """$TTL 300
sender.test.		IN	TXT	"v=spf1 ip4:127.0.0.1 ip4:127.0.0.2 -all"
_dmarc.sender.test.	IN	TXT	"v=DMARC1; p=none; rua=mailto:dmarc@example.net; ruf=mailto:ruf@example.net; fo=1"
sender.test._report._dmarc.example.net.	IN	TXT	"v=DMARC1"
example.net.		IN	A	192.0.2.10
"""

# (source address, messages, passes SPF)
TRAFFIC = [("127.0.0.1", 10, True), ("127.0.0.2", 6, True),
           ("127.0.0.3", 8, False)]
TOTAL = sum(n for _, n, _ in TRAFFIC)
PASSING = sum(n for _, n, ok in TRAFFIC if ok)


class Gateway(lib.Daemon):
    maildir_domain = "example.net"

    def __init__(self, reports=""):
        super().__init__(tempfile.mkdtemp(prefix="mailsec-e2e-rep-"))
        self.zone = os.path.join(self.dir, "reports.zone")
        with open(self.zone, "w") as f:
            f.write(ZONE)
        self.mx, self.sub, self.subs = lib.free_ports(3)
        self.reports = reports

    def addresses(self):
        return [("127.0.0.1", self.mx)]

    def config_text(self):
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
local { domains [localhost, example.net]; }
policy { authserv_id mx.example.net; }
delivery { enabled no; helo mx.example.net; }
reports {
	org_name "mailsec e2e";
%s}
""" % (self.state, self.mx, self.sub, self.subs, self.zone, self.reports)


def send_traffic(gw, failing_only=False):
    """The day's mail: TRAFFIC from each source address to
    user@example.net, From and MAIL FROM at sender.test."""
    n = 0
    for ip, count, _ in TRAFFIC:
        if failing_only and ip != "127.0.0.3":
            continue
        s = smtplib.SMTP("127.0.0.1", gw.mx, timeout=20,
                         source_address=(ip, 0))
        s.ehlo("client.sender.test")
        for i in range(count):
            msg = ("From: Alice Sender <alice.sender@sender.test>\r\n"
                   "To: <user@example.net>\r\n"
                   "Subject: report traffic %d from %s\r\n"
                   "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
                   "Message-ID: <m%d.%s.%d@sender.test>\r\n\r\n"
                   "Hello.\r\n" % (i, ip, i, ip.replace(".", "-"),
                                   os.getpid()))
            code, _ = (s.mail("alice.sender@sender.test"))
            check(code == 250, "MAIL FROM: %d" % code)
            code, _ = s.rcpt("user@example.net")
            check(code == 250, "RCPT TO: %d" % code)
            code, resp = s.data(msg.encode())
            check(code == 250, "DATA from %s: %d %r" % (ip, code, resp))
            n += 1
        s.quit()
    return n


def report_of(raw):
    """The gzip'd XML attachment of a report mail, checked and inflated."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    check(msg.get_content_type() == "multipart/mixed",
          "report mail is %s" % msg.get_content_type())
    check(re.search(r"Report Domain: sender\.test", str(msg["Subject"])),
          "subject %r" % msg["Subject"])
    gz = None
    for part in msg.iter_attachments():
        if part.get_content_type() == "application/gzip":
            check(part.get_filename().endswith(".xml.gz"),
                  "attachment name %r" % part.get_filename())
            check("!sender.test!" in part.get_filename(),
                  "attachment name %r" % part.get_filename())
            gz = part.get_content()
    check(gz is not None, "no application/gzip attachment")
    return gzip.decompress(gz)


def validate(gw, xml):
    path = os.path.join(gw.dir, "report.xml")
    with open(path, "wb") as f:
        f.write(xml)
    r = lib.run(["xmllint", "--noout", "--schema", SCHEMA, path])
    check(r.returncode == 0, "xmllint: %s%s" % (r.stdout, r.stderr))


def counts(xml):
    """{source_ip: count} and the total from the report XML."""
    text = xml.decode()
    per = {}
    for rec in re.findall(r"<record>(.*?)</record>", text, re.S):
        ip = re.search(r"<source_ip>([^<]+)</source_ip>", rec).group(1)
        n = int(re.search(r"<count>(\d+)</count>", rec).group(1))
        per[ip] = per.get(ip, 0) + n
    return per


def check_report(gw, raw):
    xml = report_of(raw)
    validate(gw, xml)
    per = counts(xml)
    want = {ip: n for ip, n, _ in TRAFFIC}
    check(per == want, "report counts %r, sent %r" % (per, want))
    check(b"urn:ietf:params:xml:ns:dmarc-2.0" in xml, "not RFC 9990 XML")
    check(b"<org_name>mailsec e2e</org_name>" in xml, "org_name")
    # import the mail itself and summarize
    path = os.path.join(gw.dir, "report.eml")
    with open(path, "wb") as f:
        f.write(raw)
    r = gw.cli("report", "import", path)
    check("stored" in r.stdout, "import: " + r.stdout)
    r = gw.cli("report", "summary", "--json")
    s = json.loads(r.stdout)
    check(s["reports"] == 1, "summary reports %r" % s["reports"])
    check(s["messages"] == TOTAL, "summary messages %r" % s["messages"])
    check(s["dmarc_pass"] == PASSING, "summary dmarc_pass %r" %
          s["dmarc_pass"])
    got = {x["ip"]: (x["count"], x["spf_pass"], x["dmarc_pass"])
           for x in s["sources"]}
    want = {ip: (n, n if ok else 0, n if ok else 0)
            for ip, n, ok in TRAFFIC}
    check(got == want, "summary sources %r, want %r" % (got, want))


def case_aggregate():
    gw = Gateway().start()
    try:
        check(send_traffic(gw) == TOTAL, "traffic")
        r = gw.cli("report", "send", "--now", "--dns-zone", gw.zone,
                   "--receiver", "example.net", "--org", "mailsec e2e",
                   "--from", "dmarc-noreply@example.net")
        check("1 sent" in r.stdout, "report send: " + r.stdout)
        mails = gw.maildir("dmarc")
        check(len(mails) == 1, "%d report mails at dmarc@example.net" %
              len(mails))
        check_report(gw, mails[0])
        # sent once: a second run has nothing new
        r = gw.cli("report", "send", "--now", "--dns-zone", gw.zone,
                   "--receiver", "example.net")
        check("0 sent" in r.stdout, "second send: " + r.stdout)
        gw.stop()
    finally:
        gw.stop()
        gw.cleanup()


def case_schedule():
    gw = Gateway().start()
    try:
        check(send_traffic(gw) == TOTAL, "traffic")
        check(gw.maildir("dmarc", wait=1) == [], "a report before the "
              "day ended")
        gw.stop()
        # the next day: the schedule's run at start reports this one
        gw.start(env={"MAILSEC_TEST_NOW": str(int(time.time()) + 86400)})
        mails = gw.maildir("dmarc", wait=30)
        check(len(mails) == 1, "%d report mails at dmarc@example.net:\n%s"
              % (len(mails), gw.read_log()))
        check_report(gw, mails[0])
        check(re.search(r"reports: 1 periods: 1 sent", gw.read_log()),
              "schedule log line")
        gw.stop()
    finally:
        gw.stop()
        gw.cleanup()


def case_failure():
    gw = Gateway(reports="\tfailure yes;\n\tfailure_rate 5;\n").start()
    try:
        check(send_traffic(gw, failing_only=True) == 8, "traffic")
        mails = gw.maildir("ruf", want=5, wait=30)
        time.sleep(1)
        mails = gw.maildir("ruf", want=5, wait=1)
        check(len(mails) == 5, "%d failure reports (rate 5 an hour)\n%s" %
              (len(mails), gw.read_log()))
        for raw in mails:
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            check(msg.get_content_type() == "multipart/report",
                  "failure report is %s" % msg.get_content_type())
            check(msg.get_param("report-type") == "feedback-report",
                  "report-type")
            kinds = [p.get_content_type() for p in msg.walk()]
            check("message/feedback-report" in kinds and
                  "text/rfc822-headers" in kinds, "parts %r" % kinds)
            text = raw.decode("utf-8", "replace")
            check("Auth-Failure: dmarc" in text, "Auth-Failure")
            check("Source-IP: 127.0.0.3" in text, "Source-IP")
            check("Reported-Domain: sender.test" in text, "Reported-Domain")
            check("alice.sender" not in text, "not redacted:\n" + text)
            check("@sender.test" in text, "domain kept")
        gw.stop()
    finally:
        gw.stop()
        gw.cleanup()


def case_ingest():
    gw = Gateway(reports="\tingest_address dmarc@example.net;\n").start()
    try:
        check(send_traffic(gw) == TOTAL, "traffic")
        r = gw.cli("report", "send", "--now", "--dns-zone", gw.zone,
                   "--receiver", "example.net", "--org", "mailsec e2e")
        check("1 sent" in r.stdout, "report send: " + r.stdout)
        deadline = time.time() + 20
        s = None
        while time.time() < deadline:
            s = json.loads(gw.cli("report", "summary", "--json").stdout)
            if s["reports"] == 1:
                break
            time.sleep(0.2)
        check(s["reports"] == 1 and s["messages"] == TOTAL,
              "ingested summary %r\n%s" % (s, gw.read_log()))
        check(gw.maildir("dmarc", wait=1) == [],
              "an ingested report in the Maildir too")
        # not a report: delivered to the mailbox as usual
        c = smtplib.SMTP("127.0.0.1", gw.mx, timeout=20)
        c.sendmail("alice.sender@sender.test", ["dmarc@example.net"],
                   b"From: <alice.sender@sender.test>\r\n"
                   b"To: <dmarc@example.net>\r\nSubject: question\r\n"
                   b"\r\nIs this the right address?\r\n")
        c.quit()
        check(len(gw.maildir("dmarc")) == 1, "plain mail to the ingest "
              "address not delivered")
        gw.stop()
    finally:
        gw.stop()
        gw.cleanup()


CASES = {"aggregate": case_aggregate, "schedule": case_schedule,
         "failure": case_failure, "ingest": case_ingest}


def main():
    a = lib.parse_args(CASES)
    if shutil.which("xmllint") is None or not os.path.exists(SCHEMA):
        print("SKIPPED: xmllint or %s missing" % SCHEMA)
        return lib.SKIP
    try:
        CASES[a.case]()
    except Fail as e:
        print("FAIL %s: %s" % (a.case, e))
        return 1
    print("ok %s" % a.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
