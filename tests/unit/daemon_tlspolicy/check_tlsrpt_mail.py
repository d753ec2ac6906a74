#!/usr/bin/env python3
"""Reads the TLS-RPT report mail test_daemon_tlsrpt_mail wrote and checks
it against RFC 8460 5.3 with Python's email, gzip and json: a
multipart/report; report-type="tlsrpt" whose first part is text and
whose report part is application/tlsrpt+gzip named
sender!domain!begin!end!unique.json.gz, gunzipping to the RFC 8460 4.4
JSON of the results the test recorded.

Usage: check_tlsrpt_mail.py MAIL
"""
import email
import email.policy
import gzip
import json
import re
import sys


def main():
    with open(sys.argv[1], "rb") as f:
        raw = f.read()
    fails = []

    def want(cond, what):
        if not cond:
            fails.append(what)

    m = email.message_from_bytes(raw, policy=email.policy.default)
    want(not m.defects, "defects %r" % m.defects)
    want(m.get_content_type() == "multipart/report",
         "type %s" % m.get_content_type())
    want(m.get_param("report-type") == "tlsrpt",
         "report-type %r" % m.get_param("report-type"))
    want(m["TLS-Report-Domain"] == "rpt.test", "TLS-Report-Domain")
    want(m["TLS-Report-Submitter"] == "sender.test", "TLS-Report-Submitter")
    want(str(m["From"]) == "tlsrpt@sender.test", "From %r" % m["From"])
    want(str(m["To"]) == "tls@rpt.test", "To %r" % m["To"])
    subj = re.match(r"Report Domain: (\S+) Submitter: (\S+) "
                    r"Report-ID: <([^<>@\s]+@[^<>@\s]+)>$",
                    str(m["Subject"]))
    want(subj is not None, "Subject %r" % m["Subject"])
    want(subj is not None and subj.group(1) == "rpt.test" and
         subj.group(2) == "sender.test", "Subject names")
    want(subj is not None and m["Message-ID"] == "<%s>" % subj.group(3),
         "Message-ID %r" % m["Message-ID"])
    parts = list(m.iter_parts())
    want(len(parts) == 2, "%d parts" % len(parts))
    want(parts[0].get_content_type() == "text/plain", "first part %s" %
         parts[0].get_content_type())
    want("Test Org" in parts[0].get_content(), "text part")
    rep = parts[-1]
    want(rep.get_content_type() == "application/tlsrpt+gzip",
         "report part %s" % rep.get_content_type())
    fn = rep.get_filename() or ""
    fm = re.match(r"sender\.test!rpt\.test!1709251200!1709337599!"
                  r"([0-9a-f]{16})\.json\.gz$", fn)
    want(fm is not None, "file name %r" % fn)
    r = json.loads(gzip.decompress(rep.get_content()).decode("utf-8"))
    for k in ("organization-name", "date-range", "contact-info",
              "report-id", "policies"):
        want(k in r, "no " + k)
    want(r["organization-name"] == "Test Org", "organization-name")
    want(r["contact-info"] == "tlsrpt@sender.test", "contact-info")
    want(subj is not None and r["report-id"] == subj.group(3),
         "report-id %r is not the Subject's" % r["report-id"])
    want(r["date-range"] == {"start-datetime": "2024-03-01T00:00:00Z",
                             "end-datetime": "2024-03-01T23:59:59Z"},
         "date-range %r" % r["date-range"])
    want(len(r["policies"]) == 1, "%d policies" % len(r["policies"]))
    p = r["policies"][0]
    want(p["policy"]["policy-type"] == "sts", "policy-type")
    want(p["policy"]["policy-domain"] == "rpt.test", "policy-domain")
    want(p["policy"]["mx-host"] == ["mx.rpt.test"], "mx-host")
    want(p["summary"] == {"total-successful-session-count": 1,
                          "total-failure-session-count": 2},
         "summary %r" % p["summary"])
    fd = p.get("failure-details", [])
    want(len(fd) == 1 and fd[0] == {
        "result-type": "certificate-not-trusted",
        "receiving-ip": "192.0.2.25",
        "receiving-mx-hostname": "mx.rpt.test",
        "failed-session-count": 2}, "failure-details %r" % fd)
    if fails:
        print("FAIL: " + "; ".join(fails))
        return 1
    print("ok: %s" % fn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
