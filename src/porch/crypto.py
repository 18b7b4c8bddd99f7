"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from PORCH_SECRET_KEY.

The key is derived with HKDF and a purpose label, so the secret that signs sessions is
never used as an encryption key itself. Rotating PORCH_SECRET_KEY makes stored secrets
unreadable: owners set them again (decrypt raises `SecretUnreadable`, callers treat the
secret as absent).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"porch secrets at rest v1"


class SecretUnreadable(Exception):
    """The stored value was not encrypted under the current PORCH_SECRET_KEY."""


class SecretBox:
    def __init__(self, secret_key: bytes) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
            secret_key
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError, ValueError):
            raise SecretUnreadable("stored secret cannot be decrypted with this key") from None

    def decrypt_or_none(self, token: str | None) -> str | None:
        if not token:
            return None
        try:
            return self.decrypt(token)
        except SecretUnreadable:
            return None


@functools.lru_cache(maxsize=4)
def box(secret_key: bytes) -> SecretBox:
    """The box for a key (settings.secret), derived once per process."""
    return SecretBox(secret_key)


def last4(secret: str | None) -> str | None:
    """What the API shows of a stored secret."""
    return secret[-4:] if secret else None


def new_identity_secret() -> str:
    return "pis_" + secrets.token_urlsafe(32)


def identity_hash(secret: str, user_id: str) -> str:
    """hex HMAC-SHA256(secret, user_id): what the site's server computes for each user."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def identity_ok(secret: str, user_id: str, sent_hash: str) -> bool:
    # As bytes: compare_digest raises TypeError on a str with non-ASCII characters, and the
    # sent hash is whatever the visitor's browser sent (a 500 in the API fuzz).
    expected = identity_hash(secret, user_id).encode()
    return hmac.compare_digest(expected, sent_hash.strip().lower().encode())
