"""Encrypted backup files of customer data, their manifests, and the verify/restore command.

A backup file holds documents *as stored* (personal fields stay Fernet ciphertext under
CUSTOMER_DATA_KEYS, lookup keys stay keyed hashes; nothing is decrypted), as BSON so datetimes,
binary and every type round-trip exactly, compressed (zlib) and then encrypted as a whole with
AES-256-GCM under a backup key (BACKUP_KEYS, a key ring separate from the data keys)::

    header   = b"HDBKUP" · format version (1 byte) · key-id length (1 byte) · key id (ASCII) · nonce (12 bytes)
    body     = AES-256-GCM(key, nonce, aad=header) of zlib(records)
    trailer  = GCM tag (16 bytes)
    records  = preamble BSON {format, kind, period, collections} ·
               (collection index: 1 byte · BSON document)* ·
               0xFF · BSON {counts: {collection: n}}

Files are written streaming (bounded memory, whatever the number of customers), to a temporary name,
fsynced and renamed, and described by a manifest JSON beside them (kind, period, created_at, counts,
sha256 of the encrypted file, key id, format version). ``python -m intake.backup verify MANIFEST`` checks
a file; ``python -m intake.backup restore MANIFEST --mongodb-url URL --database NAME`` verifies it and
loads it into an empty database (docs/operations.md).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import secrets
import struct
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from bson.raw_bson import RawBSONDocument
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pymongo.errors import PyMongoError

MAGIC = b"HDBKUP"
FORMAT_VERSION = 1
FORMAT_NAME = "helpdesk-intake-customers"
NONCE_BYTES = 12
TAG_BYTES = 16
END = 0xFF
CHUNK = 1 << 16
_KEY_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,32}$")


class BackupError(Exception):
    """A backup cannot be written, verified or restored; the message says why (never a key)."""


# ====================================================================== keys
@dataclass(frozen=True)
class KeyRing:
    """AES-256 backup keys by id; the first encrypts new backups, every one still decrypts old ones."""

    keys: dict[str, bytes]
    current: str

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """``id=base64key,id2=base64key2`` (32-byte keys, standard or url-safe base64); first = current."""
        keys: dict[str, bytes] = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            key_id, sep, encoded = part.partition("=")
            key_id = key_id.strip()
            if not sep or not _KEY_ID.match(key_id):
                raise ValueError("BACKUP_KEYS must be id=base64key,… with ids of letters, digits, _ . - (≤ 32)")
            if key_id in keys:
                raise ValueError(f"BACKUP_KEYS names key id {key_id!r} twice")
            encoded = encoded.strip().replace("-", "+").replace("_", "/")
            try:
                raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"BACKUP_KEYS key {key_id!r} is not base64") from None
            if len(raw) != 32:
                raise ValueError(f"BACKUP_KEYS key {key_id!r} must be 32 bytes (AES-256), not {len(raw)}")
            keys[key_id] = raw
        if not keys:
            raise ValueError("BACKUP_KEYS holds no key")
        return cls(keys, next(iter(keys)))

    def key(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise BackupError(f"the backup was encrypted with key {key_id!r}, which BACKUP_KEYS does not hold") from None


def generate_key_ring_entry(key_id: str = "k1") -> str:
    """A fresh ``id=key`` entry for BACKUP_KEYS."""
    return f"{key_id}={base64.b64encode(secrets.token_bytes(32)).decode()}"


# ====================================================================== writing
def _header(key_id: str, nonce: bytes) -> bytes:
    encoded = key_id.encode("ascii")
    return MAGIC + bytes([FORMAT_VERSION, len(encoded)]) + encoded + nonce


def _bson(value: dict[str, Any]) -> bytes:
    import bson

    return bson.encode(value)


class BackupWriter:
    """Streams records into ``<stem>.hdbk`` under ``directory`` (through a temporary file): compress,
    encrypt, hash as they come. ``finish`` seals, fsyncs and renames it; ``abort`` removes the remains."""

    def __init__(self, directory: Path, stem: str, keys: KeyRing, *, kind: str, period: str,
                 collections: list[str]) -> None:
        if len(collections) >= END:
            raise ValueError("too many collections")
        self.directory = directory
        self.path = directory / f"{stem}.hdbk"
        self.tmp = directory / f".{stem}.hdbk.tmp"
        self.key_id = keys.current
        self.collections = collections
        self.counts = dict.fromkeys(collections, 0)
        nonce = secrets.token_bytes(NONCE_BYTES)
        header = _header(self.key_id, nonce)
        self._encryptor = Cipher(algorithms.AES(keys.key(self.key_id)), modes.GCM(nonce)).encryptor()
        self._encryptor.authenticate_additional_data(header)
        self._zip = zlib.compressobj(6)
        self._sha = hashlib.sha256()
        self.bytes = 0
        directory.mkdir(parents=True, exist_ok=True)
        # owner-only, like any export of customer data (encrypted or not)
        self._file: BinaryIO = open(self.tmp, "wb", opener=lambda p, f: os.open(p, f, 0o600))  # noqa: SIM115
        self._write(header)
        self._plain(_bson({"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "kind": kind,
                           "period": period, "collections": collections}))

    def _write(self, data: bytes) -> None:
        if data:
            self._file.write(data)
            self._sha.update(data)
            self.bytes += len(data)

    def _plain(self, data: bytes) -> None:
        self._write(self._encryptor.update(self._zip.compress(data)))

    def add(self, collection: str, document: bytes) -> None:
        """One document's BSON bytes (as the server returned them)."""
        self._plain(bytes([self.collections.index(collection)]) + document)
        self.counts[collection] += 1

    def add_many(self, collection: str, documents: list[bytes]) -> None:
        for document in documents:
            self.add(collection, document)

    def finish(self) -> tuple[str, int]:
        """Seal and publish the file; returns (sha256 of the encrypted file, its size)."""
        self._plain(bytes([END]) + _bson({"counts": self.counts}))
        self._write(self._encryptor.update(self._zip.flush()))
        self._write(self._encryptor.finalize())
        self._write(self._encryptor.tag)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.tmp, self.path)
        _fsync_dir(self.directory)
        return self._sha.hexdigest(), self.bytes

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.tmp.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Atomically (temporary file, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def manifest_path_for(data_file: Path) -> Path:
    return data_file.with_name(data_file.name.removesuffix(".hdbk") + ".manifest.json")


# ====================================================================== reading
@dataclass
class Verified:
    manifest: dict[str, Any]
    path: Path
    counts: dict[str, int] = field(default_factory=dict)


def load_manifest(manifest_path: Path) -> tuple[dict[str, Any], Path]:
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BackupError(f"cannot read the manifest {manifest_path}: {exc.strerror}") from None
    except ValueError:
        raise BackupError(f"the manifest {manifest_path} is not JSON") from None
    if manifest.get("format") != FORMAT_NAME or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{manifest_path} is not a format-{FORMAT_VERSION} {FORMAT_NAME} manifest")
    name = str(manifest.get("file", ""))
    if not name or Path(name).name != name:
        raise BackupError("the manifest names no data file (or a path outside its directory)")
    return manifest, manifest_path.parent / name


def _sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()


def _records(path: Path, keys: KeyRing, expected_key_id: str) -> Iterator[tuple[str, bytes]]:
    """(collection, BSON document) of every record, in order. The GCM tag is checked when the stream
    ends (BackupError then): callers must consume everything before trusting anything (``verify``)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        fixed = f.read(len(MAGIC) + 2)
        if len(fixed) < len(MAGIC) + 2 or fixed[: len(MAGIC)] != MAGIC:
            raise BackupError(f"{path.name} is not a backup file")
        if fixed[len(MAGIC)] != FORMAT_VERSION:
            raise BackupError(f"{path.name} has format version {fixed[len(MAGIC)]}, expected {FORMAT_VERSION}")
        key_id = f.read(fixed[-1]).decode("ascii", "replace")
        if key_id != expected_key_id:
            raise BackupError(f"the file was encrypted with key {key_id!r}, the manifest says {expected_key_id!r}")
        nonce = f.read(NONCE_BYTES)
        header = fixed + key_id.encode("ascii") + nonce
        body = size - len(header) - TAG_BYTES
        if len(nonce) != NONCE_BYTES or body < 0:
            raise BackupError(f"{path.name} is truncated")
        f.seek(size - TAG_BYTES)
        tag = f.read(TAG_BYTES)
        f.seek(len(header))
        decryptor = Cipher(algorithms.AES(keys.key(key_id)), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(header)
        unzip = zlib.decompressobj()
        buffer = bytearray()
        collections: list[str] | None = None
        ended = False
        left = body

        def plain_chunks() -> Iterator[bytes]:
            nonlocal left
            while left > 0:
                chunk = f.read(min(CHUNK, left))
                if not chunk:
                    raise BackupError(f"{path.name} is truncated")
                left -= len(chunk)
                yield decryptor.update(chunk)
            try:
                yield decryptor.finalize()
            except InvalidTag:
                raise BackupError(f"{path.name} failed authentication (GCM tag): altered, truncated or "
                                  "encrypted with another key") from None

        try:
            for piece in plain_chunks():
                buffer += unzip.decompress(piece)
                while True:
                    if collections is None:
                        doc = _take_bson(buffer, 0)
                        if doc is None:
                            break
                        preamble = RawBSONDocument(doc)
                        if preamble.get("format") != FORMAT_NAME:
                            raise BackupError(f"{path.name} holds no {FORMAT_NAME} data")
                        collections = list(preamble["collections"])
                        del buffer[: len(doc)]
                        continue
                    if not buffer or ended:
                        break
                    doc = _take_bson(buffer, 1)
                    if doc is None:
                        break
                    index = buffer[0]
                    del buffer[: 1 + len(doc)]
                    if index == END:
                        ended = True
                        yield "__end__", doc
                    elif index < len(collections):
                        yield collections[index], doc
                    else:
                        raise BackupError(f"{path.name} holds a record of an unknown collection")
            buffer += unzip.flush()
        except zlib.error:
            raise BackupError(f"{path.name} does not decompress") from None
        if not ended or buffer:
            raise BackupError(f"{path.name} ends without its trailer (incomplete backup)")


def _take_bson(buffer: bytearray, offset: int) -> bytes | None:
    if len(buffer) < offset + 4:
        return None
    (length,) = struct.unpack_from("<i", buffer, offset)
    if length < 5:
        raise BackupError("corrupt record length")
    if len(buffer) < offset + length:
        return None
    return bytes(buffer[offset: offset + length])


def verify(manifest_path: Path, keys: KeyRing) -> Verified:
    """Check a backup completely: the file's sha256 against the manifest, the GCM tag, every record, and
    the counts (trailer and manifest). Nothing is trusted before this has passed."""
    manifest, path = load_manifest(manifest_path)
    if not path.exists():
        raise BackupError(f"the data file {path.name} named by the manifest does not exist")
    digest = _sha256_of(path)
    if digest != manifest.get("sha256"):
        raise BackupError(f"sha256 mismatch: the manifest says {manifest.get('sha256')}, {path.name} has {digest}")
    counts: dict[str, int] = {}
    trailer: dict[str, int] | None = None
    for collection, doc in _records(path, keys, str(manifest.get("key_id"))):
        if collection == "__end__":
            trailer = dict(RawBSONDocument(doc)["counts"])
        else:
            counts[collection] = counts.get(collection, 0) + 1
    expected = {k: int(v) for k, v in (manifest.get("collections") or {}).items()}
    if trailer is None or {k: v for k, v in trailer.items() if v} != counts:
        raise BackupError("the file's own record count disagrees with its contents")
    if {k: v for k, v in expected.items() if v} != counts:
        raise BackupError(f"count mismatch: the manifest says {expected}, the file holds {counts}")
    return Verified(manifest, path, {k: expected.get(k, 0) for k in expected})


def restore(manifest_path: Path, keys: KeyRing, db: Any, *, batch: int = 500,
            update_existing: bool = False) -> dict[str, int]:
    """Verify the backup, refuse a database holding any document, then load every record as it was
    stored (BSON bytes unchanged). ``db`` is a pymongo (synchronous) database.

    ``update_existing``: load over a database that holds documents (one restored from a monthly backup),
    replacing those with the same ``_id`` — how the daily backups made after it are applied, oldest first."""
    from pymongo import ReplaceOne

    checked = verify(manifest_path, keys)
    occupied = [name for name in db.list_collection_names() if db[name].count_documents({}, limit=1)]
    if occupied and not update_existing:
        raise BackupError(f"the target database {db.name} is not empty (documents in: {', '.join(sorted(occupied))}); "
                          "restore only into an empty database (or apply a later daily backup with --update-existing)")
    loaded: dict[str, int] = dict.fromkeys(checked.counts, 0)
    pending: dict[str, list[RawBSONDocument]] = {}

    def flush(name: str) -> None:
        docs = pending.pop(name, [])
        if docs and update_existing:
            db[name].bulk_write([ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs], ordered=True)
        elif docs:
            db[name].insert_many(docs, ordered=True)
        loaded[name] = loaded.get(name, 0) + len(docs)

    for collection, doc in _records(checked.path, keys, str(checked.manifest["key_id"])):
        if collection == "__end__":
            continue
        pending.setdefault(collection, []).append(RawBSONDocument(doc))
        if len(pending[collection]) >= batch:
            flush(collection)
    for name in list(pending):
        flush(name)
    if loaded != checked.counts:
        raise BackupError(f"loaded {loaded}, expected {checked.counts}")
    return loaded


# ====================================================================== command line
def _keys_from_env() -> KeyRing:
    text = os.environ.get("BACKUP_KEYS", "")
    if not text.strip():
        raise BackupError("set BACKUP_KEYS (the key ring the backup was written with) in the environment")
    try:
        return KeyRing.parse(text)
    except ValueError as exc:
        raise BackupError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m intake.backup",
        description="Verify or restore an encrypted intake customer backup. Keys come from BACKUP_KEYS.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("verify", help="check sha256, GCM tag and counts of a backup")
    check.add_argument("manifest", type=Path)
    load = sub.add_parser("restore", help="verify, then load into an EMPTY database")
    load.add_argument("manifest", type=Path)
    load.add_argument("--mongodb-url", default=os.environ.get("MONGODB_URL"),
                      help="target server (default: MONGODB_URL)")
    load.add_argument("--database", required=True, help="target database; must hold no document")
    load.add_argument("--update-existing", action="store_true",
                      help="load over a database restored from an earlier backup, replacing documents with the same "
                           "_id (apply the daily backups after a monthly one, oldest first)")
    sub.add_parser("genkey", help="print a new BACKUP_KEYS entry (id=base64key)").add_argument(
        "--id", default=f"k{datetime.now(UTC):%Y%m%d}")
    args = parser.parse_args(argv)
    try:
        if args.command == "genkey":
            print(generate_key_ring_entry(args.id))
            return 0
        keys = _keys_from_env()
        if args.command == "verify":
            checked = verify(args.manifest, keys)
            print(json.dumps({"verified": checked.path.name, "kind": checked.manifest.get("kind"),
                              "period": checked.manifest.get("period"), "key_id": checked.manifest.get("key_id"),
                              "counts": checked.counts}, ensure_ascii=False))
            return 0
        if not args.mongodb_url:
            raise BackupError("give --mongodb-url (or set MONGODB_URL)")
        from pymongo import MongoClient

        client: Any = MongoClient(args.mongodb_url, tz_aware=True, uuidRepresentation="standard",
                                  serverSelectionTimeoutMS=10_000, w="majority", journal=True)
        try:
            loaded = restore(args.manifest, keys, client[args.database], update_existing=args.update_existing)
        finally:
            client.close()
        print(json.dumps({"restored": args.manifest.name, "database": args.database, "counts": loaded},
                         ensure_ascii=False))
        return 0
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except PyMongoError as exc:
        print(f"error: the database refused or could not be reached: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
