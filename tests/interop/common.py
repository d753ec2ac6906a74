"""What the interop scripts share (tests/interop/{arc,dkim}/interop.py):
the tally of checks, running a command, a temporary directory, DKIM key
records built with openssl (independently of mailsec) and their zone-file
and dnsfunc forms.

A script puts tests/interop on sys.path and imports from here; failures,
counts and skipped are the one tally, appended to in place.
"""
import atexit
import base64
import os
import shutil
import subprocess
import tempfile

failures = []
counts = {}
skipped = []


def count(k):
    counts[k] = counts.get(k, 0) + 1


def run(cmd, inp=None):
    return subprocess.run(cmd, input=inp, capture_output=True)


def tmpdir(prefix):
    """A directory removed at exit."""
    t = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, t, True)
    return t


def write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def key_record(key, typ):
    """The DKIM key record of private key file KEY (typ rsa or ed25519),
    built from openssl's public key, not from mailsec's output."""
    der = run(["/usr/bin/openssl", "pkey", "-in", key, "-pubout",
               "-outform", "DER"]).stdout
    if typ == "ed25519":
        return "v=DKIM1; k=ed25519; p=" + base64.b64encode(
            der[-32:]).decode()
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def zone_txt(rec):
    """REC as the character-strings of a zone-file TXT record."""
    return " ".join('"%s"' % rec[i:i + 200] for i in range(0, len(rec), 200))


def make_dnsfunc(dnsmap):
    """A dkimpy dnsfunc answering from {b"name.": b"record"}."""
    def dnsfunc(name, timeout=5):
        return dnsmap.get(name if name.endswith(b".") else name + b".")
    return dnsfunc
