# RSA signature check, PKCS#1 v1.5 with SHA-256 (RFC 8017 §8.2.2, EMSA-PKCS1-v1_5 §9.2), public
# exponent 65537. Why RSA and not Ed25519 (docs/OTA.md): MicroPython has arbitrary-precision ints and a
# three-argument pow() in C, so a verify is one modular exponentiation (17 squarings/multiplies of a
# 2048-bit number: ~1 ms on unix, tens of ms on an ESP32) and this file is all the code it takes;
# Ed25519 would be a few hundred lines of field arithmetic in Python at seconds per check.
# Only verification lives on the radio; signing happens on the release machine (htctl.release).
import hashlib
import binascii

E = 65537
# DER of DigestInfo{sha256, NULL} before the 32-byte hash (RFC 8017 §9.2, note 1)
_SHA256_INFO = b"\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20"


class PublicKey:
    # n: the modulus as hex (the form provisioning writes into config.json: ota.key)
    def __init__(self, n_hex):
        if isinstance(n_hex, bytes):
            n_hex = n_hex.decode()
        if len(n_hex) % 2 or len(n_hex) < 256:
            raise ValueError("rsa key: need >= 1024 bits of hex")
        raw = binascii.unhexlify(n_hex)
        while raw and raw[0] == 0:
            raw = raw[1:]
        self.k = len(raw)          # signature length in bytes
        self.n = int.from_bytes(raw, "big")
        if not self.n & 1:
            raise ValueError("rsa key: even modulus")
        self.id = binascii.hexlify(hashlib.sha256(raw).digest()[:6]).decode()


def encoded(digest, k):
    # EM = 00 01 FF..FF 00 || DigestInfo || H, as the integer a valid signature raises to.
    t = _SHA256_INFO + digest
    if k < len(t) + 11:
        raise ValueError("rsa key too short")
    return int.from_bytes(b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t, "big")


def verify(key, msg, sig):
    # -> True when sig is key's signature of msg. Compares integers: MicroPython's int.to_bytes needs
    # the exact length and some ports lack it for big ints; from_bytes is everywhere.
    if len(sig) != key.k:
        return False
    s = int.from_bytes(sig, "big")
    if s >= key.n:
        return False
    return pow(s, E, key.n) == encoded(hashlib.sha256(msg).digest(), key.k)
