"""Jobs through a password-protected Redis and a TLS Redis, with real workers.

Each test starts its own redis-server (``tests.redis_server``); the TLS one
uses a CA, a server and a client certificate made here with the ``openssl``
command (mutual TLS: the server checks the client's certificate too).
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from mrqcore.config import Config
from mrqcore.job import Job, queue_job
from mrqcore.runtime import Runtime
from tests.conftest import require_service
from tests.redis_server import redis_server_factory  # noqa: F401 - fixture


def _run_jobs_through(url, config_values, run_burst):
    config_values["redis"] = url
    runtime = Runtime(Config(config_values))
    try:
        ids = [queue_job("tests.tasks.basic.Add", {"a": i, "b": 1}, runtime=runtime) for i in range(5)]
        output = run_burst("--greenlets", "3")
        assert [Job(j, runtime).fetch().result for j in ids] == [1, 2, 3, 4, 5], output
        assert Job(ids[0], runtime).fetch().status == "success"
    finally:
        runtime.close()


@pytest.mark.parametrize("user", ["", "alice"])
def test_jobs_through_a_password_protected_redis(redis_server_factory, config_values, run_burst, user):  # noqa: F811
    args = ["--requirepass", "default-pw"]
    if user:
        args += ["--user", "alice", "on", ">alice-pw", "~*", "&*", "+@all"]
    server = redis_server_factory(args=args)
    password = "alice-pw" if user else "default-pw"
    _run_jobs_through(f"redis://{user}:{password}@127.0.0.1:{server.port}/0", config_values, run_burst)


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(directory) -> dict[str, str]:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all signed by the CA."""
    if shutil.which("openssl") is None:
        require_service("openssl", "needed to make the TLS test certificates")
    os.makedirs(directory, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mrqc-test-ca",
             "-keyout", "ca.key", "-out", "ca.crt", cwd=directory)
    with open(os.path.join(directory, "san.ext"), "w") as fh:
        fh.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=mrqc-test-{name}",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=directory)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-days", "2", "-extfile", "san.ext", "-out", f"{name}.crt", cwd=directory)
    return {name: os.path.join(directory, name) for name in
            ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")}


def test_jobs_through_a_tls_redis(redis_server_factory, config_values, run_burst, tmp_path):  # noqa: F811
    certs = make_certificates(str(tmp_path / "certs"))
    server = redis_server_factory(tls=True, start=False, args=[
        "--tls-cert-file", certs["server.crt"], "--tls-key-file", certs["server.key"],
        "--tls-ca-cert-file", certs["ca.crt"], "--tls-auth-clients", "yes"])
    try:
        server.start()
    except AssertionError:
        if "TLS" in server.log() and ("not" in server.log() or "support" in server.log()):
            require_service("redis-server with TLS", "this redis-server was built without TLS")
        raise
    url = (f"rediss://127.0.0.1:{server.port}/0?ssl_cert_reqs=required&ssl_ca_certs={certs['ca.crt']}"
           f"&ssl_certfile={certs['client.crt']}&ssl_keyfile={certs['client.key']}")
    _run_jobs_through(url, config_values, run_burst)
    # The server really is TLS-only with client certificates: a plain or certificate-less client is refused.
    import redis
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=server.port, socket_timeout=2).ping()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(f"rediss://127.0.0.1:{server.port}/0?ssl_cert_reqs=required"
                             f"&ssl_ca_certs={certs['ca.crt']}", socket_timeout=2).ping()
