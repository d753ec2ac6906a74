#!/usr/bin/python3
"""DKIM interop, both ways, with dkimpy, libopendkim and Mail::DKIM.

usage: interop.py MAILSEC OPENDKIM_PEER|-

Over 56 generated messages (folded headers, trailing whitespace, tabs,
empty body, no final CRLF, 8-bit, very long lines, multipart, repeated
headers, whitespace-only lines; every fourth one stored with LF line
endings):
  mailsec signs (rsa-sha256 relaxed and simple, ed25519-sha256 relaxed)
    -> dkimpy, libopendkim and Mail::DKIM (rsa only: no Ed25519 in the
       Debian Mail::DKIM) verify;
  dkimpy, libopendkim and Mail::DKIM sign (rsa-sha256 relaxed and simple;
  ed25519-sha256 with dkimpy and libopendkim) -> mailsec verifies (the
  LF-stored messages also as LF files).
Peers get the CRLF (wire) form. A missing peer is reported SKIPPED.
Tampering: each peer-verified message is also checked after changing its
body; every peer and mailsec must then not pass.
"""
import base64
import json
import os
import random
import re
import sys

import dkim

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from common import (  # noqa: E402
    count, counts, failures, key_record, make_dnsfunc, run, skipped, tmpdir,
    write_file, zone_txt)

MAILSEC = sys.argv[1]
ODK = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != "-" else None
T = tmpdir("dkim-interop-")
DOMAIN = "interop.example"


# ---- keys and DNS -------------------------------------------------------
for sel, typ in (("rsa", "rsa"), ("ed", "ed25519")):
    r = run([MAILSEC, "dkim", "keygen", "--domain", DOMAIN, "--selector",
             sel, "--type", typ, "--out", T])
    if r.returncode != 0:
        print("keygen failed: %s" % r.stderr.decode())
        sys.exit(1)
KEY = {s: os.path.join(T, "%s.%s.private" % (s, DOMAIN)) for s in ("rsa",
                                                                   "ed")}
RECORD = {s: key_record(KEY[s], "ed25519" if s == "ed" else "rsa")
          for s in KEY}
# Mail::DKIM reads traditional RSA PEM only ("BEGIN RSA PRIVATE KEY").
KEY_TRAD = os.path.join(T, "rsa.trad.pem")
run(["/usr/bin/openssl", "pkey", "-in", KEY["rsa"], "-traditional", "-out",
     KEY_TRAD])
ED_SEED = base64.b64encode(run(["/usr/bin/openssl", "pkey", "-in", KEY["ed"],
                                "-outform", "DER"]).stdout[-32:])
with open(os.path.join(T, "ed.seed"), "wb") as f:
    f.write(ED_SEED)
ZONE = os.path.join(T, "z.zone")
KEYS = os.path.join(T, "keys.txt")
with open(ZONE, "w") as z, open(KEYS, "w") as k:
    for s, rec in RECORD.items():
        name = "%s._domainkey.%s" % (s, DOMAIN)
        z.write("%s. IN TXT %s\n" % (name, zone_txt(rec)))
        k.write("%s %s\n" % (name, rec))
dnsfunc = make_dnsfunc({("%s._domainkey.%s." % (s, DOMAIN)).encode():
                        rec.encode() for s, rec in RECORD.items()})


# ---- messages -------------------------------------------------------------
rnd = random.Random(6376)


def words(n):
    pool = ["alpha", "beta", "gamma", "delta", "x", "lorem", "ipsum",
            "dolor", "sit", "amet", "42", "-", "mail", "dkim"]
    return " ".join(rnd.choice(pool) for _ in range(n))


def base_headers(i, subject=None):
    return [
        "From: Sender %d <sender%d@%s>" % (i, i, DOMAIN),
        "To: Rcpt <rcpt@example.net>",
        "Subject: %s" % (subject or "message %d %s" % (i, words(3))),
        "Date: Mon, 01 Jan 2024 10:%02d:00 +0000" % (i % 60),
        "Message-ID: <%d.interop@%s>" % (i, DOMAIN),
    ]


