import uvicorn

from .app import ConsoleSettings, create_app

if __name__ == "__main__":
    settings = ConsoleSettings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None,
                access_log=False, timeout_graceful_shutdown=10, lifespan="on")
