"""A real multi-node Ray cluster on this machine, for test_distributed.py and
benchmarks/distributed: a head node and worker nodes as separate `ray start --block`
processes, each in a session of its own (own temp dir, own port).

``stop()`` kills exactly those sessions' processes, by pid, and waits for them. It does not
run `ray stop --force`, which would end every Ray process on the machine, including clusters
that are none of ours. Linux only (reads /proc).
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Set


def prepare_environment() -> None:
    """Call before this process first imports ray."""
    # A Ray call after ray.shutdown() must fail, not start a local Ray of its own behind our back.
    os.environ.setdefault("RAY_ENABLE_AUTO_CONNECT", "0")
    # A private cluster on 127.0.0.1: no token auth, whatever ~/.ray/auth_token a local ray.init() left
    # (Ray 2.60 turns token auth on in a client that finds one, and it then disagrees with our nodes).
    os.environ["RAY_AUTH_MODE"] = "disabled"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes(sessions: Set[int]) -> Dict[int, str]:
    """{pid: name} of the live (not zombie) processes in these sessions."""
    found = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                head, tail = f.read().rsplit(b")", 1)
            fields = tail.split()  # state, ppid, pgrp, session, ...
            if fields[0] != b"Z" and int(fields[3]) in sessions:
                found[int(d)] = head.split(b"(", 1)[1].decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
    return found


class LocalCluster:
    """``head_cpus`` CPUs on the head, one CPU per worker node."""

    def __init__(self, root: Path, python_path: str = "", head_cpus: int = 1,
                 object_store_bytes: int = 100_000_000, worker_niceness: Optional[int] = None) -> None:
        self.root = Path(root)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.head_cpus = head_cpus
        self.object_store_bytes = object_store_bytes
        path = os.pathsep.join(p for p in (python_path, os.environ.get("PYTHONPATH", "")) if p)
        prepare_environment()
        self.env = dict(os.environ, PYTHONPATH=path, RAY_USAGE_STATS_ENABLED="0",
                        # find a dead node in ~3 s rather than ~15 s
                        RAY_health_check_initial_delay_ms="1000", RAY_health_check_period_ms="1000",
                        RAY_health_check_timeout_ms="1000", RAY_health_check_failure_threshold="3")
        if worker_niceness is not None:  # Ray runs its workers at nice 15 unless told otherwise
            self.env["RAY_worker_niceness"] = str(worker_niceness)
        self.head: Optional[subprocess.Popen] = None
        self.workers: List[subprocess.Popen] = []
        self.sessions: Set[int] = set()
        self.temp_dir: Optional[str] = None

    def _start(self, name: str, cpus: int, args: List[str]) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "ray.scripts.scripts", "start", "--block", f"--num-cpus={cpus}",
               "--disable-usage-stats", "--node-ip-address=127.0.0.1",
               f"--object-store-memory={self.object_store_bytes}", *args]
        with open(self.root / f"{name}.log", "ab") as log:
            p = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.sessions.add(p.pid)  # start_new_session: its session id is its pid
        return p

    def start(self, workers: int = 1) -> None:
        """The head, this process connected to it as the driver, then ``workers`` worker nodes."""
        import ray

        # Ray's socket paths live under --temp-dir and must fit in 107 bytes: a short folder in /tmp
        self.temp_dir = tempfile.mkdtemp(prefix="echoic-ray-", dir="/tmp")
        self.head = self._start("head", self.head_cpus, ["--head", f"--port={self.port}",
                                                         "--include-dashboard=false", f"--temp-dir={self.temp_dir}"])
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                if self.head.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the Ray head did not start: {self.log('head')}") from None
                time.sleep(0.2)
        ray.init(address=self.address, logging_level=logging.WARNING, log_to_driver=False)
        for _ in range(workers):
            self.add_worker()

    def add_worker(self) -> subprocess.Popen:
        p = self._start(f"worker{len(self.workers)}", 1, [f"--address={self.address}"])
        self.workers.append(p)
        self.wait_nodes(1 + len(self.live_workers()))
        return p

    def live_workers(self) -> List[subprocess.Popen]:
        return [p for p in self.workers if p.poll() is None]

    def alive_nodes(self) -> list:
        import ray

        return [n for n in ray.nodes() if n["Alive"]]

    def wait_nodes(self, n: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.alive_nodes()) != n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(self.alive_nodes())} Ray nodes alive, expected {n}")
            time.sleep(0.2)

    def raylet_of(self, node: subprocess.Popen) -> int:
        (pid,) = [p for p, name in processes({node.pid}).items() if name == "raylet"]
        return pid

    def kill_node(self, node: subprocess.Popen) -> None:
        """SIGKILL the node's raylet (its `ray start --block` then ends the node's other processes)."""
        os.kill(self.raylet_of(node), signal.SIGKILL)

    def log(self, name: str) -> str:
        try:
            return (self.root / f"{name}.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> Dict[int, str]:
        """Disconnects, kills every process of our sessions; returns those still alive after 10 s."""
        try:
            ray = sys.modules.get("ray")
            if ray is not None and ray.is_initialized():
                ray.shutdown()
        finally:
            for _ in range(50):  # a raylet may start a worker while the others die: until none is left
                left = processes(self.sessions)
                if not left:
                    break
                for pid in left:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.1)
            for p in [self.head, *self.workers]:
                if p is not None:
                    p.wait(timeout=30)
            if self.temp_dir:
                shutil.rmtree(self.temp_dir, ignore_errors=True)
        deadline = time.monotonic() + 10
        while processes(self.sessions) and time.monotonic() < deadline:
            time.sleep(0.2)
        return processes(self.sessions)
