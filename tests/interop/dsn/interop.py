"""DSN interop: the DSNs dsn_writer composes (mailsec_dsn_compose) parsed by
Python's email package (policy default) as RFC 3464 / RFC 6522 reports.

usage: interop.py DSN_WRITER

Each case of dsn_writer.c is checked here: the top-level type and its
report-type, the header fields, message/delivery-status as the second part
with the per-message and per-recipient fields expected, and the third
part's type as RET asks (message/rfc822 or text/rfc822-headers).
"""
import email
import email.policy
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from common import count, counts, failures, tmpdir  # noqa: E402


def check(what, got, want):
    count("checks")
    if got != want:
        failures.append("%s: got %r, want %r" % (what, got, want))


def check_true(what, cond):
    count("checks")
    if not cond:
        failures.append(what)


B = "bob@example.com"
# case -> (subject, third part type or None, per-message fields,
#          [per-recipient fields])
CASES = {
    "failed_full": ("Undelivered Mail Returned to Sender", "message/rfc822",
                    {"Reporting-MTA": "dns; mail.example.org"},
                    [{"Final-Recipient": "rfc822;" + B, "Action": "failed",
                      "Status": "5.1.1",
                      "Remote-MTA": "dns; mx.example.com"}]),
    "failed_hdrs": ("Undelivered Mail Returned to Sender",
                    "text/rfc822-headers", {},
                    [{"Final-Recipient": "rfc822;" + B, "Action": "failed",
                      "Status": "5.1.1"}]),
    "failed_noret": ("Undelivered Mail Returned to Sender",
                     "text/rfc822-headers", {},
                     [{"Final-Recipient": "rfc822;" + B, "Action": "failed",
                       "Status": "5.1.1"}]),
    "too_big": ("Undelivered Mail Returned to Sender", "text/rfc822-headers",
                {}, [{"Final-Recipient": "rfc822;" + B, "Action": "failed",
                      "Status": "5.1.1"}]),
    "eightbit": ("Undelivered Mail Returned to Sender",
                 "text/rfc822-headers", {},
                 [{"Final-Recipient": "rfc822;" + B, "Action": "failed",
                   "Status": "5.1.1"}]),
    "no_original": ("Undelivered Mail Returned to Sender", None, {},
                    [{"Final-Recipient": "rfc822;" + B, "Action": "failed",
                      "Status": "5.1.1"}]),
    "envid_orcpt": ("Successful Mail Delivery Report", "text/rfc822-headers",
                    {"Original-Envelope-Id": "QQ314159"},
                    [{"Original-Recipient": "rfc822;Bob@Example.COM",
                      "Final-Recipient": "rfc822;" + B,
                      "Action": "delivered", "Status": "2.0.0"}]),
    "delayed": ("Delayed Mail (still being retried)", "text/rfc822-headers",
                {}, [{"Final-Recipient": "rfc822;" + B, "Action": "delayed",
                      "Status": "4.4.1",
                      "Will-Retry-Until": "Mon, 06 Jan 2025 03:04:05 +0000"}]),
    "mixed": ("Undelivered Mail Returned to Sender", "message/rfc822",
              {}, [{"Final-Recipient": "rfc822;" + B, "Action": "failed",
                    "Status": "5.2.2"},
                   {"Final-Recipient": "rfc822;carol@example.net",
                    "Action": "delayed", "Status": "4.7.0",
                    "Remote-MTA": "dns; mx1.example.net"},
                   {"Original-Recipient": "rfc822;dana@example.net",
                    "Final-Recipient": "rfc822;dana@example.net",
                    "Action": "relayed", "Status": "2.0.0"}]),
}


