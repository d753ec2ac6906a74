#!/usr/bin/python3
"""
tests/unit/authres/oracle.py - python3-authres (Debian, authres 1.2.0) as
the oracle for the Authentication-Results we generate.

Runs authres_oracle_gen (argv[1]), which prints each generated field
value with the model our own parser reads back from it, parses each
value with authres (all extension modules: dmarc, arc, ...) and checks
that both agree on authserv-id, version, and per result method, method
version, result, reason and properties, in order.

authres behaviour this accounts for (core.py of 1.2.0):
- it lower-cases authserv-id, and keeps quoted-pairs of quoted-strings
  as written ("\\\"" stays two characters): both are normalised here;
- it knows only the ptypes smtp, header, body and policy and silently
  drops a property with any other ptype (our "arc.chain"), so those are
  expected absent from its answer.

Exit 0 all agree, 1 a difference, 77 authres is not installed (skipped).
"""
import re
import subprocess
import sys

try:
    import authres
except ImportError:
    print("SKIPPED: python3-authres not installed")
    sys.exit(77)

KNOWN_PTYPES = ("smtp", "header", "body", "policy")


def unhex(tok):
    if tok == "-":
        return None
    assert tok.startswith("x")
    return bytes.fromhex(tok[1:]).decode("utf-8")


def unquote_pairs(s):
    return None if s is None else re.sub(r"\\(.)", r"\1", s)


def read_cases(text):
    cases, cur = [], None
    for line in text.splitlines():
        f = line.split(" ")
        if f[0] == "CASE":
            cur = {"n": int(f[1]), "results": []}
        elif f[0] == "H":
            cur["value"] = unhex(f[1])
        elif f[0] == "A":
            cur["id"], cur["version"] = unhex(f[1]), int(f[2])
        elif f[0] == "R":
            cur["results"].append({"method": unhex(f[1]),
                                   "result": unhex(f[2]),
                                   "reason": unhex(f[3]),
                                   "version": int(f[4]), "props": []})
        elif f[0] == "P":
            cur["results"][-1]["props"].append(
                (unhex(f[1]), unhex(f[2]), unhex(f[3])))
        elif f[0] == "END":
            cases.append(cur)
    return cases


def compare(case, hdr):
    errs = []
    if hdr.authserv_id != case["id"].lower():
        errs.append("authserv-id %r vs %r" % (hdr.authserv_id, case["id"]))
    want_v = str(case["version"]) if case["version"] else None
    if hdr.version != want_v:
        errs.append("version %r vs %r" % (hdr.version, want_v))
    if len(hdr.results) != len(case["results"]):
        errs.append("%d results vs %d" % (len(hdr.results),
                                          len(case["results"])))
        return errs
    for i, (got, want) in enumerate(zip(hdr.results, case["results"])):
        if got.method != want["method"] or got.result != want["result"]:
            errs.append("result %d: %s=%s vs %s=%s" % (
                i, got.method, got.result, want["method"], want["result"]))
        mv = str(want["version"]) if want["version"] else None
        if got.version != mv:
            errs.append("result %d: method version %r vs %r" % (
                i, got.version, mv))
        reason = unquote_pairs(got.reason and str(got.reason))
        if reason != want["reason"]:
            errs.append("result %d: reason %r vs %r" % (
                i, reason, want["reason"]))
        gp = [(p.type, p.name, unquote_pairs(str(p.value)))
              for p in got.properties]
        wp = [p for p in want["props"] if p[0] in KNOWN_PTYPES]
        if gp != wp:
            errs.append("result %d: properties %r vs %r" % (i, gp, wp))
    return errs


def main():
    run = subprocess.run([sys.argv[1]], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    sys.stderr.write(run.stderr)
    if run.returncode != 0:
        print("authres_oracle_gen failed (exit %d)" % run.returncode)
        return 1
    cases = read_cases(run.stdout)
    ctx = authres.all_features()
    bad = 0
    for case in cases:
        try:
            hdr = ctx.parse_value(case["value"])
            errs = compare(case, hdr)
        except Exception as e:  # authres raises its own SyntaxError
            errs = ["authres refused it: %s" % e]
        if errs:
            bad += 1
            print("case %d: %r" % (case["n"], case["value"]))
            for e in errs:
                print("  " + e)
    print("authres oracle: %d/%d generated fields read the same by "
          "python3-authres" % (len(cases) - bad, len(cases)))
    if len(cases) < 30:
        print("too few cases")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
