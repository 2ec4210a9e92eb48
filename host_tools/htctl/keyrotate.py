"""Fleet voice-key rotation over the air (``htctl fleet key rotate`` / ``retire``; docs/PROVISION.md).

1. ``rotate``: the registry makes a new key (the old one stays as ``audio.key_old``). Every unit gets, retained
   on its own command topic ``ht/<fleet>/u/<unit>/c``, ``{"rekey": <new key XOR HMAC(old key, unit)>, "kid": ..}``
   tagged with the old key (ht.radio.msgtag): only a holder of the old key learns the new one. A radio signs with
   the new key at once and accepts both (the overlap); one that was off gets the retained command on reconnect.
2. ``retire`` (after every radio is on the new key): ``{"retire": 1, "kid": ..}`` tagged with the new key; radios
   drop the old key. A radio that missed the whole overlap must be provisioned again by cable.
Arbiters read both keys from the registry when started (``htctl arbiter``): restart them after each step.

Library code: returns data or raises :class:`~htctl.errors.UserError` / DeviceError; never prints.
"""
from __future__ import annotations

import binascii
import json
import time
import urllib.parse
from typing import Any

from ht.radio import msgtag
from ht.radio import topics as T

from .errors import DeviceError, UserError


def rekey_messages(fleet: str, units: list[str], old_hex: str, new_hex: str) -> list[tuple[str, bytes]]:
    old, new = binascii.unhexlify(old_hex), binascii.unhexlify(new_hex)
    tags = msgtag.Tagger(old)
    out = []
    for u in units:
        topic = T.unit_topic(fleet, u, T.COMMAND)
        topic = topic.decode() if isinstance(topic, bytes) else topic
        body = json.dumps({"rekey": binascii.hexlify(msgtag.wrap(old, u, new)).decode(),
                           "kid": msgtag.key_id(new)}, separators=(",", ":")).encode()
        out.append((topic, tags.seal(topic, body)))
    return out


def retire_messages(fleet: str, units: list[str], new_hex: str) -> list[tuple[str, bytes]]:
    new = binascii.unhexlify(new_hex)
    tags = msgtag.Tagger(new)
    out = []
    for u in units:
        topic = T.unit_topic(fleet, u, T.COMMAND)
        topic = topic.decode() if isinstance(topic, bytes) else topic
        body = json.dumps({"retire": 1, "kid": msgtag.key_id(new)}, separators=(",", ":")).encode()
        out.append((topic, tags.seal(topic, body)))
    return out


def publish(url: str, messages: list[tuple[str, bytes]], username: str | None = None,
            password: str | None = None, timeout_s: float = 30.0) -> int:
    """Publish retained at QoS 1 and wait for every PUBACK; -> how many the broker took."""
    import paho.mqtt.client as mqtt

    u = urllib.parse.urlparse(url)
    if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
        raise UserError("broker URL must look like mqtt://host:1883, got %r" % url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    if username:
        client.username_pw_set(username, password)
    if u.scheme == "mqtts":
        client.tls_set()
    try:
        client.connect(u.hostname, u.port or (8883 if u.scheme == "mqtts" else 1883), keepalive=30)
    except OSError as exc:
        raise DeviceError("cannot reach the broker at %s: %s" % (url, exc),
                          hint="check the URL; or use --no-broker and provision every radio by cable")
    client.loop_start()
    try:
        infos = [client.publish(t, p, qos=1, retain=True) for t, p in messages]
        deadline = time.monotonic() + timeout_s
        for i in infos:
            i.wait_for_publish(max(0.1, deadline - time.monotonic()))
        done = sum(1 for i in infos if i.is_published())
        if done < len(infos):
            raise DeviceError("the broker at %s took %d of %d key messages" % (url, done, len(infos)),
                              hint="check --broker-user, $HTCTL_BROKER_PASSWORD and the ACL (the console "
                                   "account must publish on ht/<fleet>/u/+/c); run the step again")
        return done
    finally:
        client.disconnect()
        client.loop_stop()


def summary(step: str, fleet: str, units: list[str], old_hex: str, new_hex: str, sent: int | None) -> dict[str, Any]:
    return {"step": step, "fleet": fleet, "units": units, "sent": sent,
            "old_kid": msgtag.key_id(binascii.unhexlify(old_hex)), "new_kid": msgtag.key_id(binascii.unhexlify(new_hex))}
