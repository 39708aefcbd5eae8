"""A real S3-compatible HTTP server for the tests: moto's server mode in a subprocess on a free loopback port
(as s3fs's own tests run it), with dummy credentials, so nothing ever reaches AWS."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REGION = "eu-west-1"
DUMMY_KEY, DUMMY_SECRET = "testing-key", "testing-secret"
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
_LOOPBACK_ONLY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class MotoServer:
    endpoint: str
    process: subprocess.Popen

    def client(self, service: str = "s3", key: str = DUMMY_KEY, secret: str = DUMMY_SECRET):
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=key, aws_secret_access_key=secret)

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})

    def upload_tree(self, folder: Path, bucket: str, prefix: str) -> None:
        s3 = self.client()
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                s3.put_object(Bucket=bucket, Key=f"{prefix}/{path.relative_to(folder).as_posix()}",
                              Body=path.read_bytes())

    def objects(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """Every object under ``prefix``, read back with boto3: an oracle independent of s3fs."""
        s3 = self.client()
        keys = [item["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                for item in page.get("Contents", [])]
        return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}

    def enforce_authentication(self) -> None:
        """From now on the server checks every request's signature and IAM permissions (moto's reset-auth API)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset-auth", data=b"0", method="POST",
                                         headers={"Content-Type": "text/plain"})
        with _LOOPBACK_ONLY.open(request, timeout=5) as response:
            response.read()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_moto_server(timeout_s: float = 20.0) -> MotoServer:
    """Start ``python -m moto.server`` on 127.0.0.1 and wait until it answers; RuntimeError when it does not."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in _PROXY_VARS}
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = MotoServer(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with code {process.returncode}")
        try:
            with _LOOPBACK_ONLY.open(f"{server.endpoint}/moto-api/data.json", timeout=1) as response:
                response.read()
            return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"moto server did not answer on {server.endpoint} within {timeout_s:.0f}s")
