#!/usr/bin/python3
"""Verifies a message with dkimpy, DNS from the arguments: its DKIM
signatures, or with --arc its ARC chain (dkim.arc_verify).

usage: dkimpy_verify.py MESSAGE NAME RECORD [NAME RECORD...]
       dkimpy_verify.py --arc WANT MESSAGE NAME RECORD [NAME RECORD...]
Exit 0 when every signature verifies (and there is one), or with --arc
when dkimpy's chain status is WANT (pass, fail, none; or several
separated by "|"); 1 when not, 77 when dkimpy is not installed
(python3-dkim).
"""
import sys

try:
    import dkim
except ImportError:
    sys.exit(77)

args = sys.argv[1:]
want = None
if args[:1] == ["--arc"]:
    want, args = args[1], args[2:]

DNS = {}
for i in range(1, len(args) - 1, 2):
    DNS[args[i].rstrip(".").lower() + "."] = args[i + 1].encode()


def dnsfunc(name, timeout=5):
    n = name.decode() if isinstance(name, bytes) else name
    return DNS.get(n.rstrip(".").lower() + ".")


def verify_arc(msg):
    try:
        cv, results, reason = dkim.arc_verify(msg, dnsfunc=dnsfunc)
    except dkim.DKIMException as e:
        cv, reason = b"exception", str(e)
    got = (cv or b"none").decode()
    if got not in want.split("|"):
        print("dkimpy: cv=%s, want %s (%s)" % (got, want, reason))
        return False
    return True


def verify_dkim(msg):
    hdr = msg.split(b"\r\n\r\n", 1)[0]
    nsig = sum(1 for line in hdr.split(b"\r\n")
               if line.lower().startswith(b"dkim-signature:"))
    ok = nsig > 0
    for i in range(nsig):
        try:
            good = dkim.DKIM(msg).verify(idx=i, dnsfunc=dnsfunc)
        except dkim.DKIMException as e:
            print("signature %d: %s" % (i, e))
            good = False
        if not good:
            print("signature %d does not verify" % i)
            ok = False
    return ok


with open(args[0], "rb") as f:
    msg = f.read()
sys.exit(0 if (verify_arc if want is not None else verify_dkim)(msg) else 1)
