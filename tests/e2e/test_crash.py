#!/usr/bin/python3
"""Crash test of `mailsec serve` (issue 7, docs/queue.md "Why 250 is safe").

usage: test_crash.py --bin PATH/TO/mailsec [--kills N] [--clients N]
                     [--seed N]

The daemon (two workers, DNS from e2e.zone, local domain localhost) runs
while several smtplib clients send distinct messages (a unique
Message-ID and body each, some with two recipients, some big enough to
stream to the spool before the commit). Again and again, at a random
moment, the test SIGKILLs it: sometimes one worker first (the master
respawns it), then the master and all workers at once; then it starts
the daemon again. After the last kill a clean daemon delivers whatever
is still queued and stops on SIGTERM. Then every Maildir file is read:

  - every message that got "250" is delivered to each recipient exactly
    once, its bytes identical to what was sent after the header fields
    the gateway prepends;
  - a message that got no "250" is absent or delivered once to each of
    its recipients (committed but not acknowledged: RFC 5321 6.1);
  - nothing is left in queue/incoming/ and nothing in queue/corrupt/.

It prints the counts (acknowledged, delivered, duplicates, lost) and
exits 0 pass, 1 fail. Bounded: about 30 s, far less than CTest's limit.

With --delivery (issue 8, CTest e2e_crash_delivery) it checks remote
delivery instead: the daemon (mx.a.test on 127.0.0.2, DNS from
delivery.zone) delivers a few messages to a fake SMTP server on
127.0.0.3 that takes each message's data but sits on its reply to the
final dot; the test SIGKILLs the daemon (workers and master) while those
deliveries are in flight, lets the fake answer from then on, starts the
daemon again and waits for the queue to drain. Every message must then
have been accepted by the fake (nothing lost) and sent at most twice,
the second time only if it was in flight at the kill.
"""
import argparse
import fcntl
import os
import random
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_lib as lib  # noqa: E402
from e2e_lib import Fail, check  # noqa: E402
import test_gateway as tg  # noqa: E402  (Gateway: config, ports, dirs)

USERS = ["u0", "u1", "u2", "u3"]
SENDER = "crash@nowhere.test"
MSGID_RE = re.compile(rb"(?mi)^Message-ID: <crash-(\d+)@e2e\.test>\r$")
FIELD_RE = re.compile(rb"[A-Za-z0-9-]+:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*")


def build_message(n, rcpts, big):
    """Unique Message-ID and body; CRLF lines; dots at line starts."""
    lines = ["line %d of message %d .. %s" % (i, n, "x" * (i % 50))
             for i in range(3000 if big else 20 + n % 40)]
    body = "\r\n".join(lines) + "\r\n.dot-start %d\r\n" % n
    return ("From: <%s>\r\nTo: %s\r\nSubject: crash test %d\r\n"
            "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
            "Message-ID: <crash-%d@e2e.test>\r\n\r\n%s" %
            (SENDER, ", ".join("<%s>" % r for r in rcpts), n, n,
             body)).encode()


