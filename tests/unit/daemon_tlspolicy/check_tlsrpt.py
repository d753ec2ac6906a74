#!/usr/bin/env python3
"""Reads the TLS-RPT report test_daemon_tlspolicy wrote (gzip'd JSON)
and checks it against RFC 8460 4.4 with Python's own gzip and json.

Usage: check_tlsrpt.py REPORT.json.gz
"""
import gzip
import json
import sys


def main():
    with gzip.open(sys.argv[1], "rb") as f:
        r = json.loads(f.read().decode("utf-8"))
    fails = []

    def want(cond, what):
        if not cond:
            fails.append(what)

    for k in ("organization-name", "date-range", "contact-info",
              "report-id", "policies"):
        want(k in r, "no " + k)
    want(r["organization-name"] == "Test Org", "organization-name")
    want(r["contact-info"] == "tlsrpt@sender.test", "contact-info")
    dr = r["date-range"]
    want(dr["start-datetime"] == "2024-03-01T00:00:00Z", "start")
    want(dr["end-datetime"] == "2024-03-01T23:59:59Z", "end")
    pols = {p["policy"]["policy-type"]: p for p in r["policies"]}
    want(set(pols) == {"sts", "tlsa", "no-policy-found"},
         "policy types %s" % sorted(pols))
    sts = pols["sts"]
    want(sts["policy"]["policy-domain"] == "rpt.test", "sts domain")
    want(sts["policy"]["policy-string"] == [
        "version: STSv1", "mode: enforce", "mx: mx1.rpt.test",
        "mx: *.mx.rpt.test", "max_age: 86400"], "sts policy-string %r" %
         sts["policy"].get("policy-string"))
    want(sts["policy"]["mx-host"] == ["mx1.rpt.test", "*.mx.rpt.test"],
         "sts mx-host")
    want(sts["summary"] == {"total-successful-session-count": 3,
                            "total-failure-session-count": 2},
         "sts summary %r" % sts["summary"])
    fd = sts["failure-details"]
    want(len(fd) == 1, "sts failure-details")
    want(fd[0]["result-type"] == "certificate-host-mismatch", "result")
    # RFC 8460 4.3: the MX's address is receiving-ip (sending-mta-ip is
    # the reporter's own)
    want(fd[0].get("receiving-ip") == "192.0.2.9", "ip")
    want("sending-mta-ip" not in fd[0], "sending-mta-ip")
    want(fd[0]["receiving-mx-hostname"] == "mx1.rpt.test", "mx")
    want(fd[0]["failed-session-count"] == 2, "count")
    tlsa = pols["tlsa"]
    want(tlsa["policy"]["policy-string"] == ["3 1 1 " + "ab" * 32],
         "tlsa policy-string %r" % tlsa["policy"].get("policy-string"))
    want(tlsa["policy"]["mx-host"] == ["mx2.rpt.test"], "tlsa mx-host")
    want(tlsa["summary"]["total-failure-session-count"] == 1, "tlsa fail")
    want(tlsa["failure-details"][0]["result-type"] == "tlsa-invalid",
         "tlsa result")
    npf = pols["no-policy-found"]
    want("policy-string" not in npf["policy"], "npf policy-string")
    want(npf["summary"]["total-successful-session-count"] == 1, "npf ok")
    want("failure-details" not in npf, "npf details")
    if fails:
        print("FAIL: " + "; ".join(fails))
        return 1
    print("ok: %d policies" % len(r["policies"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
