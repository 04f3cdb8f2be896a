"""A real 3-node Redis Cluster on loopback, for the tests that check the queue spreads over one.

``start()`` launches three ``redis-server --cluster-enabled yes`` processes (no persistence) on free
ports, joins them with ``redis-cli --cluster create`` (no replicas) and waits until every node says
``cluster_state:ok``; ``stop()`` ends exactly those processes (by the pids they wrote). Takes about a
second. ``python -m tests.redis_cluster`` starts one and prints its URL, for trying the whole suite
on a cluster: ``PICKET_TEST_REDIS_URL=redis+cluster://127.0.0.1:PORT``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

NODES = 3


def missing() -> str | None:
    """Why a cluster cannot be started here, or None."""
    for tool in ("redis-server", "redis-cli"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install redis-server): the Redis Cluster tests need it"
    return None


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(n: int) -> list[int]:
    """n ports whose cluster bus ports (port + 10000) are free too, picked from a range few use."""
    found: list[int] = []
    start = 21000 + (os.getpid() % 400) * 50  # parallel runs start apart
    for port in range(start, 55000):  # bus ports (port + 10000) stay under 65536
        if _free(port) and _free(port + 10000):
            found.append(port)
            if len(found) == n:
                return found
    raise RuntimeError("no free ports for a Redis Cluster")


def _alive(pid: int) -> bool:
    """Still running (a zombie nobody has reaped yet has stopped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _cli(port: int, *args: str, timeout: float = 10) -> str:
    return subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args], capture_output=True, text=True, timeout=timeout
    ).stdout


@dataclass
class Cluster:
    ports: list[int]
    folder: Path
    pids: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def stop(self) -> None:
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        for pid in self.pids:
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> Cluster:
    folder = Path(tempfile.mkdtemp(prefix="picket-redis-cluster-"))
    cluster = Cluster(_ports(NODES), folder)
    try:
        for port in cluster.ports:
            subprocess.run(
                [
                    "redis-server",
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    str(folder / f"nodes-{port}.conf"),
                    "--cluster-node-timeout",
                    "5000",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(folder),
                    "--daemonize",
                    "yes",
                    "--pidfile",
                    str(folder / f"{port}.pid"),
                    "--logfile",
                    str(folder / f"{port}.log"),
                ],
                check=True,
                capture_output=True,
                timeout=10,
            )
        deadline = time.monotonic() + 10
        for port in cluster.ports:
            pidfile = folder / f"{port}.pid"
            while not (pidfile.exists() and pidfile.read_text().strip() and _cli(port, "ping").strip() == "PONG"):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"redis-server on port {port} did not start: {(folder / f'{port}.log').read_text()[-500:]}"
                    )
                time.sleep(0.05)
            cluster.pids.append(int(pidfile.read_text().strip()))
        made = subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in cluster.ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if made.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {made.stdout[-500:]} {made.stderr[-500:]}")
        deadline = time.monotonic() + 30
        while not all("cluster_state:ok" in _cli(p, "cluster", "info") for p in cluster.ports):
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")
            time.sleep(0.05)
    except BaseException:
        cluster.stop()
        raise
    return cluster


if __name__ == "__main__":  # pragma: no cover - a manual helper
    import sys

    c = start()
    print(c.url, " ".join(map(str, c.pids)), flush=True)
    if "--wait" in sys.argv:
        try:
            signal.pause()
        finally:
            c.stop()
