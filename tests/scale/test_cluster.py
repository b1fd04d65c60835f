"""Redis Cluster on real servers: the session's 3-master cluster (``tests.redis_server.ClusterSet``).

The end-to-end test runs a real ``mrqc worker`` process on a ``redis+cluster://``
URL over queues whose slots are on three different nodes, and checks that every
job ran once and that each queue's keys (its list, its jobs' records) are on its
own node. The URL tests need no server. The contract suite, the canvas tests and
the raw-queue tests run on the same cluster (tests/store/, test_cluster_canvas.py,
test_cluster_raw_queues.py). A missing redis-server skips on a laptop and fails in CI.
"""
from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from mrqcore.config import Config
from mrqcore.exceptions import ConfigError
from mrqcore.job import queue_jobs
from mrqcore.runtime import Runtime
from mrqcore.store import open_store
from mrqcore.store.redis_cluster import ClusterJobStore, parse_cluster_url
from tests.conftest import ROOT, worker_env
from tests.redis_server import shared_cluster  # noqa: F401 - fixture

TASK = "tests.scale.tasks.RecordRun"
PER_QUEUE = 40


def queues_on_every_node(cluster: Any, store: ClusterJobStore) -> list[str]:
    """One queue name per node of the cluster (names tried in order until each node has one)."""
    by_node: dict[int, str] = {}
    for i in range(200):
        name = f"shard-{i}"
        by_node.setdefault(cluster.node_of(store.space(name).keys.queue(name)), name)
        if len(by_node) == len(cluster.nodes):
            return sorted(by_node.values())
    raise AssertionError(f"200 queue names cover only {len(by_node)} of {len(cluster.nodes)} nodes")


def test_a_worker_drains_queues_on_three_shards(shared_cluster, config_values: dict[str, Any],  # noqa: F811
                                                run_burst, tmp_path) -> None:
    config_values["redis"] = shared_cluster.url()
    runtime = Runtime(Config(config_values))
    store = runtime.store
    assert isinstance(store, ClusterJobStore)
    try:
        queues = queues_on_every_node(shared_cluster, store)
        runs_file = str(tmp_path / "runs.txt")
        ids = {queue: queue_jobs(TASK, [{"runs_file": runs_file}] * PER_QUEUE, queue, runtime=runtime)
               for queue in queues}
        # Each queue's list and its jobs' records are on the queue's own node, three nodes in all.
        nodes = {queue: shared_cluster.node_of(store.space(queue).keys.queue(queue)) for queue in queues}
        assert len(set(nodes.values())) == 3
        for queue in queues:
            assert store.queue_size(queue) == PER_QUEUE
            assert shared_cluster.node_of(store.keys.job(ids[queue][0])) == nodes[queue]

        run_burst(*queues, "--greenlets", "4", timeout=90)

        every_id = [job_id for group in ids.values() for job_id in group]
        with open(runs_file) as fh:
            runs = fh.read().split()
        assert sorted(runs) == sorted(every_id)  # each job ran exactly once
        records = store.get_many(every_id, ("status", "queue"))
        assert {r["status"] for r in records if r} == {"success"} and None not in records
        assert all(store.queue_size(queue) == 0 for queue in queues)
        assert store.orphan_holders(float("inf")) == []  # no worker, registered or not, holds a job
        assert all(store.inflight(worker) == [] for worker in store.worker_heartbeats())

        # The admin CLI reads the same store through the URL.
        out = subprocess.run([sys.executable, "-m", "mrqcore.cli", "queues"], env=worker_env(config_values),
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert all(queue in out.stdout for queue in queues)
    finally:
        store.clear()
        runtime.close()


# --- URLs -------------------------------------------------------------------------------


def test_url_forms() -> None:
    parsed = parse_cluster_url("redis+cluster://127.0.0.1:7000,[::1]:7001/")
    assert [(n.host, n.port) for n in parsed["startup_nodes"]] == [("127.0.0.1", 7000), ("::1", 7001)]
    assert "ssl" not in parsed and "password" not in parsed
    tls = parse_cluster_url("rediss+cluster://user:p%40ss@h:7000/0?socket_timeout=2.5&ssl_cert_reqs=none")
    assert tls["ssl"] is True and tls["username"] == "user" and tls["password"] == "p@ss"
    assert tls["socket_timeout"] == 2.5 and tls["ssl_cert_reqs"] == "none"
    assert parse_cluster_url("redis+cluster://:pw@h:7000")["password"] == "pw"


@pytest.mark.parametrize("url, message", [
    ("redis+cluster:///", "no node host:port"),
    ("redis+cluster://h:7000/1", "database 0 only"),
    ("redis+cluster://h/", "must be host:port"),
    ("redis+cluster://h:70000/", "1..65535"),
    ("redis+cluster://h:7000/?socket_timout=1", "did you mean 'socket_timeout'"),
    ("redis+cluster://h:7000/?socket_timeout=soon", "number of seconds"),
])
def test_bad_urls_name_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match="redis") as info:
        parse_cluster_url(url)
    assert message in str(info.value)


def test_bad_url_masks_the_password_and_a_typo_in_the_scheme_is_named() -> None:
    with pytest.raises(ConfigError) as info:
        open_store("redis+cluster://:secret@h:7000/2", "p:")
    assert "secret" not in str(info.value)
    with pytest.raises(ConfigError, match="did you mean 'redis\\+cluster'"):
        open_store("redis+clustr://h:7000/", "p:")


def test_a_prefix_with_a_hash_tag_is_refused(shared_cluster) -> None:  # noqa: F811
    # A '{' in the prefix would make it the hash tag of every key: one slot, one shard.
    with pytest.raises(ConfigError, match="redis_prefix"):
        open_store(shared_cluster.url(), "app:{x}:")


def test_a_celery_app_with_a_cluster_broker_url_gets_a_cluster_store() -> None:
    from mrqc import Celery
    from mrqc.bridge import runtime_settings
    # Not the current app: later tests' canvas (groups, chords) must not find this unreachable broker.
    app = Celery("cluster_app", broker="redis+cluster://127.0.0.1:7000,127.0.0.1:7001/", set_as_current=False)
    assert runtime_settings(app)["redis"] == "redis+cluster://127.0.0.1:7000,127.0.0.1:7001/"
