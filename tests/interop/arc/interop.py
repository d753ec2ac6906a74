#!/usr/bin/python3
"""ARC interop, both ways, with dkimpy (python3-dkim: dkim.arc_sign,
dkim.arc_verify).

usage: interop.py MAILSEC

Over a dozen messages (folded and repeated headers, trailing whitespace,
empty body, no final CRLF, 8-bit, a DKIM-Signature already present):
  mailsec seals 1, 2 and 3 hops (rsa-sha256; ed25519-sha256; both mixed;
    the RFC form and the sorted form) -> dkimpy arc_verify says pass, and
    fail once the body is changed;
  dkimpy seals 1, 2 and 3 hops (rsa-sha256: dkimpy's ARC signer knows no
    other algorithm) -> mailsec arc verify says pass with the right
    number of sets, and fail once the body is changed;
  chains alternating dkimpy and mailsec hops -> both say pass.
dkimpy reads its DNS from a dnsfunc; mailsec from a zone file with the same
records. Ed25519 chains go to dkimpy's verifier too; if this dkimpy cannot
verify them, that is counted and reported as SKIPPED, not passed.
"""
import json
import os
import sys

import dkim

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from common import (  # noqa: E402
    count, counts, failures, key_record, make_dnsfunc, run, skipped, tmpdir,
    write_file, zone_txt)

MAILSEC = sys.argv[1]
T = tmpdir("arc-interop-")


# ---- keys and DNS ---------------------------------------------------------
HOPS = {  # name: (domain, selector, type)
    "rsa1": ("list.example", "rsa1", "rsa"),
    "rsa2": ("fwd.example", "rsa2", "rsa"),
    "ed1": ("edlist.example", "ed1", "ed25519"),
    "ed2": ("edfwd.example", "ed2", "ed25519"),
}
KEY, RECORD = {}, {}
for h, (dom, sel, typ) in HOPS.items():
    r = run([MAILSEC, "dkim", "keygen", "--domain", dom, "--selector", sel,
             "--type", typ, "--out", T])
    if r.returncode != 0:
        print("keygen failed: %s" % r.stderr.decode())
        sys.exit(1)
    KEY[h] = os.path.join(T, "%s.%s.private" % (sel, dom))
    RECORD[h] = key_record(KEY[h], typ)
ZONE = os.path.join(T, "z.zone")
with open(ZONE, "w") as z:
    for h, (dom, sel, typ) in HOPS.items():
        z.write("%s._domainkey.%s. IN TXT %s\n" % (sel, dom,
                                                   zone_txt(RECORD[h])))
dnsfunc = make_dnsfunc({("%s._domainkey.%s." % (HOPS[h][1], HOPS[h][0]))
                        .encode(): RECORD[h].encode() for h in HOPS})


# ---- messages -------------------------------------------------------------
def messages():
    base = [
        "From: Alice <alice@orig.example>",
        "To: list@list.example",
        "Subject: interop %d",
        "Date: Mon, 01 Jan 2024 10:00:00 +0000",
        "Message-ID: <%d.arc@orig.example>",
    ]
    bodies = [
        "Hello list.\r\n",
        "",
        "no final line break",
        "trailing  \t\r\nspaces   \r\n\r\n\r\n",
        "8-bit: \u00e9\u00e8 \u20ac\r\n",
        ("L" * 1500) + "\r\nshort\r\n",
    ]
    out = []
    for i in range(12):
        h = [x % i if "%d" in x else x for x in base]
        if i % 3 == 1:
            h[2] = "Subject: folded %d\r\n\tcontinued" % i
        if i % 4 == 2:
            h.insert(0, "Received: from a by b; Mon, 1 Jan 2024 10:00:00 +0000")
            h.insert(0, "Received: from c by d; Mon, 1 Jan 2024 10:00:01 +0000")
            h.append("Cc: c1@example.net")
        if i % 5 == 3:
            h.insert(0, "DKIM-Signature: v=1; a=rsa-sha256; d=orig.example; "
                     "s=x; h=from; bh=AAAA; b=AAAA")
        body = bodies[i % len(bodies)]
        out.append(("m%02d" % i, ("\r\n".join(h) + "\r\n\r\n" + body)
                    .encode("utf-8")))
    return out


def tamper(m):
    head, _, body = m.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n" + body + b"tampered\r\n"


# ---- the two sealers and verifiers ----------------------------------------
def write(name, data):
    return write_file(os.path.join(T, name), data)


def mailsec_verify(data):
    p = write("v.eml", data)
    r = run([MAILSEC, "arc", "verify", "--json", "--dns-zone", ZONE, p])
    if r.returncode != 0:
        return {"result": "error", "reason": r.stderr.decode()}
    return json.loads(r.stdout)


SRV = [0]


def srv_id(dom):
    """A new authserv-id per hop: a hop must not find (and copy) the
    Authentication-Results of an earlier hop of the same domain."""
    SRV[0] += 1
    return "mx%d.%s" % (SRV[0], dom)


