"""Service settings, read from the environment (12-factor). No secret has a default."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings every service shares. Services subclass it for their own options."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    service_name: str = Field(default="service", description="Overridden by each service.")
    rabbitmq_url: str = Field(default="amqp://guest:guest@localhost:5672/", description="AMQP URL of RabbitMQ.")
    mongodb_url: str | None = Field(
        default=None, description="MongoDB URL. Unset: an in-memory store (mongomock), NOT persistent."
    )
    mongodb_database: str | None = Field(default=None, description="Database name; default <prefix>_<service>.")
    mongodb_database_prefix: str = Field(default="helpdesk", pattern=r"^[A-Za-z0-9_\-]{1,40}$")
    helpdesk_namespace: str = Field(
        default="", description="Prefix for every exchange and queue name (test runs, shared brokers)."
    )
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|text)$")
    jwt_secret: SecretStr | None = Field(default=None, description="HS256 key for staff JWTs (required).")
    jwt_issuer: str = "helpdesk"
    jwt_audience: str = "helpdesk-staff"
    delivery_limit: int = Field(default=5, ge=1, le=100, description="Deliveries before a message is dead-lettered.")
    prefetch_count: int = Field(default=32, ge=1, le=10_000)
    max_message_bytes: int = Field(
        default=1_000_000, ge=1024, description="Larger messages are dead-lettered unread (abuse/poison guard)."
    )
    retry_backoff_seconds: float = Field(default=0.2, ge=0.0, description="Base of the exponential retry back-off.")
    outbox_relay_interval_seconds: float = Field(default=1.0, gt=0)
    outbox_grace_seconds: float = Field(default=3.0, ge=0, description="Age before the relay republishes an event.")
    broker_connect_attempts: int = Field(default=30, ge=1)
    database_connect_attempts: int = Field(
        default=60, ge=1, description="Pings of the database at start-up before the service gives up (exits)."
    )
    queue_depth_interval_seconds: float = Field(
        default=15.0, ge=0, description="How often queue depths are sampled for /metrics (0: never)."
    )
    business_timezone: str = "Asia/Shanghai"
    clock_file: str | None = Field(
        default=None, description="Test clock for scheduled duties: a JSON file {\"offset_seconds\": n} added to the "
        "system time (servicekit.clock.FileClock). Unset in production: the system clock.",
    )
    schedule_tick_seconds: float = Field(
        default=30.0, gt=0, description="How often scheduled duties (report delivery, backups) look at the clock.",
    )
    notify_webhook_url: str | None = Field(
        default=None, description="Where notifications are POSTed (SMS/IM/e-mail gateway); unset: logged only."
    )
    notify_webhook_secret: SecretStr | None = Field(default=None, description="HMAC-SHA256 key signing webhook bodies.")

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @property
    def database_name(self) -> str:
        return self.mongodb_database or f"{self.mongodb_database_prefix}_{self.service_name.replace('-', '_')}"
