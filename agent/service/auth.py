"""Who is calling: bearer tokens, the Zendesk app's JWTs; and how often (webhook signatures are
the helpdesk's: ``casefile.agent.helpdesk``).

Every comparison with a secret is constant-time (:func:`hmac.compare_digest`),
and no function here puts a secret in an exception message: the messages are
what the caller sees.
"""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from casefile.agent.config import ServiceToken

__all__ = [
    "JWT_AUDIENCE",
    "AuthError",
    "Authenticator",
    "Principal",
    "RateLimiter",
]


# The ``aud`` claim the sidebar app puts in its JWTs (integrations/zendesk/assets/sidebar.js).
JWT_AUDIENCE = "casefile"


class AuthError(Exception):
    """The request is not authenticated; ``code`` and the message go into the 401 body."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``name`` is what the audit log records as "who asked";
    ``tenant`` is whose investigations it may create and see (no others, not even their ids)."""

    name: str
    kind: str  # "token" | "<helpdesk>_app" | "<helpdesk>_webhook" (zendesk_app, zendesk_webhook)
    tenant: str


class Authenticator:
    """Checks ``Authorization: Bearer …``: a configured token, or a JWT signed with the app's shared secret.

    The Zendesk sidebar cannot hold a token (anyone could read it in the page),
    so its requests go through Zendesk's proxy (``client.request`` with
    ``secure: true``), which signs a short-lived HS256 JWT with a secure app
    setting the browser never sees.
    """

    def __init__(
        self,
        tokens: Mapping[str, SecretStr | ServiceToken],
        app_shared_secret: SecretStr | None = None,
        *,
        jwt_max_age_s: int = 3600,
        tenant: str = "default",
        jwt_issuer: str | None = None,
        jwt_audience: str = JWT_AUDIENCE,
        helpdesk: str = "zendesk",
    ) -> None:
        # name, secret, tenant: a plain token belongs to the service's own tenant, like the app's JWTs.
        self._tokens = [
            (name, secret.get_secret_value().encode(), tenant)
            if isinstance(secret, SecretStr)
            else (name, secret.token.get_secret_value().encode(), secret.tenant or tenant)
            for name, secret in tokens.items()
        ]
        self._jwt_key = app_shared_secret.get_secret_value() if app_shared_secret else None
        self._jwt_max_age_s = jwt_max_age_s
        self._tenant = tenant
        # The Zendesk instance (https://{subdomain}.zendesk.com) and the app a JWT must be for.
        self._jwt_issuer = jwt_issuer.rstrip("/") if jwt_issuer else None
        self._jwt_audience = jwt_audience
        self._helpdesk = helpdesk  # whose sidebar app signs the JWTs: callers are named "<helpdesk>:<who>"

    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise AuthError("unauthenticated", "missing Authorization header (Bearer token)")
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise AuthError("unauthenticated", "the Authorization header must be 'Bearer <token>'")
        if credential.count(".") == 2 and self._jwt_key:
            return self._jwt(credential)
        return self._token(credential)

    def _token(self, credential: str) -> Principal:
        given = credential.encode()
        found: tuple[str, str] | None = None
        # Compare against every token, always: the time taken does not tell which one matched.
        for name, token, tenant in self._tokens:
            if hmac.compare_digest(given, token):
                found = (name, tenant)
        if found is None:
            raise AuthError("invalid_token", "the bearer token is not valid")
        return Principal(name=f"token:{found[0]}", kind="token", tenant=found[1])

    def _jwt(self, credential: str) -> Principal:
        import jwt  # PyJWT; loaded only when a JWT arrives

        assert self._jwt_key is not None
        if self._jwt_issuer is None:
            raise AuthError(
                "invalid_token", "app JWTs are not accepted: the Zendesk subdomain is not configured"
            )
        try:
            claims: dict[str, Any] = jwt.decode(
                credential,
                self._jwt_key,
                algorithms=["HS256"],  # never taken from the token's header
                options={"require": ["exp", "iat", "iss", "aud"]},
                issuer=self._jwt_issuer,
                audience=self._jwt_audience,
                leeway=30,
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("invalid_token", "the JWT has expired") from None
        except jwt.InvalidIssuerError:
            raise AuthError("invalid_token", "the JWT was not issued for this service's Zendesk") from None
        except jwt.InvalidAudienceError:
            raise AuthError("invalid_token", f"the JWT's audience is not {self._jwt_audience}") from None
        except jwt.PyJWTError:
            raise AuthError("invalid_token", "the JWT is not valid") from None
        iat = claims.get("iat")
        if not isinstance(iat, int | float) or time.time() - iat > self._jwt_max_age_s:
            raise AuthError("invalid_token", "the JWT is too old")
        who = claims.get("email") or claims.get("sub") or claims.get("user_id")
        desk = self._helpdesk
        name = f"{desk}:{who}" if isinstance(who, str | int) and str(who) else f"{desk}:app"
        # The app's JWTs are signed for this service's one Zendesk: they act for its tenant.
        return Principal(name=name[:200], kind=f"{desk}_app", tenant=self._tenant)


class RateLimiter:
    """A token bucket per caller: ``burst`` requests at once, refilled at ``per_minute``.

    In memory, per process: enough for one service instance; several instances
    behind a balancer each enforce their own share.
    """

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}

    def check(self, key: str, now: float | None = None) -> float:
        """0 when the request may go ahead, else the seconds to wait before retrying."""
        t = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(key, (self.burst, t))
        tokens = min(self.burst, tokens + (t - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, t)
            return 0.0
        self._buckets[key] = (tokens, t)
        return max(1.0, math.ceil((1.0 - tokens) / self.rate))
