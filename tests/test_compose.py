"""docker-compose.yml is valid: `docker compose config` where the CLI has compose, else a structural check."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from servicekit.launcher import CONSOLE, SERVICES

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
ENV = {"RABBITMQ_PASSWORD": "x" * 16, "JWT_SECRET": "y" * 40, "CHANNEL_API_KEYS": "email=" + "z" * 20,
       "CUSTOMER_LOOKUP_KEY": "k" * 20, "CUSTOMER_DATA_KEYS": "a" * 43 + "=",
       "DISPATCHER_ADMIN_INITIAL_PASSWORD": "Initial-pass-1!", "BACKUP_KEYS": "k1=" + "b" * 43 + "="}


def _compose_cli() -> bool:
    try:
        return subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def test_compose_file_is_valid() -> None:
    if _compose_cli():
        result = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "-q"],
                                capture_output=True, text=True, env={**os.environ, **ENV}, timeout=60)
        assert result.returncode == 0, result.stderr
    spec = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = spec["services"]
    assert {"rabbitmq", "mongodb", CONSOLE.name} | {s.name for s in SERVICES} == set(services)
    console = services[CONSOLE.name]
    assert console["build"]["args"] == {"SERVICE": "console", "MODULE": "console"}
    assert console["depends_on"] == {"dispatcher": {"condition": "service_healthy"}}
    assert {f"{s.name.replace('-', '_').upper()}_URL" for s in SERVICES} <= set(console["environment"])
    assert "/health/ready" in " ".join(console["healthcheck"]["test"])
    assert "management" in services["rabbitmq"]["image"]
    assert "mongodb-data:/data/db" in services["mongodb"]["volumes"] and "mongodb-data" in spec["volumes"]
    for svc in SERVICES:
        body = services[svc.name]
        assert body["build"]["args"] == {"SERVICE": svc.name, "MODULE": svc.module}
        assert body["restart"] == "unless-stopped"
        assert body["healthcheck"]["test"] and "/health/ready" in " ".join(body["healthcheck"]["test"])
        assert body["depends_on"] == {"rabbitmq": {"condition": "service_healthy"},
                                      "mongodb": {"condition": "service_healthy"}}
        env = body["environment"]
        assert env["MONGODB_URL"].startswith("mongodb://") and env["RABBITMQ_URL"].startswith("amqp://")
        assert "${JWT_SECRET:?" in env["JWT_SECRET"], "secrets must come from the environment"
    intake = services["intake"]
    assert "intake-backups" in spec["volumes"] and "intake-backups:/var/lib/helpdesk/backups" in intake["volumes"]
    assert intake["environment"]["BACKUP_DIR"] == "/var/lib/helpdesk/backups"
    assert "${BACKUP_KEYS:?" in intake["environment"]["BACKUP_KEYS"]
    for infra in ("rabbitmq", "mongodb"):
        assert services[infra]["healthcheck"]["test"]


def test_no_secret_literals_in_compose() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert "guest:guest" not in text
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key.endswith(("SECRET", "PASSWORD", "PASS", "API_KEYS", "LOOKUP_KEY", "DATA_KEYS")):
            assert value.strip().startswith("${"), line