def group_alive(pgid):
    """True while a process of group pgid runs (zombies don't count)."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def children(ppid):
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[1]) == ppid and fields[0] != "Z":
            out.append(int(pid))
    return out


class Daemon:
    """Starts, kills and stops `mailsec serve` in its own process group."""

    def __init__(self, gw):
        self.gw = gw
        self.proc = None
        self.runs = 0
        self.logs = []

    def start(self, timeout=30):
        deadline = time.time() + timeout
        while True:
            path = os.path.join(self.gw.dir, "daemon-%d.log" % self.runs)
            self.runs += 1
            self.logs.append(path)
            log = open(path, "w")
            self.proc = subprocess.Popen(
                [lib.BIN, "serve", "--config", self.gw.conf,
                 "--foreground"], stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
            log.close()
            if lib.wait_listening(self.proc, [("127.0.0.1", self.gw.mx)],
                                  deadline, poll=0.02):
                return
            with open(path, errors="replace") as f:
                text = f.read()
            check(time.time() < deadline,
                  "daemon did not start:\n" + text[-3000:])
            # A dying predecessor may still hold the spool: try again.
            check("recovery failed" in text,
                  "daemon exited at start:\n" + text[-3000:])
            time.sleep(0.1)

    def kill_worker(self):
        kids = children(self.proc.pid)
        if kids:
            os.kill(random.choice(kids), signal.SIGKILL)
        return len(kids) > 0

    def kill_all(self):
        pgid = self.proc.pid
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        deadline = time.time() + 20
        while group_alive(pgid):
            check(time.time() < deadline, "killed workers linger")
            time.sleep(0.01)
        # The spool lock is free once the last worker is gone.
        lock = os.path.join(self.gw.state, "queue", "lock")
        while True:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                check(time.time() < deadline, "spool lock stays held")
                time.sleep(0.01)
            finally:
                os.close(fd)
        self.proc = None

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(40)
        except subprocess.TimeoutExpired:
            self.kill_all()
            raise Fail("daemon did not stop on SIGTERM")
        self.proc = None
        check(rc == 0, "daemon exit status %d:\n%s" % (rc,
              self.read(self.logs[-1])[-3000:]))

    @staticmethod
    def read(path):
        with open(path, errors="replace") as f:
            return f.read()


class Clients:
    """Client threads; every attempt gets a new message number."""

    def __init__(self, port, n, big_every=9):
        self.port = port
        self.n = n
        self.big_every = big_every
        self.lock = threading.Lock()
        self.next = 0
        self.sent = {}          # n -> (rcpts, bytes)
        self.acked = set()
        self.refused = {}       # n -> reply (4xx/5xx: not acknowledged)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,))
                        for i in range(n)]

    def new_message(self, tid):
        with self.lock:
            n = self.next
            self.next += 1
        rcpts = ["%s@localhost" % USERS[(n + tid) % len(USERS)]]
        if n % 3 == 0:
            rcpts.append("%s@localhost" % USERS[(n + tid + 1) % len(USERS)])
        data = build_message(n, rcpts, n % self.big_every == 0)
        with self.lock:
            self.sent[n] = (rcpts, data)
        return n, rcpts, data

    def run(self, tid):
        while not self.stop.is_set():
            try:
                s = smtplib.SMTP("127.0.0.1", self.port, timeout=10)
                s.ehlo("crash%d.e2e.test" % tid)
            except (OSError, smtplib.SMTPException):
                time.sleep(0.02)
                continue
            try:
                while not self.stop.is_set():
                    n, rcpts, data = self.new_message(tid)
                    try:
                        s.sendmail(SENDER, rcpts, data)
                    except smtplib.SMTPResponseException as e:
                        with self.lock:
                            self.refused[n] = e.smtp_code
                        if e.smtp_code == 421:
                            break
                        continue
                    except smtplib.SMTPRecipientsRefused as e:
                        with self.lock:
                            self.refused[n] = repr(e.recipients)
                        continue
                    with self.lock:
                        self.acked.add(n)
            except (OSError, smtplib.SMTPException):
                pass    # killed under us: reconnect
            finally:
                try:
                    s.close()
                except OSError:
                    pass

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)
            check(not t.is_alive(), "a client thread hangs")


def scan_maildirs(state):
    """{(n, user): [file bytes, ...]} for every delivered crash message."""
    found = {}
    other = []
    root = os.path.join(state, "mail", "localhost")
    if not os.path.isdir(root):
        return found, other
    for user in os.listdir(root):
        for sub in ("new", "cur"):
            d = os.path.join(root, user, sub)
            if not os.path.isdir(d):
                continue
            for name in os.listdir(d):
                with open(os.path.join(d, name), "rb") as f:
                    data = f.read()
                m = MSGID_RE.search(data)
                if m is None:
                    other.append(os.path.join(d, name))
                    continue
                found.setdefault((int(m.group(1)), user), []).append(data)
    return found, other


def verify(cl, state):
    found, other = scan_maildirs(state)
    check(not other, "files that are no crash message: %r" % other[:5])
    lost, dups, bad = [], [], []
    delivered_acked = unacked_present = 0
    for n, (rcpts, data) in sorted(cl.sent.items()):
        users = [r.split("@")[0] for r in rcpts]
        copies = [found.pop((n, u), []) for u in users]
        for u, c in zip(users, copies):
            if len(c) > 1:
                dups.append((n, u, len(c)))
            for got in c:
                # the message as sent, after whole prepended fields
                prefix = got[:-len(data)] if got.endswith(data) else None
                if prefix is None or FIELD_RE.sub(b"", prefix) != b"" or \
                        not prefix.startswith(b"Return-Path: <%s>\r\n" %
                                              SENDER.encode()):
                    bad.append((n, u))
        present = [len(c) > 0 for c in copies]
        if n in cl.acked:
            if all(present):
                delivered_acked += 1
            for u, p in zip(users, present):
                if not p:
                    lost.append((n, u))
        elif any(present):
            unacked_present += 1
            # committed but never acknowledged: delivered whole or not
            if not all(present):
                lost.append((n, "partial"))
    check(not found, "deliveries of messages never sent: %r" %
          sorted(found)[:5])
    return delivered_acked, unacked_present, lost, dups, bad


def message_ids(txs):
    """The Message-IDs of the capture server's transactions txs."""
    out = []
    for tx in txs:
        m = re.search(rb"(?mi)^Message-ID: <([^>]+)>", tx["data"])
        out.append(m.group(1).decode() if m else "?")
    return out


