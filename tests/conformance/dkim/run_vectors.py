#!/usr/bin/python3
"""DKIM conformance runner: the vectors in $MAILSEC_TESTSUITES/dkim.

usage: run_vectors.py PATH/TO/mailsec

- rfc8463/: the RFC 8463 Appendix A message (two signatures) must pass;
  re-signing its message with the Appendix A keys must verify.
- dkimpy-data/: expected.yml verify cases (per-signature results) and
  sign inputs (sign with mailsec, verify with mailsec).
- mail-dkim-corpus/: expected.yml (pass / fail / invalid per message).
  RFC 8301 makes rsa-sha1 and RSA keys under 1024 bits unacceptable;
  where the corpus expects "pass" for those, an "invalid" with reason
  rsa-sha1 / key-too-short is the required answer and is counted apart.
  DomainKeys-only messages (RFC 4870) are out of scope and skipped.
Exit status: 0 all good, 1 a mismatch, 77 the suites are absent.
"""
import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

MAILSEC = sys.argv[1]
SUITES = os.environ.get("MAILSEC_TESTSUITES", "")
ROOT = os.path.join(SUITES, "dkim")
if not SUITES or not os.path.isdir(ROOT):
    print("SKIPPED: DKIM conformance suites not found "
          "(set MAILSEC_TESTSUITES; looked in %r)" % ROOT)
    sys.exit(77)

failures = []
counts = {}


def count(what):
    counts[what] = counts.get(what, 0) + 1


def zone_txt(data):
    """A TXT rdata in zone syntax: quoted strings of at most 255 bytes."""
    if data == "":
        return '""'
    out = []
    for i in range(0, len(data), 200):
        chunk = data[i:i + 200].replace("\\", "\\\\").replace('"', '\\"')
        out.append('"%s"' % chunk)
    return " ".join(out)


def verify(path, zone, extra=()):
    r = subprocess.run([MAILSEC, "dkim", "verify", "--json", "--dns-zone",
                        zone, "--dns-timeout", "200", *extra, path],
                       capture_output=True)
    if r.returncode != 0:
        return None, r.stderr.decode(errors="replace")
    return json.loads(r.stdout)["signatures"], ""


def sign(path, key, domain, selector, alg=None, extra=()):
    cmd = [MAILSEC, "dkim", "sign", "--key", key, "--domain", domain,
           "--selector", selector, *extra]
    if alg:
        cmd += ["--algorithm", alg]
    cmd.append(path)
    return subprocess.run(cmd, capture_output=True)


tmp = tempfile.mkdtemp(prefix="dkim-conf-")
atexit.register(shutil.rmtree, tmp, True)

# ---- RFC 8463 ---------------------------------------------------------
d = os.path.join(ROOT, "rfc8463")
zone = os.path.join(d, "dns.zone")
sigs, err = verify(os.path.join(d, "signed.eml"), zone)
if sigs is None or [s["result"] for s in sigs] != ["pass", "pass"]:
    failures.append("rfc8463 signed.eml: %r %s" % (sigs, err))
else:
    count("rfc8463 verify")
# The Appendix A message body and headers, signed again with its keys.
with open(os.path.join(d, "signed.eml"), "rb") as f:
    raw = f.read()
unsigned = re.sub(rb"(?ms)^DKIM-Signature:.*?\r\n(?=\S)", b"", raw)
upath = os.path.join(tmp, "rfc8463-unsigned.eml")
with open(upath, "wb") as f:
    f.write(unsigned)
for key, sel in (("ed25519.private.b64", "brisbane"),
                 ("rsa.private.pem", "test")):
    r = sign(upath, os.path.join(d, key), "football.example.com", sel,
             extra=("--time", "1528637909"))
    spath = os.path.join(tmp, "rfc8463-%s.eml" % sel)
    with open(spath, "wb") as f:
        f.write(r.stdout)
    sigs, err = verify(spath, zone)
    if r.returncode != 0 or sigs is None or sigs[0]["result"] != "pass":
        failures.append("rfc8463 re-sign %s: %s %r %s" % (
            sel, r.stderr.decode(errors="replace"), sigs, err))
    else:
        count("rfc8463 sign+verify")

# ---- dkimpy data ------------------------------------------------------
d = os.path.join(ROOT, "dkimpy-data")
with open(os.path.join(d, "dns.yml")) as f:
    dns = yaml.safe_load(f)
zone = os.path.join(tmp, "dkimpy.zone")
with open(zone, "w") as z:
    for name, val in dns.items():
        if "(" in name:
            continue        # must never be queried; not a valid name
        if val.startswith("@file "):
            with open(os.path.join(d, val[6:].strip())) as f:
                val = f.read().strip()
        z.write("%s IN TXT %s\n" % (name, zone_txt(val)))
with open(os.path.join(d, "expected.yml")) as f:
    exp = yaml.safe_load(f)
for case in exp["verify"]:
    sigs, err = verify(os.path.join(d, case["file"]), zone)
    want = case["signatures"]
    ok = sigs is not None and len(sigs) == len(want)
    if ok:
        for s, w in zip(sigs, want):
            if s["result"] != w["result"]:
                ok = False
            if "a" in w and s["algorithm"] != w["a"]:
                ok = False
            if "d" in w and s["domain"] != w["d"]:
                ok = False
    if ok:
        count("dkimpy verify")
    else:
        failures.append("dkimpy %s: got %r want %r %s" % (
            case["file"], sigs, want, err))