def kinds(i):
    k = i % 14
    h = base_headers(i)
    body = "\r\n".join(words(8) for _ in range(1 + i % 5)) + "\r\n"
    if k == 0:
        pass
    elif k == 1:
        h[2] = "Subject: folded %d\r\n\tcontinued %s\r\n  and more" % (
            i, words(4))
    elif k == 2:
        h[2] += "   \t"
        body = "line with trailing  \t\r\nanother   \r\n"
    elif k == 3:
        body = "tabs\there\t\tand  \t spaces\r\n\tindented\r\n"
        h.append("X-Tabbed:\tvalue\twith\ttabs")
    elif k == 4:
        body = ""
    elif k == 5:
        body = "no final line break " + words(3)
    elif k == 6:
        h[2] = "Subject: caf\u00e9 \u00fcber \u65e5\u672c"
        body = "8-bit body: \u00e9\u00e8\u00ea \u00df \u20ac\r\n"
    elif k == 7:
        body = ("L" * (2000 + i * 37)) + "\r\nshort\r\n"
    elif k == 8:
        h += ["MIME-Version: 1.0",
              'Content-Type: multipart/alternative; boundary="b%d"' % i]
        body = ("--b%d\r\nContent-Type: text/plain\r\n\r\nplain %s\r\n"
                "--b%d\r\nContent-Type: text/html\r\n\r\n<p>%s</p>\r\n"
                "--b%d--\r\n" % (i, words(5), i, words(5), i))
    elif k == 9:
        h.insert(0, "Received: from a by b; Mon, 01 Jan 2024 10:00:00 +0000")
        h.insert(0, "Received: from c by d; Mon, 01 Jan 2024 10:00:01 +0000")
        h.append("To: second@example.net")
        h.append("Cc: c1@example.net, c2@example.net")
    elif k == 10:
        body = words(5) + "\r\n\r\n\r\n\r\n"
    elif k == 11:
        body = words(3) + "\r\n   \r\n\t\r\n" + words(3) + "\r\n \r\n"
    elif k == 12:
        h.append("X-Long: " + ",\r\n ".join(words(6) for _ in range(6)))
        body = "x\r\n"
    else:
        body = "\r\n" + words(4) + "\r\n"
    return ("\r\n".join(h) + "\r\n\r\n" + body).encode("utf-8")


MSGS = []
for i in range(56):
    MSGS.append(("m%02d" % i, kinds(i), i % 4 == 3))
# Bodies without a final CRLF: RFC 6376 3.4.3/3.4.4 add one before
# hashing. libopendkim refuses them under relaxed ("CRLF at end of body
# missing") and Mail::DKIM hashes them without the CRLF under simple; those
# peer answers are counted as known peer deviations, never as passes.
NO_FINAL_CRLF = {n for n, d, _ in MSGS if not d.endswith(b"\r\n")}
DEVIATION = {
    "opendkim": ("st=5", "CRLF at end of body missing"),
    "Mail::DKIM": ("body has been altered",),
}


def deviation(peer, name, detail):
    return (name in NO_FINAL_CRLF and peer in DEVIATION and
            any(x in detail for x in DEVIATION[peer]))


def lf(b):
    return b.replace(b"\r\n", b"\n")


def crlf(b):
    return re.sub(rb"\r?\n", b"\r\n", b)


def write(name, data):
    return write_file(os.path.join(T, name), data)


def mailsec_verify(path):
    r = run([MAILSEC, "dkim", "verify", "--json", "--dns-zone", ZONE, path])
    if r.returncode != 0:
        return "error " + r.stderr.decode(errors="replace")
    sigs = json.loads(r.stdout)["signatures"]
    if not sigs:
        return "none"
    return sigs[0]["result"] if sigs[0]["result"] == "pass" else \
        "%s (%s)" % (sigs[0]["result"], sigs[0]["reason"])


def tamper(b):
    # change a body byte (the last letter of the body)
    head, sep, body = b.partition(b"\r\n\r\n")
    m = re.search(rb"[a-z](?=[^a-z]*$)", body)
    if m is None:
        body += b"tampered\r\n"
    else:
        body = body[:m.start()] + b"Z" + body[m.end():]
    return head + sep + body


# ---- mailsec signs, peers verify ------------------------------------------
SIGN_MODES = [("rsa", "relaxed/relaxed"), ("rsa", "simple/simple"),
              ("ed", "relaxed/relaxed")]
to_odk, to_mdk = [], []
for name, data, is_lf in MSGS:
    src = write(name + ".eml", lf(data) if is_lf else data)
    for sel, canon in SIGN_MODES:
        r = run([MAILSEC, "dkim", "sign", "--domain", DOMAIN, "--selector",
                 sel, "--key", KEY[sel], "--canon", canon, src])
        tag = "mailsec %s %s" % (sel, canon)
        if r.returncode != 0:
            failures.append("%s %s: sign failed %s" % (tag, name, r.stderr))
            continue
        signed = crlf(r.stdout)
        for variant, blob in (("ok", signed), ("tampered", tamper(signed))):
            want_pass = variant == "ok"
            try:
                got = dkim.verify(blob, dnsfunc=dnsfunc)
            except Exception as e:
                got = False
            if got == want_pass:
                count("mailsec -> dkimpy (%s, %s)" % (tag[8:], variant))
            else:
                failures.append("dkimpy verify %s %s %s: %s" % (
                    tag, name, variant, got))
            p = write("%s-%s-%s-%s.eml" % (name, sel, canon[0], variant),
                      blob)
            to_odk.append((p, want_pass, tag, name, variant))
            if sel == "rsa":
                to_mdk.append((p, want_pass, tag, name, variant))
        # mailsec's own output, as written (LF stays LF)
        p = write("%s-self.eml" % name, r.stdout)
        if mailsec_verify(p) != "pass":
            failures.append("mailsec self-verify %s %s: %s" % (
                tag, name, mailsec_verify(p)))


