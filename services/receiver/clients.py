"""The councils' senders: client id, council and the argon2id hash of the client secret, in a JSON file."""

from __future__ import annotations

import functools
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from services.alertdesk.passwords import hash_password, verify_password

LA_CODE = re.compile(r"\d{3}")
CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,63}")
MAX_SECRET_CHARACTERS = 256  # longer is refused before hashing


class ClientsFileError(ValueError):
    """The clients file cannot be read or a new client is not acceptable; the message names no secret."""


@dataclass(frozen=True, slots=True)
class Client:
    """One council's sender: it may post records for its council only."""

    client_id: str
    la_code: str


@dataclass(frozen=True, slots=True)
class ClientRegistry:
    clients: dict[str, tuple[Client, str]]  # client id -> (client, secret hash)

    @classmethod
    def load(cls, path: Path) -> ClientRegistry:
        """The file, or no clients when it does not exist yet (every token request is then refused)."""
        if not path.exists():
            return cls({})
        try:
            document = json.loads(path.read_text())
            entries = document["clients"]
            clients = {
                client_id: (Client(client_id, str(entry["la_code"])), str(entry["secret_hash"]))
                for client_id, entry in entries.items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise ClientsFileError(f"cannot read the receiver's clients file {path}: {type(error).__name__}") from None
        return cls(clients)

    def check(self, client_id: str, secret: str) -> Client | None:
        """The client when the secret is right; slow on purpose (argon2id), so call it off the event loop."""
        entry = self.clients.get(client_id)
        if len(secret) > MAX_SECRET_CHARACTERS:
            return None
        if entry is None:  # as slow as a wrong secret, so timing does not tell which client ids exist
            verify_password(secret, _dummy_hash())
            return None
        client, secret_hash = entry
        return client if verify_password(secret, secret_hash) else None


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(32))


def add_client(path: Path, client_id: str, la_code: str) -> str:
    """Register (or re-key) a sender for a council; returns the new secret, which is stored only as a hash."""
    if not CLIENT_ID.fullmatch(client_id):
        raise ClientsFileError("a client id is 3 to 64 letters, digits, dots, dashes or underscores")
    if not LA_CODE.fullmatch(la_code):
        raise ClientsFileError("a council is its three-digit DfE code, e.g. 886")
    document: dict[str, dict[str, dict[str, str]]] = {"clients": {}}
    if path.exists():
        ClientRegistry.load(path)  # refuse to overwrite a file we cannot read
        document = json.loads(path.read_text())
    secret = secrets.token_urlsafe(32)
    document["clients"][client_id] = {"la_code": la_code, "secret_hash": hash_password(secret)}
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(document, indent=2) + "\n")
    temporary.replace(path)
    return secret
