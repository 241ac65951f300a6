"""Fixtures shared by every test directory: the real RabbitMQ and the real MongoDB wire server.

MongoDB for the end-to-end, fault and store tests: ``MONGODB_URL`` when set (the Docker-host workflow's
``mongo:7``), else one SecantusDB process started for the session (servicekit.localdb; installed by the
locked environment), else a testcontainers MongoDB when a Docker engine answers. The in-memory mock is
used only by the fast service tests (``services/*/tests/test_service.py``)."""

from __future__ import annotations

import os
import uuid
from typing import Any
from pathlib import Path
from collections.abc import Iterator

import pytest

from servicekit.localdb import LocalMongo, server_program
from servicekit.testing import docker_answers, rabbitmq_url, tcp_reachable

ROOT = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _mongo_backend() -> tuple[str, str | None]:
    if os.environ.get("MONGODB_URL"):
        return "mongodb (MONGODB_URL)", os.environ["MONGODB_URL"]
    program = server_program()
    if program:
        return f"SecantusDB wire server (a separate {Path(program).name} process for this run)", None
    if docker_answers():
        return "mongodb (testcontainers)", None
    return "none: no MONGODB_URL, no secantusd-py, no Docker engine", None


def pytest_report_header(config: pytest.Config) -> list[str]:
    backend, _ = _mongo_backend()
    return [f"RabbitMQ: {rabbitmq_url()}",
            f"MongoDB for end-to-end, fault and store tests: {backend}; fast service tests: mongomock-motor"]


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
def mongodb_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """MONGODB_URL of a real MongoDB wire server for services and stores under test (see the module
    docstring). None found: the test fails under CI and is skipped elsewhere."""
    backend, url = _mongo_backend()
    if url:
        yield url
    elif backend.startswith("SecantusDB"):
        base = tmp_path_factory.mktemp("secantus")
        with LocalMongo(storage=str(base / "data"), log_path=ROOT / "artifacts" / "secantusd.log") as server:
            yield server.url
    elif "testcontainers" in backend:
        from testcontainers.mongodb import MongoDbContainer

        with MongoDbContainer("mongo:7") as container:
            yield container.get_connection_url()
    else:
        message = f"no MongoDB server for the tests ({backend})"
        if IN_CI:
            pytest.fail(message + " (CI=true: a missing database fails the run)")
        pytest.skip(message)


@pytest.fixture
async def real_db(mongodb_url: str) -> Any:
    """A fresh database on the real server for one store test (the store's ``db`` handle), dropped after."""
    from servicekit.mongo import open_mongo
    from servicekit.settings import ServiceSettings

    name = f"store_{uuid.uuid4().hex[:12]}"
    handle = open_mongo(ServiceSettings(mongodb_url=mongodb_url, mongodb_database=name))
    assert handle.backend == "mongodb"
    try:
        yield handle.db
    finally:
        await handle.client.drop_database(name)
        handle.close()


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
