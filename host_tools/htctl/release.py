"""Releases for updates over the air (docs/OTA.md): the fleet's release key, the build of the radio manifest
into .mpy files, the signed release manifest, and the retained messages that carry a release to the radios.

The signature is RSA-2048, PKCS#1 v1.5 over SHA-256, exponent 65537: the radio checks it with one
``pow()`` of MicroPython's big integers (``firmware/ht/ota/rsa.py``). The private key stays on the release
machine (a PEM file, mode 0600, at a path the user names); the registry and the radios hold only the modulus.
"""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
import tempfile
from collections.abc import Iterable
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from . import deploy, registry
from .errors import ConflictError, NotFoundError, UserError
from .firmware import BOARDS_DIR, FIRMWARE_DIR

PathLike = str | os.PathLike[str]
KEY_BITS = 2048
NEVER_OTA = ("main.py", "bootstrap.py")     # what a release never replaces: the boot path itself
BOOT_VERSION = 1                             # firmware/bootstrap.py BOOT_VERSION this build needs
CHUNK = 1024                                 # bytes per retained chunk (the radio's MQTT packet buffer: 1536)
MANIFEST_CHUNK = 1024                        # ht/ota/agent.py _MCHUNK
PUBKEY_SETTING = "ota.key"


def keygen(path: PathLike, bits: int = KEY_BITS) -> str:
    """Make the fleet's release key at ``path`` (PEM, created 0600, never overwritten); -> modulus hex."""
    p = pathlib.Path(path)
    if p.exists():
        raise ConflictError("%s exists: a release key is never overwritten" % p,
                            hint="radios trust the old key; move it away first only if you mean to re-key")
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(str(p), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return public_hex(key)


def load_key(path: PathLike) -> rsa.RSAPrivateKey:
    p = pathlib.Path(path)
    if not p.is_file():
        raise NotFoundError("no release key at %s" % p, hint="make one with `htctl release keygen --key PATH`")
    if p.stat().st_mode & 0o077:
        raise UserError("release key %s is readable by others" % p, hint="chmod 600 %s" % p)
    key = serialization.load_pem_private_key(p.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey) or key.public_key().public_numbers().e != 65537:
        raise UserError("%s is not an RSA key with exponent 65537" % p)
    return key


def public_hex(key: rsa.RSAPrivateKey) -> str:
    n = key.public_key().public_numbers().n
    return "%0*x" % ((n.bit_length() + 7) // 8 * 2, n)


def sign(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def verify(n_hex: str, data: bytes, sig: bytes) -> bool:
    """The host's check (OpenSSL): the same question the radio asks."""
    pub = rsa.RSAPublicNumbers(65537, int(n_hex, 16)).public_key()
    try:
        pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        return True
    except Exception:
        return False


def _files(arch: str, version: str, firmware_dir: PathLike, target: str) -> list[tuple[str, bytes]]:
    items, _ = deploy.build(arch, firmware_dir=firmware_dir, target=target)
    out = []
    for it in items:
        rel = it.dest.lstrip("/")
        if rel in NEVER_OTA:
            continue
        if rel == "ht/__init__.mpy":
            # ht.VERSION is the release's version, so the banner and presence say what runs
            src = (pathlib.Path(firmware_dir) / "ht" / "__init__.py").read_text()
            src = "\n".join('VERSION = "%s"' % version if ln.startswith("VERSION =") else ln
                            for ln in src.splitlines()) + "\n"
            with tempfile.TemporaryDirectory() as d:
                f = pathlib.Path(d) / "__init__.py"
                f.write_text(src)
                data, _ = deploy.compile_mpy(f, "ht/__init__.py", arch, pathlib.Path(d) / "cache")
            out.append((rel, data))
        else:
            out.append((rel, it.data))
    return sorted(out)


def build(out_dir: PathLike, key_path: PathLike, version: str, arch: str = "xtensawin",
          boards: Iterable[str] | None = None, floor: str | None = None, chunk: int = CHUNK,
          firmware_dir: PathLike = FIRMWARE_DIR, manifest: str = "radio") -> dict[str, Any]:
    """Build and sign a release into ``out_dir`` (manifest.json, manifest.sig, files/...); -> the manifest.
    ``manifest``: the build (``vdev`` for simulated radios, which also need the desktop HAL)."""
    key = load_key(key_path)
    if boards is None:
        boards = sorted(p.parent.name for p in pathlib.Path(BOARDS_DIR).glob("*/board.json"))
    files = _files(arch, version, firmware_dir, manifest)
    m = {"v": version, "floor": floor or version, "min_boot": BOOT_VERSION, "target": arch,
         "boards": list(boards), "cs": chunk, "key": public_hex(key)[:16],
         "files": [[rel, len(data), hashlib.sha256(data).hexdigest()] for rel, data in files]}
    raw = json.dumps(m, separators=(",", ":")).encode()
    out = pathlib.Path(out_dir)
    for rel, data in files:
        f = out / "files" / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(data)
    (out / "manifest.json").write_bytes(raw)
    (out / "manifest.sig").write_bytes(sign(key, raw))
    return m


class Release:
    """A built release read back from its folder: the signed manifest and the files' bytes."""

    def __init__(self, folder: PathLike) -> None:
        d = pathlib.Path(folder)
        if not (d / "manifest.json").is_file():
            raise NotFoundError("no release in %s (manifest.json missing)" % d, hint="build one with `htctl release`")
        self.raw = (d / "manifest.json").read_bytes()
        self.sig = (d / "manifest.sig").read_bytes()
        self.manifest = json.loads(self.raw)
        self.files = {rel: (d / "files" / rel).read_bytes() for rel, _, _ in self.manifest["files"]}
        self.rid = hashlib.sha256(self.raw).hexdigest()[:10]

    @property
    def version(self) -> str:
        return self.manifest["v"]

    def offer(self, rid: str | None = None) -> dict[str, Any]:
        """The command a radio gets on ``ht/<f>/u/<u>/c``."""
        return {"ota": {"rid": rid or self.rid, "v": self.version, "mb": len(self.sig) + len(self.raw)}}

    @property
    def total_bytes(self) -> int:
        return sum(f[1] for f in self.manifest["files"])

    def messages(self, fleet: str, rid: str | None = None,
                 files: dict[str, bytes] | None = None) -> list[tuple[str, bytes]]:
        """The retained messages that carry it: ``ht/<f>/o/<rid>/m/<k>`` (signature + manifest in pieces) and
        ``ht/<f>/o/<rid>/<file>/<k>`` per chunk.
        ``files`` replaces file contents (the tests' tampered copy), ``rid`` publishes it under another id."""
        rid = rid or self.rid
        base = "ht/%s/o/%s/" % (fleet, rid)
        blob = self.sig + self.raw
        out = [("%sm/%d" % (base, k), blob[k * MANIFEST_CHUNK:(k + 1) * MANIFEST_CHUNK])
               for k in range((len(blob) + MANIFEST_CHUNK - 1) // MANIFEST_CHUNK)]
        cs = self.manifest["cs"]
        for i, (rel, size, _) in enumerate(self.manifest["files"]):
            data = (files or {}).get(rel, self.files[rel])
            for k in range((size + cs - 1) // cs):
                out.append(("%s%d/%d" % (base, i, k), data[k * cs:(k + 1) * cs]))
        return out

    def wire_bytes(self, fleet: str) -> int:
        """What one radio downloads: payloads plus MQTT PUBLISH framing and its SUBSCRIBE/UNSUBSCRIBE."""
        n = 0
        for topic, payload in self.messages(fleet):
            t = len(topic.encode())
            n += 2 + 2 + t + len(payload) + (1 if len(payload) + t > 120 else 0)   # PUBLISH (QoS 0)
            n += 2 + 2 + 2 + t + 1 + 4 + 2 + 2 + t + 4                              # SUB/SUBACK, UNSUB/UNSUBACK
        return n


def register_key(conn: Any, key_path: PathLike) -> str:
    """Keep the release key's public half in the registry (provisioning writes it into each radio's config)."""
    n = public_hex(load_key(key_path))
    registry.set_setting(conn, PUBKEY_SETTING, n)
    return n
