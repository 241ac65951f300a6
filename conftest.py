"""Fixtures shared by every test directory: the real RabbitMQ and the MongoDB backend choice."""

from __future__ import annotations

import os
import uuid
from typing import Any
from pathlib import Path
from collections.abc import Iterator

import pytest

from servicekit.testing import docker_answers, rabbitmq_url, tcp_reachable

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _mongo_backend() -> tuple[str, str | None]:
    if os.environ.get("MONGODB_URL"):
        return "mongodb (MONGODB_URL)", os.environ["MONGODB_URL"]
    if docker_answers():
        return "mongodb (testcontainers)", None
    return "mongomock-motor (in-memory; no MONGODB_URL and no Docker engine)", None


def pytest_report_header(config: pytest.Config) -> list[str]:
    backend, _ = _mongo_backend()
    return [f"RabbitMQ: {rabbitmq_url()}", f"MongoDB backend for end-to-end services: {backend}"]


@pytest.fixture(scope="session")
def rabbitmq() -> str:
    """URL of the real RabbitMQ. Missing broker: the test fails under CI, is skipped elsewhere."""
    url = rabbitmq_url()
    if not tcp_reachable(url):
        message = f"RabbitMQ is not reachable at {url}"
        if IN_CI:
            pytest.fail(message + " (CI=true: a missing broker fails the run)")
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def mongodb_url() -> Iterator[str | None]:
    """MONGODB_URL for services started by tests: the given one, a testcontainers MongoDB when a Docker
    engine answers, else None (each service then uses its in-memory store)."""
    backend, url = _mongo_backend()
    if url or "testcontainers" not in backend:
        yield url
        return
    from testcontainers.mongodb import MongoDbContainer

    with MongoDbContainer("mongo:7") as container:
        yield container.get_connection_url()


@pytest.fixture
def namespace() -> str:
    """A fresh exchange/queue prefix so test runs never see each other's messages."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright (sync API). Missing browser: fails under CI,
    skipped elsewhere."""
    from servicekit.testing import CHROMIUM_ARGS, chromium_path

    path = chromium_path()
    if path is None:
        message = "Chromium is not installed (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message + " (CI=true: a missing browser fails the run)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where screenshots and other test artifacts go (artifacts/, git-ignored, uploaded by CI)."""
    path = Path(__file__).resolve().parent / "artifacts" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Playwright's sync API keeps its own loop registered as this thread's running loop while a
    browser is open; pytest-asyncio then refuses to start an async test. Hide that loop for the duration
    of each async test and put it back afterwards."""
    import asyncio

    stale = asyncio._get_running_loop() if asyncio.iscoroutinefunction(getattr(item, "obj", None)) else None
    if stale is not None:
        asyncio._set_running_loop(None)
    try:
        yield
    finally:
        if stale is not None:
            asyncio._set_running_loop(stale)
