"""Network namespaces for the bandwidth benches: made here, torn down here, nothing outside them.

A `Lab` is a set of network namespaces named PREFIX-<role> (at most 4 characters for the role),
joined by veth pairs whose ends are created directly inside their namespaces
(`ip link add A netns X type veth peer name B netns Y`), so the machine's own namespace never
holds one of them nor an address. IPv6 is switched off in every namespace the lab makes: the
links carry IPv4 only, so every packet passes the rate caps and the loss relay the same way, and
no browser or server offers a link-local IPv6 candidate.

  lab = Lab("rtcam-adapt-123")
  lab.namespace("srv"); lab.namespace("va")
  lab.link("srv", "s-a", "10.77.1.1/24", "va", "v-a", "10.77.1.2/24")
  lab.cap("srv", "s-a", 250_000)            # tc tbf: the rate, a 10 kB burst, 200 ms of queue
  lab.uncap("srv", "s-a")
  in_netns(lab.name("srv"), fn, *args)      # fn runs on a thread inside that namespace
  lab.exec_prefix("srv") + [cmd...]         # a command run inside it
  lab.close()                               # ends what still runs inside, deletes the namespaces

Needs root and iproute2 (ip, tc). The kernel's sch_netem is absent on these machines; sch_tbf is
there (see tools/perf/relay.py for loss).
"""
import ctypes
import os
import signal
import subprocess
import threading
import time

CLONE_NEWNET = 0x40000000  # <sched.h>: setns() into a network namespace
_libc = ctypes.CDLL(None, use_errno=True)

# The link the issue measures (issue 19): tbf with a 10 kB bucket and 200 ms of queue, like a
# router's shallow buffer. "kb" is kilobytes to tc.
TBF_BURST = "10kb"
TBF_LATENCY = "200ms"
COMMAND_TIMEOUT_S = 20  # one ip/tc command; they take milliseconds


def run(cmd, check=True):
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r


def enter_netns(ns):
    """Moves the calling thread (only it) into network namespace `ns` (a name under /run/netns)."""
    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns(%s): %s" % (ns, os.strerror(e)))
    finally:
        os.close(fd)


def in_netns(ns, fn, *args, **kwargs):
    """Calls fn(*args, **kwargs) on a new thread that has joined network namespace `ns`: the
    sockets it opens live there. Returns fn's result or raises its error."""
    box = {}

    def body():
        try:
            enter_netns(ns)
            box["value"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 (handed to the caller)
            box["error"] = e

    t = threading.Thread(target=body, daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def thread_in_netns(ns, fn, *args):
    """A started daemon thread running fn(*args) inside network namespace `ns`."""
    def body():
        enter_netns(ns)
        fn(*args)

    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t


def rate_arg(bits_per_s):
    return "%dbit" % bits_per_s


class Lab:
    def __init__(self, prefix):
        self.prefix = prefix
        self.made = []

    def name(self, role):
        return "%s-%s" % (self.prefix, role)

    def exec_prefix(self, role):
        """Words that run a command inside the namespace (ip netns exec execs it: same pid)."""
        return ["ip", "netns", "exec", self.name(role)]

    def namespace(self, role):
        ns = self.name(role)
        run(["ip", "netns", "add", ns])
        self.made.append(ns)
        run(self.exec_prefix(role) + ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                                      "net.ipv6.conf.default.disable_ipv6=1"])
        run(self.exec_prefix(role) + ["ip", "link", "set", "lo", "up"])
        return ns

    def link(self, role_a, if_a, addr_a, role_b, if_b, addr_b):
        """A veth pair from namespace role_a (end if_a) to role_b (end if_b); an address of None
        leaves that end without one (a relay's end)."""
        run(["ip", "link", "add", if_a, "netns", self.name(role_a), "type", "veth",
             "peer", "name", if_b, "netns", self.name(role_b)])
        for role, ifname, addr in ((role_a, if_a, addr_a), (role_b, if_b, addr_b)):
            if addr:
                run(["ip", "-n", self.name(role), "addr", "add", addr, "dev", ifname])
            run(["ip", "-n", self.name(role), "link", "set", ifname, "up"])

    def promisc(self, role, ifname):
        run(["ip", "-n", self.name(role), "link", "set", ifname, "promisc", "on"])

    def cap(self, role, ifname, bits_per_s):
        """Caps the interface's egress (replaces the qdisc in place: a step keeps the queue)."""
        run(["tc", "-n", self.name(role), "qdisc", "replace", "dev", ifname, "root", "tbf",
             "rate", rate_arg(bits_per_s), "burst", TBF_BURST, "latency", TBF_LATENCY])

    def uncap(self, role, ifname):
        r = run(["tc", "-n", self.name(role), "qdisc", "del", "dev", ifname, "root"], check=False)
        # "No such file or directory" / "Cannot delete qdisc with handle of zero": nothing to delete
        if r.returncode != 0 and "handle of zero" not in r.stderr and "No such file" not in r.stderr:
            raise RuntimeError("tc qdisc del dev %s: %s" % (ifname, r.stderr.strip()))

    def qdisc_stats(self, role, ifname):
        """tc -s for the interface's root qdisc: sent bytes, drops, overlimits (for the log)."""
        return run(["tc", "-s", "-n", self.name(role), "qdisc", "show", "dev", ifname], check=False).stdout.strip()

    def close(self):
        """Ends every process still inside the lab's namespaces (by id: SIGTERM, then SIGKILL after
        5 s) and deletes the namespaces."""
        pids = []
        for ns in self.made:
            r = run(["ip", "netns", "pids", ns], check=False)
            pids += [int(p) for p in r.stdout.split() if p.isdigit()]
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
            alive = [p for p in pids if _signal(p, sig)]
            deadline = time.time() + wait
            while alive and time.time() < deadline:
                alive = [p for p in alive if _running(p)]
                time.sleep(0.1)
            if not alive:
                break
        for ns in reversed(self.made):
            run(["ip", "netns", "del", ns], check=False)
        self.made = []


def _running(pid):
    """True while the process exists and is not a zombie (a child of ours not yet waited for)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False
