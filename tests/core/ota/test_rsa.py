# The radio's RSA verifier (ht.ota.rsa) against signatures made by OpenSSL (the `cryptography` package),
# on CPython and MicroPython alike.
from ht.ota import rsa
import vectors
from otafake import sign, KEY


def _msg(m):
    return vectors.LONG if m is None else m


def test_openssl_signatures_verify():
    for m, sig in vectors.SIGNED:
        assert rsa.verify(KEY, _msg(m), bytes.fromhex(sig))


def test_a_changed_message_or_signature_fails():
    for m, sig in vectors.SIGNED:
        s = bytearray(bytes.fromhex(sig))
        assert not rsa.verify(KEY, _msg(m) + b"x", bytes(s))
        s[-1] ^= 1
        assert not rsa.verify(KEY, _msg(m), bytes(s))


def test_wrong_length_and_out_of_range_signatures_fail():
    assert not rsa.verify(KEY, b"abc", b"\x01" * 255)
    assert not rsa.verify(KEY, b"abc", b"\xff" * 256)     # >= n


def test_another_key_does_not_verify():
    other = rsa.PublicKey("c" * 511 + "d")
    m, sig = vectors.SIGNED[1]
    assert not rsa.verify(other, m, bytes.fromhex(sig))


def test_signing_with_the_test_key_matches_openssl():
    # PKCS#1 v1.5 is deterministic: our pow() signer gives OpenSSL's bytes.
    m, sig = vectors.SIGNED[2]
    assert sign(m) == bytes.fromhex(sig)


def test_key_id_and_length():
    assert KEY.k == 256 and len(KEY.id) == 12


def test_bad_keys_are_refused():
    for bad in ("abc", "00" * 64, "ff" * 127 + "fe"):
        try:
            rsa.PublicKey(bad)
        except ValueError:
            continue
        assert False, bad
