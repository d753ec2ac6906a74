#!/usr/bin/python3
"""ARC-validates a message with dkimpy (dkim.arc_verify), DNS from the
arguments.

usage: dkimpy_arc_verify.py MESSAGE WANT NAME RECORD [NAME RECORD...]
Exit 0 when dkimpy's chain status is WANT (pass, fail, none; or several
separated by "|"), 1 when not,
77 when dkimpy is not installed (python3-dkim).
"""
import sys

try:
    import dkim
except ImportError:
    sys.exit(77)

DNS = {}
for i in range(3, len(sys.argv) - 1, 2):
    DNS[sys.argv[i].rstrip(".").lower() + "."] = sys.argv[i + 1].encode()


def dnsfunc(name, timeout=5):
    n = name.decode() if isinstance(name, bytes) else name
    return DNS.get(n.rstrip(".").lower() + ".")


with open(sys.argv[1], "rb") as f:
    msg = f.read()
try:
    cv, results, reason = dkim.arc_verify(msg, dnsfunc=dnsfunc)
except dkim.DKIMException as e:
    cv, reason = b"exception", str(e)
got = (cv or b"none").decode()
if got not in sys.argv[2].split("|"):
    print("dkimpy: cv=%s, want %s (%s)" % (got, sys.argv[2], reason))
    sys.exit(1)
sys.exit(0)