def delivery_crash():
    """--delivery: SIGKILL while deliveries wait for the final dot."""
    import test_delivery as td
    ip = lib.unbindable([td.IP_A, td.IP_B])
    if ip is not None:
        print("SKIP: cannot bind %s" % ip)
        return lib.SKIP
    top = tempfile.mkdtemp(prefix="mailsec-e2e-crashdlv-")
    port = lib.free_port([td.IP_A, td.IP_B])
    zone = os.path.join(top, "dns.zone")
    shutil.copy(td.ZONE, zone)
    # The receiving MTA takes each message's data but, while hold is set,
    # does not answer the final dot (the session stays until A dies).
    mx = lib.Capture((td.IP_B, port))
    mx.hold.set()
    mx.start()
    a = td.Instance(top, "a", td.IP_A, ["a.test"], port, zone, None)
    rc = 1
    n = 4
    try:
        a.start()
        mids = []
        for i in range(n):
            msg = a.submit(["bob%d@b.test" % i], subject="crash dlv %d" % i)
            mids.append(re.search(r"Message-ID: <([^>]+)>", msg).group(1))
        deadline = time.time() + 30
        while True:
            with mx.lock:
                held = set(message_ids(mx.held))
            if len(held) >= 2 or (held and time.time() > deadline - 20):
                break
            check(time.time() < deadline, "no delivery reached the dot:\n"
                  + a.read_log()[-3000:])
            time.sleep(0.05)
        # The crash: workers and master at once, mid-delivery.
        for pid in children(a.proc.pid):
            os.kill(pid, signal.SIGKILL)
        a.proc.kill()
        a.proc.wait()
        a.log.close()
        a.proc = None
        time.sleep(0.5)
        with mx.lock:
            in_flight = set(message_ids(mx.held))
        mx.hold.clear()
        a.start()
        deadline = time.time() + 60
        while True:
            left = os.listdir(os.path.join(a.state, "queue", "incoming"))
            if not left:
                break
            check(time.time() < deadline, "queue not drained: %r\n%s" %
                  (left, a.read_log()[-3000:]))
            time.sleep(0.1)
        a.stop()
        with mx.lock:
            sent = message_ids(mx.arrived)
            accepted = message_ids(mx.got)
        lost = [m for m in mids if m not in accepted]
        twice = [m for m in mids if sent.count(m) > 2]
        repeated = [m for m in mids if sent.count(m) == 2]
        wrong = [m for m in repeated if m not in in_flight]
        dup250 = [m for m in mids if accepted.count(m) > 1]
        print("delivery crash test: %d messages, %d in flight at the kill, "
              "%d sent again after it, lost %d" % (
                  n, len(in_flight), len(repeated), len(lost)))
        check(not lost, "lost: %r" % lost)
        check(not twice, "sent more than twice: %r" % twice)
        check(not wrong, "repeated but not in flight: %r" % wrong)
        check(not dup250, "accepted twice: %r" % dup250)
        check(in_flight, "nothing was in flight at the kill")
        rc = 0
        print("PASS crash delivery")
    except Fail as e:
        print("FAIL crash delivery: %s" % e)
    finally:
        mx.close()
        if a.proc is not None:
            for pid in children(a.proc.pid):
                os.kill(pid, signal.SIGKILL)
            a.proc.kill()
            a.proc.wait()
        if rc == 0:
            shutil.rmtree(top, ignore_errors=True)
        else:
            print("state kept in %s" % top)
    return rc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--kills", type=int, default=12)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--delivery", action="store_true")
    a = ap.parse_args()
    lib.BIN = os.path.abspath(a.bin)
    random.seed(a.seed)
    if a.delivery:
        return delivery_crash()

    gw = tg.Gateway(limits={"connections_per_ip": 200,
                            "timeout_command": "20s",
                            "timeout_data": "20s"})
    gw.write_config()
    with open(gw.conf) as f:
        text = f.read()
    with open(gw.conf, "w") as f:
        f.write(text.replace("workers 1;", "workers 2;"))
    d = Daemon(gw)
    cl = Clients(gw.mx, a.clients)
    t0 = time.time()
    kills = worker_kills = 0
    rc = 0
    try:
        r = lib.run([lib.BIN, "serve", "--config", gw.conf,
                     "--check-config"])
        check(r.returncode == 0, "--check-config: " + r.stderr + r.stdout)
        d.start(timeout=60)         # the first start makes keys
        cl.start()
        for i in range(a.kills):
            time.sleep(random.uniform(0.3, 1.5))
            if i % 3 == 1 and d.kill_worker():
                worker_kills += 1
                time.sleep(random.uniform(0.05, 0.6))
            d.kill_all()
            kills += 1
            time.sleep(random.uniform(0.0, 0.2))
            d.start()
        time.sleep(random.uniform(0.3, 1.0))
        cl.join()
        # The last word is a crash too; then a clean run drains.
        d.kill_all()
        kills += 1
        d.start()
        incoming = os.path.join(gw.state, "queue", "incoming")
        deadline = time.time() + 30
        while os.listdir(incoming):
            check(time.time() < deadline, "queue not drained: %d left" %
                  len(os.listdir(incoming)))
            time.sleep(0.05)
        d.stop()
        for path in d.logs:
            lib.check_log_clean(d.read(path), os.path.basename(path),
                                lib.SANITIZER_WORDS)
        check(not os.listdir(os.path.join(gw.state, "queue", "corrupt")),
              "corrupt queue files")
        delivered, unacked_present, lost, dups, badbytes = verify(
            cl, gw.state)
        print("crash test: %d kills (%d of a worker first), %d starts, "
              "%.1f s, seed %d" % (kills, worker_kills, d.runs,
                                   time.time() - t0, a.seed))
        print("messages: attempted %d, acknowledged %d, delivered %d "
              "(of the acknowledged), refused %d, unacknowledged but "
              "delivered %d" % (len(cl.sent), len(cl.acked), delivered,
                                len(cl.refused), unacked_present))
        print("duplicates = %d, lost = %d, bytes differ = %d" %
              (len(dups), len(lost), len(badbytes)))
        check(not dups, "duplicates: %r" % dups[:10])
        check(not lost, "lost: %r" % lost[:10])
        check(not badbytes, "bytes differ: %r" % badbytes[:10])
        check(delivered == len(cl.acked), "acknowledged %d, delivered %d"
              % (len(cl.acked), delivered))
        # Without traffic across the kills the test proves nothing.
        check(len(cl.acked) >= a.kills,
              "only %d messages acknowledged" % len(cl.acked))
    except Fail as e:
        print("FAIL crash: %s" % e)
        rc = 1
    finally:
        cl.stop.set()
        if d.proc is not None:
            try:
                os.killpg(d.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            d.proc.wait()
        if rc == 0:
            gw.cleanup()
        else:
            print("state kept in %s" % gw.dir)
    if rc == 0:
        print("PASS crash")
    return rc


if __name__ == "__main__":
    sys.exit(main())
