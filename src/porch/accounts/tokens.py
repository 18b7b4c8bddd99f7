"""Random secrets and their hashes: tokens are stored only as SHA-256, compared in constant time."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

API_KEY_PREFIX = "porch_sk_"
VISITOR_TOKEN_PREFIX = "pv_"  # noqa: S105 - a prefix, not a secret
INVITATION_PREFIX = "pi_"

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both paths cost one argon2 verify.

    Made on the first sign-in rather than at import: one argon2 hash is about 0.3 s of
    start-up here.
    """
    return _hasher.hash("porch-timing-equalizer")


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(token_hash(token), stored_hash)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, stored: str | None) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
