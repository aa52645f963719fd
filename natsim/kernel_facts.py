"""The Linux kernel's defaults that natsim's lab, model and probe tools all depend on, stated once.

Every value is the kernel's own default in kernel seconds (measured on Debian 12, Linux 6.x; the
sysctl or source each one comes from is named beside it). The model reads them to predict the lab,
the lab's renders and drivers to set or scale them, the probe tools to know what the OS will do.
Nothing here depends on a time scale: :class:`natsim.units.TimeScale` maps them to a lab.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# ---- the kernel's clock --------------------------------------------------------------------------

#: Timer ticks per second (Debian 12: ``CONFIG_HZ=250``, 4 ms per tick).
HZ = 250
#: Buckets per level of the timer wheel (kernel/time/timer.c ``LVL_SIZE``).
TIMER_WHEEL_BUCKETS = 64
#: Each level of the wheel is this many times coarser than the one below (``LVL_CLK_DIV``).
TIMER_WHEEL_LEVEL_FACTOR = 8
#: Levels of the wheel (``LVL_DEPTH`` at HZ=250).
TIMER_WHEEL_LEVELS = 9
#: A timer may fire up to this fraction of its length late (one bucket of its level).
TIMER_WHEEL_SLACK = 1 / TIMER_WHEEL_LEVEL_FACTOR

# ---- TCP (include/net/tcp.h, net.ipv4.tcp_*) ----------------------------------------------------

#: Minimum and maximum retransmission timeout (``TCP_RTO_MIN``, ``TCP_RTO_MAX``).
TCP_RTO_MIN = 0.2
TCP_RTO_MAX = 120.0
#: Initial retransmission timeout of a SYN (``TCP_TIMEOUT_INIT``).
TCP_SYN_RTO = 1.0
#: ``net.ipv4.tcp_retries2``: retransmissions of unacknowledged data before ETIMEDOUT.
TCP_RETRIES2 = 15
#: ``net.ipv4.tcp_syn_retries``: SYN retransmissions before connect() fails with ETIMEDOUT.
TCP_SYN_RETRIES = 6
#: ``net.ipv4.tcp_keepalive_time``: idle seconds before the first keepalive probe.
TCP_KEEPALIVE_TIME = 7200.0
#: ``net.ipv4.tcp_keepalive_intvl``: seconds between unanswered keepalive probes.
TCP_KEEPALIVE_INTVL = 75.0
#: ``net.ipv4.tcp_keepalive_probes``: unanswered probes before ETIMEDOUT.
TCP_KEEPALIVE_PROBES = 9
#: Largest ``TCP_KEEPCNT`` the kernel accepts (``MAX_TCP_KEEPCNT``).
TCP_KEEPCNT_MAX = 127


def retransmission_give_up(retries: int, *, rto: float = TCP_RTO_MIN, rto_max: float = TCP_RTO_MAX) -> float:
    """Seconds after the first transmission at which Linux gives up (``retransmits_timed_out``): the
    timer starts at ``rto`` and doubles up to ``rto_max``, ``retries + 1`` times."""
    if retries < 0:
        raise ValueError(f"negative retries {retries}")
    total, step = 0.0, rto
    for _ in range(retries + 1):
        total += step
        step = min(step * 2, rto_max)
    return round(total, 9)


#: When unacknowledged data ends in ETIMEDOUT with the default ``tcp_retries2`` (924.6 s).
TCP_RETRIES2_GIVE_UP = retransmission_give_up(TCP_RETRIES2)
#: When connect() ends in ETIMEDOUT with the default ``tcp_syn_retries`` (127 s).
TCP_SYN_GIVE_UP = retransmission_give_up(TCP_SYN_RETRIES, rto=TCP_SYN_RTO)

# ---- conntrack (net.netfilter.nf_conntrack_*) ---------------------------------------------------

#: ``nf_conntrack_tcp_timeout_*``: idle timeout per TCP state. ``unacknowledged`` applies to an entry
#: picked up mid-stream until it sees a reply, ``retrans`` while retransmissions go unanswered; natsim's
#: ``ct timeout`` policy sets neither, so a lab never scales them.
CONNTRACK_TCP_TIMEOUTS: Mapping[str, float] = MappingProxyType({
    "syn_sent": 120.0, "syn_recv": 60.0, "established": 432000.0, "fin_wait": 120.0,
    "close_wait": 60.0, "last_ack": 30.0, "time_wait": 120.0, "close": 10.0,
    "retrans": 300.0, "unacknowledged": 300.0,
})
#: ``nf_conntrack_udp_timeout`` (``unreplied``: a flow that has seen no reply, or whose packet came within
#: its first :data:`CONNTRACK_UDP_STREAM_AFTER` seconds) and ``nf_conntrack_udp_timeout_stream``
#: (``stream``: every later packet of a flow that has seen a reply; the flow is then ASSURED).
CONNTRACK_UDP_TIMEOUTS: Mapping[str, float] = MappingProxyType({"unreplied": 30.0, "stream": 120.0})
#: A UDP flow's packets move it to the stream timeout only after this long (``nf_conntrack_proto_udp.c``:
#: ``stream_ts = jiffies + 2 * HZ`` at creation, ``time_after(jiffies, stream_ts)`` per packet). A
#: fixed kernel constant, never scaled: in a lab it is wall-clock.
CONNTRACK_UDP_STREAM_AFTER = 2.0
#: The unacknowledged timeout on its own (the model needs it for picked-up entries).
CONNTRACK_TCP_UNACKNOWLEDGED = CONNTRACK_TCP_TIMEOUTS["unacknowledged"]
#: Kernel memory of one tracked, translated connection: the ``nf_conntrack`` slab object (256 bytes,
#: /proc/slabinfo on Linux 6.x x86-64) plus its extension area (NAT, timeout, events), which
#: ``nf_ct_ext_add`` allocates at least ``NF_CT_EXT_PREALLOC`` = 128 bytes for.
CONNTRACK_ENTRY_BYTES = 256 + 128

# ---- socket options Python's socket module does not name (linux/in.h) ------------------------------

#: ``IP_RECVERR``: an unconnected UDP socket reports ICMP errors (ECONNREFUSED for port unreachable)
#: on its next receive; without it Linux reports none.
IP_RECVERR = 11