for case in exp["sign_inputs"]:
    path = os.path.join(d, case["file"])
    if "key" not in case:
        if "nofrom" in case["file"]:
            r = sign(path, os.path.join(d, "test.private"), "example.com",
                     "test")
            if r.returncode == 1 and b"From" in r.stderr:
                count("dkimpy sign refused (no From)")
            else:
                failures.append("dkimpy %s: signing must fail, got %d %s" %
                                (case["file"], r.returncode, r.stderr))
        continue
    for canon in ("relaxed/relaxed", "simple/simple"):
        r = sign(path, os.path.join(d, case["key"]), case["domain"],
                 case["selector"], case.get("algorithm"),
                 extra=("--canon", canon))
        spath = os.path.join(tmp, "dkimpy-signed.eml")
        with open(spath, "wb") as f:
            f.write(r.stdout)
        sigs, err = verify(spath, zone)
        if r.returncode != 0 or not sigs or sigs[0]["result"] != "pass":
            failures.append("dkimpy sign %s %s: %s %r %s" % (
                case["file"], canon, r.stderr.decode(errors="replace"),
                sigs, err))
        else:
            count("dkimpy sign+verify")

# ---- Mail::DKIM corpus --------------------------------------------------
d = os.path.join(ROOT, "mail-dkim-corpus")
zone = os.path.join(tmp, "maildkim.zone")
with open(os.path.join(d, "FAKE_DNS.dat")) as f, open(zone, "w") as z:
    for line in f:
        line = line.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith(("#", ";")):
            continue
        name, _, data = line.strip().partition(" ")
        data = data.strip()
        if data == "NXDOMAIN":
            continue
        if data.startswith("~~"):
            kind = "$SERVFAIL" if "SERVFAIL" in data else "$TIMEOUT"
            z.write("%s %s.\n" % (kind, name))
            continue
        if data == '""':
            data = ""
        z.write("%s. IN TXT %s\n" % (name, zone_txt(data)))
with open(os.path.join(d, "expected.yml")) as f:
    exp = yaml.safe_load(f)


# Where this corpus (older than RFC 6376 / RFC 8301) expects pass or fail
# and the standards now require the signature to be refused.
STRICT = {
    "rsa-sha1": "rsa-sha1 (RFC 8301 3.1)",
    "key-too-short": "RSA key under 1024 bits (RFC 8301 3.2)",
    "version": "pre-RFC 6376 signature, v= missing or not 1 "
               "(RFC 6376 3.5, 6.1.1: PERMFAIL)",
}


def category(s):
    return {"pass": "pass", "fail": "fail"}.get(s["result"], "invalid")


for case in exp["cases"]:
    types = case.get("signature_types", [])
    if "dkim" not in types:
        count("mail-dkim skipped (DomainKeys only, RFC 4870)")
        continue
    sigs, err = verify(os.path.join(d, case["file"]), zone)
    if sigs is None:
        failures.append("mail-dkim %s: %s" % (case["file"], err))
        continue
    cats = [category(s) for s in sigs]
    overall = ("pass" if "pass" in cats else "fail" if "fail" in cats
               else "invalid")
    want = case["expect"]
    per = case.get("per_signature")
    same = False
    if per is not None and "domainkeys" not in types:
        # Upstream lists the signatures it could parse; a trailing
        # unparseable one ("DKIM-Signature: synerr") is ours alone.
        got_per = cats[:len(per)]
        rfc8301 = [s["reason_code"] in STRICT for s in sigs]
        same = len(per) == len(got_per) and all(
            g == w or (w != "invalid" and g == "invalid" and r)
            for g, w, r in zip(got_per, per, rfc8301))
        if not same:
            failures.append("mail-dkim %s per-signature: got %r want %r" %
                            (case["file"], got_per, per))
            continue
    if overall == want:
        count("mail-dkim as expected")
    elif (want != "invalid" and overall == "invalid" and
          all(s["reason_code"] in STRICT for s in sigs)):
        for code in sorted(set(s["reason_code"] for s in sigs)):
            count("mail-dkim %s -> invalid: %s" % (want, STRICT[code]))
    elif same and all(s["reason_code"] in STRICT or c == "invalid"
                      for s, c in zip(sigs, per + ["invalid"] * 9)
                      if c != category(s)):
        count("mail-dkim %s -> invalid, per-signature results match "
              "except RFC 8301 refusals" % want)
    elif "domainkeys" in types and overall in ("invalid", want):
        count("mail-dkim mixed DKIM/DomainKeys, DKIM part checked")
    else:
        failures.append("mail-dkim %s: got %s %r, want %s" % (
            case["file"], overall,
            [(s["result"], s["reason"]) for s in sigs], want))

for k in sorted(counts):
    print("%4d  %s" % (counts[k], k))
if failures:
    print("\n%d FAILURES:" % len(failures))
    for f in failures:
        print("  " + f)
    sys.exit(1)
print("all DKIM vectors as expected")