def check_case(name, raw):
    subject, third, per_msg, per_rcpt = CASES[name]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    check(name + " defects", list(msg.defects), [])
    check(name + " type", msg.get_content_type(), "multipart/report")
    check(name + " report-type", msg.get_param("report-type"),
          "delivery-status")
    check(name + " Subject", str(msg["Subject"]), subject)
    check(name + " To", msg["To"].addresses[0].addr_spec,
          "alice@example.org")
    check(name + " From", msg["From"].addresses[0].addr_spec,
          "MAILER-DAEMON@mail.example.org")
    check(name + " Auto-Submitted", str(msg["Auto-Submitted"]),
          "auto-replied")
    check(name + " MIME-Version", str(msg["MIME-Version"]), "1.0")
    check_true(name + " Date parses", msg["Date"].datetime is not None)
    check_true(name + " Message-ID", str(msg["Message-ID"]).startswith("<"))
    parts = msg.get_payload()
    check(name + " parts", len(parts), 3 if third else 2)
    if len(parts) < 2:
        return
    check(name + " part 1", parts[0].get_content_type(), "text/plain")
    check_true(name + " human part names the recipient",
               B in parts[0].get_content())
    ds = parts[1]
    check(name + " part 2", ds.get_content_type(), "message/delivery-status")
    blocks = ds.get_payload()
    check(name + " status groups", len(blocks), 1 + len(per_rcpt))
    if len(blocks) != 1 + len(per_rcpt):
        return
    check(name + " Reporting-MTA", blocks[0]["Reporting-MTA"],
          "dns; mail.example.org")
    check(name + " Arrival-Date", blocks[0]["Arrival-Date"],
          "Thu, 02 Jan 2025 02:54:05 +0000")
    for k, v in per_msg.items():
        check("%s %s" % (name, k), blocks[0][k], v)
    if "Original-Envelope-Id" not in per_msg:
        check(name + " no Original-Envelope-Id",
              blocks[0]["Original-Envelope-Id"], None)
    for i, want in enumerate(per_rcpt):
        blk = blocks[1 + i]
        for k, v in want.items():
            check("%s rcpt %d %s" % (name, i, k), blk[k], v)
        if "Original-Recipient" not in want:
            check("%s rcpt %d no Original-Recipient" % (name, i),
                  blk["Original-Recipient"], None)
        if want["Action"] != "delayed":
            check("%s rcpt %d no Will-Retry-Until" % (name, i),
                  blk["Will-Retry-Until"], None)
        for f in blk.keys():
            check_true("%s rcpt %d unexpected field %s" % (name, i, f),
                       f in ("Original-Recipient", "Final-Recipient",
                             "Action", "Status", "Remote-MTA",
                             "Diagnostic-Code", "Last-Attempt-Date",
                             "Will-Retry-Until"))
    if not third:
        return
    orig = parts[2]
    check(name + " part 3", orig.get_content_type(), third)
    if third == "message/rfc822":
        inner = orig.get_payload()[0]
        check(name + " returned Subject", str(inner["Subject"]),
              "Quarterly numbers")
        check_true(name + " returned body",
                   "The numbers are in." in inner.get_content())
    else:
        text = orig.get_content()
        hdrs = email.message_from_string(text, policy=email.policy.default)
        check_true(name + " returned header only",
                   "The numbers are in." not in text)
        if name == "eightbit":
            check(name + " header CTE",
                  orig["Content-Transfer-Encoding"], "quoted-printable")
            # text/rfc822-headers has no charset (RFC 6522 4): the
            # quoted-printable decodes to the original's bytes
            check_true(name + " returned Subject bytes",
                       b"Subject: caf\xc3\xa9 tomorrow\r\n" in
                       orig.get_payload(decode=True))
            check_true(name + " DSN is 7-bit", max(raw) < 0x80)
        else:
            check(name + " returned Subject", str(hdrs["Subject"]),
                  "Quarterly numbers")
            check(name + " returned Message-ID", str(hdrs["Message-ID"]),
                  "<q4.numbers@example.org>")


def check_specifics(name, raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parts = msg.get_payload()
    human = parts[0].get_content()
    blocks = parts[1].get_payload()
    if name == "failed_full":
        check(name + " Diagnostic-Code", blocks[1]["Diagnostic-Code"],
              "smtp; 550 5.1.1 <bob@example.com>: Recipient address "
              "rejected: User unknown in virtual mailbox table")
        check(name + " Received-From-MTA", blocks[0]["Received-From-MTA"],
              "dns; laptop.example.org (192.0.2.10)")
    if name == "too_big":
        check_true(name + " says why", "larger than the 100 bytes" in
                   " ".join(human.split()))
    if name == "eightbit":
        check_true(name + " says why", "8-bit" in human)
    if name == "mixed":
        # RFC 3461 9.2: one line per reply line, unfolded by the reader
        check(name + " multi-line Diagnostic-Code",
              " ".join(blocks[1]["Diagnostic-Code"].split()),
              "smtp; 552-5.2.2 The email account that you tried to reach "
              "is over quota. 552-5.2.2 Please direct the recipient to 552 "
              "5.2.2 https://support.example.com/quota")
        check(name + " injected line stays inside",
              " ".join(blocks[2]["Diagnostic-Code"].split()),
              "smtp; 421 4.7.0 Try again later Bcc: injected")
        check(name + " no Bcc header", msg["Bcc"], None)
        for k in ("carol@example.net", "dana@example.net"):
            check_true(name + " human part names " + k, k in human)


def main():
    if len(sys.argv) != 2:
        print("usage: interop.py DSN_WRITER")
        return 2
    out = tmpdir("mailsec-dsn-")
    r = subprocess.run([sys.argv[1], out], capture_output=True)
    check("dsn_writer exit", r.returncode, 0)
    if r.returncode != 0:
        print(r.stderr.decode(errors="replace"))
    for name in sorted(CASES):
        path = os.path.join(out, name + ".eml")
        if not os.path.exists(path):
            failures.append(name + ": not written")
            continue
        with open(path, "rb") as f:
            raw = f.read()
        count("dsns")
        try:
            check_case(name, raw)
            check_specifics(name, raw)
        except Exception as e:  # a malformed DSN must fail, not crash
            failures.append("%s: %s: %s" % (name, type(e).__name__, e))
    for f in failures:
        print("FAIL: " + f)
    print("dsn interop: %d DSNs, %d checks, %d failed" % (
        counts.get("dsns", 0), counts.get("checks", 0), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
