"""Identity tokens: the site signs who the visitor is and what it knows of them, as one JWT.

An HS256 JWT signed with the widget's identity secret: `sub` is the user id, `exp` is
required, `iat` and `nbf` are checked when present (with a minute's leeway for clocks), and
every other claim is a verified attribute (string, number or boolean) that actions read as
`identity.<claim>`. Only HS256 is accepted, whatever the token's header says: `alg: none`
and the others are refused before anything in the token is believed. See docs/security.md.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import jwt

from porch.errors import BadRequest, Forbidden, PorchError, Unauthorized

ALGORITHMS = ["HS256"]
LEEWAY_SECONDS = 60
MAX_CLAIMS = 30
MAX_VALUE_CHARS = 1000
# The JWT's own claims: they say how to check the token, they are not attributes.
REGISTERED = frozenset({"sub", "exp", "iat", "nbf", "iss", "aud", "jti"})
# The names an action's `identity.<claim>` source can name (actions/schemas.py).
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Attributes may hold line breaks (an address); the user id is one line.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f]")

Claim = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Signed:
    user_id: str
    claims: dict[str, Claim]


def verify(secret: str, token: str) -> Signed:
    """The user id and attributes of a valid token; a PorchError saying what is wrong else."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=ALGORITHMS,
            leeway=LEEWAY_SECONDS,
            options={"require": ["sub", "exp"], "verify_aud": False, "verify_iss": False},
        )
    except jwt.PyJWTError as exc:
        raise _refusal(exc) from None
    return Signed(_user_id(payload["sub"]), _claims(payload))


def _refusal(exc: jwt.PyJWTError) -> PorchError:
    # Most specific first: the expiry and signature errors are subclasses of DecodeError.
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return Forbidden(
            "The identity token must be signed with HS256 and the widget's identity secret.",
            code="identity_token_algorithm",
        )
    if isinstance(exc, jwt.InvalidSignatureError):
        return Forbidden(
            "The identity token's signature does not match the widget's identity secret.",
            code="identity_invalid",
        )
    if isinstance(exc, jwt.ExpiredSignatureError):
        return Unauthorized(
            "The identity token has expired (exp): mint a new one on your server.",
            code="identity_token_expired",
        )
    if isinstance(exc, jwt.ImmatureSignatureError):
        return Unauthorized(
            "The identity token is not valid yet (nbf or iat is in the future).",
            code="identity_token_not_yet_valid",
        )
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return Forbidden(
            f"The identity token needs a {exc.claim} claim.", code="identity_token_incomplete"
        )
    if isinstance(exc, jwt.InvalidTokenError) and not isinstance(exc, jwt.DecodeError):
        return BadRequest(
            f"The identity token's claims are invalid: {exc}", code="identity_token_claims"
        )
    # PyJWT's own words say which part (not base64url, not JSON, an exp that is no number):
    # they quote nothing of the secret.
    return BadRequest(
        f"The identity token could not be read as a JWT (header.payload.signature): {exc}",
        code="identity_token_malformed",
    )


def _user_id(sub: Any) -> str:
    if not isinstance(sub, str) or not sub.strip() or len(sub) > 200 or _NOT_ONE_LINE.search(sub):
        raise BadRequest(
            "The identity token's sub must be the user id: 1 to 200 characters of one line.",
            code="identity_token_claims",
        )
    return sub


def _claims(payload: dict[str, Any]) -> dict[str, Claim]:
    out = {k: v for k, v in payload.items() if k not in REGISTERED}
    if len(out) > MAX_CLAIMS:
        raise BadRequest(
            f"The identity token has {len(out)} attributes; at most {MAX_CLAIMS} are kept.",
            code="identity_token_claims",
        )
    for name, value in out.items():
        problem = _problem(name, value)
        if problem:
            raise BadRequest(
                f"The identity token's claim {name[:64]!r} {problem}.",
                code="identity_token_claims",
            )
    return out


def _problem(name: str, value: Any) -> str | None:
    if not _NAME.match(name):
        return "has a name that is not letters, digits and _ (at most 64)"
    if name == "user_id":
        return "is the user id: put it in sub"
    if isinstance(value, bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "is not a finite number"
    if isinstance(value, str):
        if len(value) > MAX_VALUE_CHARS:
            return f"is longer than {MAX_VALUE_CHARS} characters"
        return "holds control characters" if _CONTROL.search(value) else None
    return "is not a string, number or boolean"