def batch_check(peer, cmd, items):
    if not items:
        return
    r = run(cmd + [p for p, *_ in items])
    lines = r.stdout.decode(errors="replace").splitlines()
    if len(lines) != len(items):
        failures.append("%s: %d answers for %d messages: %s" % (
            peer, len(lines), len(items), r.stderr[-500:]))
        return
    for (p, want_pass, tag, name, variant), line in zip(items, lines):
        if (line == "pass") == want_pass:
            count("mailsec -> %s (%s, %s)" % (peer, tag[8:], variant))
        elif want_pass and deviation(peer, name, line):
            count("mailsec -> %s: peer deviation, body without final "
                  "CRLF (%s)" % (peer, line))
        else:
            failures.append("%s verify %s %s %s: %s" % (
                peer, tag, name, variant, line))


if ODK:
    batch_check("opendkim", [ODK, "verify", KEYS], to_odk)
else:
    skipped.append("libopendkim (opendkim_peer not built: "
                   "libopendkim-dev missing)")
batch_check("Mail::DKIM", ["perl", os.path.join(HERE, "maildkim_peer.pl"),
                           "verify", KEYS], to_mdk)


# ---- peers sign, mailsec verifies -----------------------------------------
def check_mailsec(peer, mode, name, signed, is_lf):
    variants = [("ok", signed, "pass"), ("tampered", tamper(signed), None)]
    if is_lf:
        variants.append(("ok LF file", lf(signed), "pass"))
    for variant, blob, want in variants:
        p = write("%s-by-%s.eml" % (name, peer.replace(":", "")), blob)
        got = mailsec_verify(p)
        good = got == "pass" if want else got.startswith("fail")
        if (not good and want and peer == "Mail::DKIM" and mode ==
                "rsa simple" and name in NO_FINAL_CRLF and
                "body hash" in got):
            count("Mail::DKIM -> mailsec: peer deviation, simple body "
                  "hash without the final CRLF")
            continue
        if good:
            count("%s -> mailsec (%s, %s)" % (peer, mode, variant))
        else:
            failures.append("%s signed %s %s, mailsec %s: %s" % (
                peer, name, mode, variant, got))


HDRS = [b"from", b"to", b"subject", b"date", b"message-id", b"cc",
        b"mime-version", b"content-type"]
with open(KEY["rsa"], "rb") as f:
    RSA_PEM = f.read()
for name, data, is_lf in MSGS:
    for mode, sel, key, alg, canon in (
            ("rsa relaxed", b"rsa", RSA_PEM, b"rsa-sha256", b"relaxed"),
            ("rsa simple", b"rsa", RSA_PEM, b"rsa-sha256", b"simple"),
            ("ed25519 relaxed", b"ed", ED_SEED, b"ed25519-sha256",
             b"relaxed")):
        sig = dkim.sign(data, sel, DOMAIN.encode(), key,
                        canonicalize=(canon, canon),
                        signature_algorithm=alg, include_headers=HDRS)
        check_mailsec("dkimpy", mode, name, sig + data, is_lf)
    src = write(name + "-crlf.eml", data)
    if ODK:
        for mode, sel, canon, alg in (("rsa relaxed", "rsa", "relaxed",
                                       "rsa"),
                                      ("rsa simple", "rsa", "simple", "rsa"),
                                      ("ed25519 relaxed", "ed", "relaxed",
                                       "ed25519")):
            keyfile = KEY[sel]
            r = run([ODK, "sign", keyfile, DOMAIN, sel, canon, alg, src])
            if r.returncode != 0 and deviation("opendkim", name,
                                               r.stderr.decode()):
                count("opendkim -> mailsec: peer refuses to sign a body "
                      "without final CRLF (%s)" % mode)
                continue
            if r.returncode != 0:
                failures.append("opendkim sign %s %s: %s" % (
                    name, mode, r.stderr.decode(errors="replace")))
                continue
            check_mailsec("opendkim", mode, name, r.stdout, is_lf)
    for mode, canon in (("rsa relaxed", "relaxed"), ("rsa simple",
                                                      "simple")):
        r = run(["perl", os.path.join(HERE, "maildkim_peer.pl"), "sign",
                 KEY_TRAD, DOMAIN, "rsa", canon, src])
        if r.returncode != 0:
            failures.append("Mail::DKIM sign %s %s: %s" % (
                name, mode, r.stderr.decode(errors="replace")))
            continue
        check_mailsec("Mail::DKIM", mode, name, r.stdout, is_lf)

dev = sum(v for k, v in counts.items() if "deviation" in k or
          "refuses" in k)
total = sum(counts.values()) - dev
for k in sorted(counts):
    print("%5d  %s" % (counts[k], k))
print("%d messages; %d checks as expected; %d known peer deviations "
      "(bodies without a final CRLF)" % (len(MSGS), total, dev))
for s in skipped:
    print("SKIPPED: " + s)
if failures:
    print("\n%d FAILURES:" % len(failures))
    for f in failures[:60]:
        print("  " + f)
    sys.exit(1)
