"""The signed head of the log: the chain hash at a position, signed with an
Ed25519 key kept outside the database (LIFECYCLE_SIGNING_KEY names the file;
every host of one register uses the same file, copied by the operator like a
TLS key). Snapshots and exports record a signed head; `lifecycle verify
--since` proves that the log still extends it, so a log rewritten with fresh
chain hashes, or cut short, is caught by someone holding an old snapshot."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT = "jgsw-signed-head/1"


class SigningError(ValueError):
    pass


def fingerprint(public: Ed25519PublicKey) -> str:
    """`SHA256:<base64>` of the raw public key, as ssh-keygen -l shows keys."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


def message(position: int, chain_head: str) -> bytes:
    return f"{FORMAT}\n{position}\n{chain_head}\n".encode("ascii")


@dataclass(frozen=True)
class SignedHead:
    position: int
    chain_head: str
    key: str        # the signing key's fingerprint
    signature: str  # base64 Ed25519 signature of message(position, chain_head)

    def as_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "position": self.position, "chain_head": self.chain_head,
                "key": self.key, "signature": self.signature}

    @classmethod
    def from_dict(cls, data: Any) -> SignedHead:
        try:
            if data["format"] != FORMAT:
                raise SigningError(f"a signed head of format {data['format']!r}, not {FORMAT!r}")
            return cls(int(data["position"]), str(data["chain_head"]), str(data["key"]),
                       str(data["signature"]))
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, SigningError):
                raise
            raise SigningError(f"not a signed head: {e}") from None

    def verified_by(self, keys: list[Ed25519PublicKey]) -> Ed25519PublicKey | None:
        """The key among `keys` whose signature this is, or None."""
        try:
            signature = base64.b64decode(self.signature, validate=True)
        except ValueError:
            return None
        for key in keys:
            try:
                key.verify(signature, message(self.position, self.chain_head))
            except InvalidSignature:
                continue
            return key
        return None


class HeadSigner:
    """The register's signing key, generated on first use if its file is absent."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._key: Ed25519PrivateKey | None = None

    @property
    def key(self) -> Ed25519PrivateKey:
        if self._key is None:
            self._key = self._load_or_create()
        return self._key

    @property
    def public(self) -> Ed25519PublicKey:
        return self.key.public_key()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public)

    def public_pem(self) -> bytes:
        return self.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, position: int, chain_head: str) -> SignedHead:
        signature = self.key.sign(message(position, chain_head))
        return SignedHead(position, chain_head, self.fingerprint, base64.b64encode(signature).decode())

    def _load_or_create(self) -> Ed25519PrivateKey:
        try:
            return self._load()
        except FileNotFoundError:
            pass
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        try:  # O_EXCL: two processes starting together keep the first key written
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self._load()
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        return key

    def _load(self) -> Ed25519PrivateKey:
        data = self.path.read_bytes()
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as e:
            raise SigningError(f"{self.path} is not an unencrypted PEM private key: {e}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningError(f"{self.path} holds a {type(key).__name__}, not an Ed25519 key")
        return key


def load_public_key(path: Path | str) -> Ed25519PublicKey:
    """A public key file (PEM), or the public half of a private key file."""
    data = Path(path).read_bytes()
    try:
        key: Any = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError) as e:
            raise SigningError(f"{path} is not a PEM public or private key: {e}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key
