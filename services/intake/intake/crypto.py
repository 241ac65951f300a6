"""Encryption at rest of customers' personal data (cryptography's Fernet: AES-128-CBC + HMAC-SHA256).

Keys come from the environment (``CUSTOMER_DATA_KEYS``: comma-separated Fernet keys, the first encrypts,
all decrypt, so a key can be rotated by putting the new key first). Without a key the service generates
a throw-away one and says so: data encrypted with it cannot be read after a restart.
"""

from __future__ import annotations

import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)


class FieldCipher:
    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            log.warning("CUSTOMER_DATA_KEYS is not set: customer data is encrypted with a throw-away key "
                        "that is lost when the process stops")
            parts = [Fernet.generate_key().decode()]
        try:
            self._fernet = MultiFernet([Fernet(p.encode()) for p in parts])
        except ValueError:
            raise ValueError("CUSTOMER_DATA_KEYS must hold url-safe base64 Fernet keys of 32 bytes") from None

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError("customer data cannot be decrypted with the configured keys") from None

    def encrypt_all(self, values: dict[str, str]) -> dict[str, str]:
        return {k: self.encrypt(v) for k, v in values.items()}

    def decrypt_all(self, tokens: dict[str, str]) -> dict[str, str]:
        return {k: self.decrypt(v) for k, v in tokens.items()}
