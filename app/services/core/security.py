"""Password hashing (argon2), random tokens stored only as hashes, and sealed secrets."""

from __future__ import annotations

import base64
import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.services.core.errors import ValidationFailed
from app.settings import get_settings

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
_COMMON = frozenset(
    {
        "password", "password1", "password123", "1234567890", "qwertyuiop", "letmein123",
        "iloveyou12", "welcome123", "administrator", "guildhall123", "changeme123",
    }
)  # fmt: skip


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_cost: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)


def _current_hasher() -> PasswordHasher:
    s = get_settings()
    return _hasher(s.argon2_time_cost, s.argon2_memory_cost)


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _current_hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches; never raises for a wrong password or a damaged hash."""
    try:
        return _current_hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the account does not exist, so timing does not tell.
def dummy_verify(password: str) -> None:
    """Spend the same time as a real verification."""
    verify_password(_dummy_hash(), password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def unusable_password_hash() -> str:
    """A hash of a random secret nobody knows: the account signs in only after a reset."""
    return hash_password(new_token())


def check_password_strength(password: str, *, email: str = "", field: str = "password") -> None:
    """Refuse weak passwords with a message that says what to change."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"Use at least {MIN_PASSWORD_LENGTH} characters.", field=field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(f"Use at most {MAX_PASSWORD_LENGTH} characters.", field=field)
    lowered = password.lower()
    if lowered in _COMMON or len(set(password)) < 5:
        raise ValidationFailed("That password is too easy to guess.", field=field)
    has_letter = any(c.isalpha() for c in password)
    has_other = any(not c.isalpha() for c in password)
    if not (has_letter and has_other):
        raise ValidationFailed("Mix letters with numbers or symbols.", field=field)
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in lowered:
        raise ValidationFailed("Don't use your email address in your password.", field=field)


def new_token() -> str:
    """A random URL-safe secret (256 bits)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The SHA-256 hex digest stored in place of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _fernet() -> Fernet:
    # A key of its own for sealing, derived from the app's secret (HKDF), so the secret key
    # itself never encrypts anything and rotating it makes old sealed values unreadable.
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"guildhall:sealed-mail"
    ).derive(get_settings().secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(text: str) -> str:
    """`text` encrypted and authenticated with a key derived from the app's secret."""
    return _fernet().encrypt(text.encode()).decode()


def unseal(sealed: str) -> str | None:
    """The text `seal` sealed, or None when it was tampered with or sealed by another key."""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None