def mailsec_seal(data, hop, sorted_form=False):
    dom, sel, typ = HOPS[hop]
    p = write("s.eml", data)
    cmd = [MAILSEC, "arc", "seal", "--dns-zone", ZONE, "--domain", dom,
           "--selector", sel, "--key", KEY[hop], "--authserv-id",
           srv_id(dom), "--ip", "192.0.2.1", "--mail-from",
           "alice@orig.example"]
    if sorted_form:
        cmd.append("--sorted")
    r = run(cmd + [p])
    if r.returncode != 0:
        raise RuntimeError("mailsec seal: " + r.stderr.decode())
    return r.stdout


def dkimpy_verify(data):
    cv, results, reason = dkim.arc_verify(data, dnsfunc=dnsfunc)
    return (cv or b"none").decode(), reason


def dkimpy_seal(data, hop):
    """dkimpy takes the new cv= from the arc= result of our
    Authentication-Results: give it the chain's status, as a receiving
    MTA would have recorded it."""
    dom, sel, typ = HOPS[hop]
    cv, _ = dkimpy_verify(data)
    srv = srv_id(dom)
    ar = ("Authentication-Results: %s; arc=%s; spf=pass "
          "smtp.mailfrom=alice@orig.example\r\n" % (srv, cv)).encode()
    with open(KEY[hop], "rb") as f:
        pk = f.read()
    msg = ar + data
    sigs = dkim.arc_sign(msg, sel.encode(), dom.encode(), pk, srv.encode(),
                         timestamp=1700000000)
    if not sigs:
        raise RuntimeError("dkimpy did not seal")
    return b"".join(sigs) + msg


def check(what, got, want, detail=""):
    count("checks")
    if got != want:
        failures.append("%s: got %s, want %s %s" % (what, got, want, detail))


# ---- mailsec seals, dkimpy verifies ----------------------------------------
CHAINS = {
    "rsa 1 hop": ["rsa1"],
    "rsa 2 hops": ["rsa1", "rsa2"],
    "rsa 3 hops": ["rsa1", "rsa2", "rsa1"],
    "ed25519 1 hop": ["ed1"],
    "ed25519 3 hops": ["ed1", "ed2", "ed1"],
    "mixed 3 hops": ["ed1", "rsa2", "ed2"],
}
ed_skipped = 0
ed_reason = ""
for name, m in messages():
    for cname, hops in CHAINS.items():
        for sorted_form in (False, True):
            data = m
            for h in hops:
                data = mailsec_seal(data, h, sorted_form)
            label = "%s %s%s" % (name, cname, " sorted" if sorted_form
                                 else "")
            ours = mailsec_verify(data)
            check(label + ": mailsec", (ours["result"], ours["instances"]),
                  ("pass", len(hops)), ours.get("reason", ""))
            try:
                cv, reason = dkimpy_verify(data)
            except Exception as e:  # dkimpy raising is a failure to verify
                cv, reason = "exception", str(e)
            if cv != "pass" and any(HOPS[h][2] == "ed25519" for h in hops):
                ed_skipped += 1
                ed_reason = reason
                continue
            check(label + ": dkimpy", cv, "pass", reason)
            count("mailsec->dkimpy")
            bad = tamper(data)
            check(label + " tampered: dkimpy", dkimpy_verify(bad)[0],
                  "fail")
            check(label + " tampered: mailsec",
                  mailsec_verify(bad)["result"], "fail")
if ed_skipped:
    skipped.append("%d Ed25519 chains to dkimpy: its ARC verifier says "
                   "\"%s\" (mailsec verified them all)" % (ed_skipped,
                                                         ed_reason))

# ---- dkimpy seals, mailsec verifies -----------------------------------------
for name, m in messages():
    data = m
    for n, hop in enumerate(["rsa1", "rsa2", "rsa1"], 1):
        data = dkimpy_seal(data, hop)
        cv, reason = dkimpy_verify(data)
        check("%s dkimpy %d hops: dkimpy itself" % (name, n), cv, "pass",
              reason)
        ours = mailsec_verify(data)
        check("%s dkimpy %d hops: mailsec" % (name, n),
              (ours["result"], ours["instances"], ours["oldest_pass"]),
              ("pass", n, 0), ours.get("reason", ""))
        count("dkimpy->mailsec")
        check("%s dkimpy %d hops tampered: mailsec" % (name, n),
              mailsec_verify(tamper(data))["result"], "fail")

# ---- alternating hops --------------------------------------------------------
for name, m in messages()[:6]:
    data = dkimpy_seal(m, "rsa1")
    data = mailsec_seal(data, "rsa2")
    data = dkimpy_seal(data, "rsa1")
    data = mailsec_seal(data, "ed2")
    ours = mailsec_verify(data)
    check(name + " alternating: mailsec", (ours["result"],
          ours["instances"]), ("pass", 4), ours.get("reason", ""))
    count("alternating")
    data3 = dkimpy_seal(mailsec_seal(dkimpy_seal(m, "rsa1"), "rsa2"), "rsa1")
    check(name + " alternating 3: dkimpy", dkimpy_verify(data3)[0], "pass")
    check(name + " alternating 3: mailsec", mailsec_verify(data3)["result"],
          "pass")

for s in skipped:
    print("SKIPPED: " + s)
for f in failures:
    print("FAIL: " + f)
print("arc interop: %d checks, %d failed; %s" % (
    counts.get("checks", 0), len(failures),
    ", ".join("%s %d" % kv for kv in sorted(counts.items())
              if kv[0] != "checks")))
sys.exit(1 if failures else 0)
