#!/usr/bin/env python3
"""Validates what test_report_write wrote (argv[1]).

- RFC 9990 documents against reports/schema/dmarc-xml-0.2.xsd (xmllint);
- RFC 7489 documents against a fixed copy of rfc7489-appendix-c.xsd made
  here in the output directory: the IPAddress pattern loses the line
  breaks the RFC's page layout put into it, and the target namespace goes
  (appendix C reports carry none). The repository never holds the copy;
- a broken document must fail, so the validator is seen to work;
- the report e-mail and the failure reports through python's email
  package.

Exit 77 (skipped, said loudly) without the test suites or xmllint.
"""
import email
import email.policy
import gzip
import os
import re
import shutil
import subprocess
import sys

failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what)


def skip(why):
    print("SKIPPED (report_write_check):", why)
    sys.exit(77)


def xmllint(schema, doc):
    r = subprocess.run(["xmllint", "--noout", "--nonet", "--schema", schema,
                        doc], capture_output=True, text=True)
    return r.returncode, r.stderr.strip()


def fixed_rfc7489_schema(src, dst):
    with open(src, encoding="utf-8") as f:
        text = f.read()

    def join(m):
        return re.sub(r"\s*\n\s*", "", m.group(0))
    text = re.sub(r'<xs:pattern value="[^"]*"', join, text)
    text = re.sub(r'\s+targetNamespace="[^"]*"', "", text)
    with open(dst, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    out = sys.argv[1]
    suites = os.environ.get("MAILSEC_TESTSUITES", "")
    schema_dir = os.path.join(suites, "reports", "schema")
    xsd2 = os.path.join(schema_dir, "dmarc-xml-0.2.xsd")
    xsd1 = os.path.join(schema_dir, "rfc7489-appendix-c.xsd")
    if not suites or not os.path.isfile(xsd2) or not os.path.isfile(xsd1):
        skip("no report schemas under MAILSEC_TESTSUITES=%r" % suites)
    if shutil.which("xmllint") is None:
        skip("xmllint not installed")
    if not os.path.isfile(os.path.join(out, "rfc9990-full.xml")):
        print("FAIL: test_report_write left no documents in", out)
        return 1

    for name in ("rfc9990-full.xml", "rfc9990-minimal.xml",
                 "rfc9990-bytes.xml", "mail-report.xml"):
        rc, err = xmllint(xsd2, os.path.join(out, name))
        check(rc == 0, "%s against dmarc-xml-0.2.xsd: %s" % (name, err))

    fixed = os.path.join(out, "rfc7489-appendix-c.fixed.xsd")
    fixed_rfc7489_schema(xsd1, fixed)
    for name in ("rfc7489-full.xml", "rfc7489-minimal.xml"):
        rc, err = xmllint(fixed, os.path.join(out, name))
        check(rc == 0, "%s against the RFC 7489 schema: %s" % (name, err))

    # the validators refuse what they should
    with open(os.path.join(out, "rfc9990-full.xml"), encoding="utf-8") as f:
        good = f.read()
    for i, (a, b) in enumerate([("<p>reject</p>", "<p>bogus</p>"),
                                ("<count>42</count>", "<count>x</count>"),
                                ("<version>1.0</version>\n", "")]):
        bad = os.path.join(out, "broken-%d.xml" % i)
        with open(bad, "w", encoding="utf-8") as f:
            f.write(good.replace(a, b, 1) if b else
                    good.replace("<report_metadata>", "<report_metadata>"
                                 "<unknown/>", 1))
        rc, _ = xmllint(xsd2, bad)
        check(rc != 0, "broken document %d was accepted" % i)
    with open(os.path.join(out, "rfc7489-full.xml"), encoding="utf-8") as f:
        good = f.read()
    bad = os.path.join(out, "broken-7489.xml")
    with open(bad, "w", encoding="utf-8") as f:
        f.write(good.replace("<source_ip>2001:db8:0:0:0:0:0:25",
                             "<source_ip>2001:db8::25", 1))
    rc, _ = xmllint(fixed, bad)
    check(rc != 0, "RFC 7489 schema took a compressed IPv6 address")

    check_mail(out)
    check_failure(out)
    print("report_write_check: %d checks, %d failed" % (checks, failures))
    return 1 if failures else 0


def check_mail(out):
    with open(os.path.join(out, "report-mail.eml"), "rb") as f:
        raw = f.read()
    with open(os.path.join(out, "mail-report.xml"), "rb") as f:
        xml = f.read()
    for line in raw.split(b"\r\n"):
        check(len(line) <= 998, "mail line longer than 998")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    check(msg["MIME-Version"] == "1.0", "MIME-Version")
    check(msg["Date"] is not None and msg["Message-ID"] is not None,
          "Date, Message-ID")
    check(str(msg["From"]) == "dmarc-noreply@receiver.example", "From")
    check(str(msg["To"]) == "dmarc@example.com", "To")
    subject = " ".join(str(msg["Subject"]).split())
    check(re.fullmatch(r"Report Domain: example\.com Submitter: "
                       r"receiver\.example Report-ID: <[^<>]+>", subject)
          is not None, "Subject %r" % subject)
    check(msg.get_content_type() == "multipart/mixed", "multipart/mixed")
    texts = [p for p in msg.walk() if p.get_content_type() == "text/plain"]
    check(len(texts) == 1, "one text part")
    gz = [p for p in msg.walk() if p.get_content_type() == "application/gzip"]
    check(len(gz) == 1, "one application/gzip part")
    if not gz:
        return
    part = gz[0]
    want = ("receiver.example!example.com!1700000000!1700086399!"
            "1700000000examplecomreceiverexample.xml.gz")
    check(part.get_filename() == want, "file name %r" % part.get_filename())
    check(part.get_content_disposition() == "attachment", "attachment")
    check(part["Content-Transfer-Encoding"] == "base64", "base64")
    body = part.as_bytes().split(b"\n\n", 1)[-1]
    for line in body.split(b"\r\n" if b"\r\n" in body else b"\n"):
        check(len(line) <= 76, "base64 line of %d" % len(line))
    data = part.get_payload(decode=True)
    check(gzip.decompress(data) == xml, "gunzip gives the report XML")


def feedback_fields(msg):
    parts = [p for p in msg.walk()
             if p.get_content_type() == "message/feedback-report"]
    check(len(parts) == 1, "one message/feedback-report part")
    if not parts:
        return None
    payload = parts[0].get_payload()
    if isinstance(payload, list):
        return payload[0]
    return email.message_from_string(payload, policy=email.policy.default)


def check_failure(out):
    with open(os.path.join(out, "failure.eml"), "rb") as f:
        raw = f.read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    check(msg.get_content_type() == "multipart/report", "multipart/report")
    check(msg.get_param("report-type") == "feedback-report", "report-type")
    kinds = [p.get_content_type() for p in msg.iter_parts()]
    check(kinds == ["text/plain", "message/feedback-report",
                    "text/rfc822-headers"], "parts %r" % kinds)
    fb = feedback_fields(msg)
    if fb is not None:
        want = {
            "Feedback-Type": "auth-failure",
            "Version": "1",
            "Auth-Failure": "dmarc",
            "Identity-Alignment": "dkim, spf",
            "Original-Mail-From": "<dave.bounce+tag@example.com>",
            "Original-Rcpt-To": "<carol@receiver.example>",
            "Source-IP": "192.0.2.1",
            "Reported-Domain": "example.com",
            "Reporting-MTA": "dns; mx.receiver.example",
            "DKIM-Domain": "example.com",
            "DKIM-Selector": "sel1",
            "DKIM-Identity": "@example.com",
            "Arrival-Date": "Tue, 14 Nov 2023 10:00:00 +0000",
        }
        for k, v in want.items():
            got = " ".join(str(fb.get(k, "")).split())
            check(got == v, "%s: %r, want %r" % (k, got, v))
        check(str(fb.get("User-Agent", "")).startswith("mailsec/"),
              "User-Agent")
        ar = " ".join(str(fb.get("Authentication-Results", "")).split())
        check(ar.startswith("mx.receiver.example; dkim=fail") and
              ar.endswith("header.from=example.com"), "A-R %r" % ar)
        check(str(fb.get("SPF-DNS", "")).startswith("txt : example.com"),
              "SPF-DNS")
    hdrs = [p for p in msg.iter_parts()
            if p.get_content_type() == "text/rfc822-headers"]
    if hdrs:
        text = hdrs[0].get_payload(decode=True)
        check(b"From: \"Alice Example\" <alice@example.com>" in text,
              "original From kept")
        check(b"BODY-SECRET" not in raw, "the body is never reported")

    with open(os.path.join(out, "failure-redacted.eml"), "rb") as f:
        raw = f.read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for local in (b"dave.bounce", b"carol", b"eve.signer", b"alice",
                  b"bob.smith", b"quoted user", b"frank_o'neil",
                  b"msgid-local"):
        check(local not in raw, "redacted report holds %r" % local)
    fb = feedback_fields(msg)
    if fb is not None:
        check(fb.get("Original-Rcpt-To") is None, "no Original-Rcpt-To")
        omf = str(fb.get("Original-Mail-From", ""))
        check(re.fullmatch(r"<[0-9a-f]{16}@example\.com>", omf) is not None,
              "redacted Original-Mail-From %r" % omf)
    hdrs = [p for p in msg.iter_parts()
            if p.get_content_type() == "text/rfc822-headers"]
    check(len(hdrs) == 1, "redacted report keeps the header part")
    if hdrs:
        text = hdrs[0].get_payload(decode=True)
        check(re.search(rb"<[0-9a-f]{16}@example\.com>", text) is not None,
              "local parts become 16 hex digits")


if __name__ == "__main__":
    sys.exit(main())
