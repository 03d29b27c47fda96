"""System sampling: one host's CPU, load, memory, swap, disks, network and process.

Rates (CPU %, network bytes/s) come from the difference with the host's previous
sample, so they cover the whole interval rather than an instant.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

import psutil
from django.db import connection
from django.utils import timezone

from monitoring.models import SystemSample

# Pseudo and read-only filesystems say nothing about space running out.
SKIPPED_FILESYSTEMS = {"squashfs", "iso9660", "overlay", "tmpfs", "devtmpfs", "nsfs"}
MAX_MOUNTS = 20
# A previous sample older than this is too old to make a rate with.
MAX_RATE_GAP = timedelta(minutes=10)


def take_sample(now: datetime | None = None, host: str | None = None) -> SystemSample:
    now = now or timezone.now()
    host = host or socket.gethostname()
    previous = SystemSample.objects.filter(host=host, time__lt=now).order_by("-time").first()
    if previous is not None and now - previous.time > MAX_RATE_GAP:
        previous = None
    cpu = psutil.cpu_times()
    idle = cpu.idle + getattr(cpu, "iowait", 0.0)
    total = sum(cpu)
    net = psutil.net_io_counters()
    sample = SystemSample(
        host=host,
        time=now,
        cpu_busy_s=total - idle,
        cpu_total_s=total,
        memory_percent=psutil.virtual_memory().percent,
        swap_percent=psutil.swap_memory().percent,
        disks=disk_usage(),
        net_bytes_recv=net.bytes_recv if net else None,
        net_bytes_sent=net.bytes_sent if net else None,
        db_connections=database_connections(),
        **process_figures(),
    )
    sample.disk_percent = max(sample.disks.values(), default=None)
    sample.load_1, sample.load_5, sample.load_15 = os.getloadavg()
    sample.cpu_percent = cpu_percent(previous, sample)
    sample.net_in_bps, sample.net_out_bps = network_rates(previous, sample)
    sample.save()
    return sample


def cpu_percent(previous: SystemSample | None, sample: SystemSample) -> float:
    if previous is not None and previous.cpu_total_s is not None:
        spent = sample.cpu_total_s - previous.cpu_total_s
        busy = sample.cpu_busy_s - previous.cpu_busy_s
        if spent > 0 and busy >= 0:
            return round(min(100.0, 100.0 * busy / spent), 2)
    return psutil.cpu_percent(interval=0.2)  # first sample: measure briefly


def network_rates(previous: SystemSample | None, sample: SystemSample):
    if previous is None or previous.net_bytes_recv is None or sample.net_bytes_recv is None:
        return None, None
    seconds = (sample.time - previous.time).total_seconds()
    received = sample.net_bytes_recv - previous.net_bytes_recv
    sent = sample.net_bytes_sent - previous.net_bytes_sent
    if seconds <= 0 or received < 0 or sent < 0:  # counters reset (reboot)
        return None, None
    return round(received / seconds, 1), round(sent / seconds, 1)


def disk_usage() -> dict[str, float]:
    usage: dict[str, float] = {}
    seen_devices = set()
    for partition in psutil.disk_partitions(all=False):
        if partition.fstype in SKIPPED_FILESYSTEMS or partition.device in seen_devices:
            continue
        if partition.mountpoint.startswith(("/snap/", "/proc", "/sys")):
            continue
        try:
            usage[partition.mountpoint] = psutil.disk_usage(partition.mountpoint).percent
        except OSError:  # unreadable or gone since listed
            continue
        seen_devices.add(partition.device)
        if len(usage) >= MAX_MOUNTS:
            break
    return usage


def process_figures() -> dict:
    process = psutil.Process()
    try:
        open_files = process.num_fds()
    except (AttributeError, psutil.Error):  # not on POSIX
        open_files = None
    return {"process_rss": process.memory_info().rss, "process_open_files": open_files}


def database_connections() -> int | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]
