#!/usr/bin/python3
"""Verifies a DKIM-signed message with dkimpy, DNS from the arguments.

usage: dkimpy_verify.py MESSAGE NAME RECORD [NAME RECORD...]
Exit 0 when every signature verifies, 1 when not, 77 when dkimpy is not
installed (python3-dkim).
"""
import sys

try:
    import dkim
except ImportError:
    sys.exit(77)

DNS = {}
for i in range(2, len(sys.argv) - 1, 2):
    DNS[sys.argv[i].rstrip(".").lower() + "."] = sys.argv[i + 1].encode()


def dnsfunc(name, timeout=5):
    n = name.decode() if isinstance(name, bytes) else name
    return DNS.get(n.rstrip(".").lower() + ".")


with open(sys.argv[1], "rb") as f:
    msg = f.read()
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
sys.exit(0 if ok else 1)
