"""Dagster's own tools load the code location: `dg check defs` (which supersedes `dagster definitions
validate`) and the webserver, whose GraphQL API must list every demo model's assets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from monitoring_jobs.config import load_monitors
from tests.conftest import MONITORS_DIR, REPO

BIN = Path(sys.executable).parent
ASSETS = ("inference_logs", "drift_metrics", "performance_metrics", "operational_metrics", "monitoring_report")


def env_for(project: Path) -> dict:
    (project / "dagster_home").mkdir(exist_ok=True)
    return {**os.environ, "MONITORING_HOME": str(project), "DAGSTER_HOME": str(project / "dagster_home"),
            "GX_ANALYTICS_ENABLED": "false", "DAGSTER_DISABLE_TELEMETRY": "1"}


def dg_check_defs(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run([BIN / "dg", "check", "defs"], cwd=REPO, env=env_for(project), capture_output=True,
                          text=True, timeout=300)


def test_dg_check_defs(project):
    result = dg_check_defs(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All definitions loaded successfully" in result.stdout + result.stderr


def test_a_broken_config_is_a_load_error_naming_the_file(project):
    bad = project / "assets" / "monitors" / "broken.yaml"
    bad.write_text((MONITORS_DIR / "house_price.yaml").read_text().replace("name: house_price", "name: broken")
                   .replace("task: regression", "task: clustering"))
    result = dg_check_defs(project)
    assert result.returncode != 0
    assert "broken.yaml" in result.stdout + result.stderr and "task" in result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_webserver_lists_every_monitor_asset(project):
    port = free_port()
    log = (project / "webserver.log").open("w")
    server = subprocess.Popen([BIN / "dagster-webserver", "-h", "127.0.0.1", "-p", str(port),
                               "-w", REPO / "workspace.yaml"], cwd=REPO, env=env_for(project),
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, (project / "webserver.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "webserver did not answer within 180 s"
            time.sleep(1)
        locations = graphql(port, "{ workspaceOrError { ... on Workspace { locationEntries { name "
                                  "locationOrLoadError { __typename ... on PythonError { message } } } } } }")
        entries = locations["data"]["workspaceOrError"]["locationEntries"]
        assert [e["locationOrLoadError"]["__typename"] for e in entries] == ["RepositoryLocation"], entries
        nodes = graphql(port, "{ assetNodes { assetKey { path } } }")["data"]["assetNodes"]
        keys = {"/".join(node["assetKey"]["path"]) for node in nodes}
        expected = {f"{m.name}/{asset}" for m in load_monitors(MONITORS_DIR) for asset in ASSETS}
        assert expected <= keys
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
