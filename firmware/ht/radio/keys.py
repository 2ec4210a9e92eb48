# The fleet keys a radio holds (docs/PROVISION.md): the one it signs with and, during a rotation's overlap,
# the previous one it still accepts. `htctl keys rotate` sends the new key wrapped with the old one on the
# radio's own topic; the radio switches at once, keeps it in flash, and drops the old key when told.
import binascii
from ht.voice import frame
from ht.radio.msgtag import Tagger, unwrap, key_id
from ht.config import key_bytes


def _key(config, name):
    try:
        return key_bytes(config, name)
    except (KeyError, ValueError):      # a schema without the setting, or a value that is not hex
        return None


class FleetKeys:
    # key: bytes handed in (tests, tools), else audio.key from the config. store: fn(config) keeps a
    # rotated key in flash. The users are given later (the radio builds them with .tagger and .voice).
    def __init__(self, config, unit, key=None, store=None, emit=None):
        self.config = config
        self.unit = unit
        self.store = store
        self.emit = emit
        self.key = key if key is not None else _key(config, "audio.key")
        old = _key(config, "audio.key_old") if self.key else None
        self.old = old
        self.tagger = Tagger(self.key, (old,) if old else ()) if self.key else None
        self.users = ()       # objects with a .tagger (the inbound dispatcher, the publisher)
        self.audio = None     # AudioPath: its guard and transmitter hold the voice key

    def voice(self):
        # The voice key: sign with the new key, accept both during the overlap. None: no key.
        if not self.key:
            return None
        return frame.key_ring(self.key, self.old) if self.old else self.key

    def on_rekey(self, d, now):
        # A command on our own topic, tagged with a key we accept (ht.radio.inbound checked it).
        if not self.key:
            return
        if "rekey" in d:
            kid = d.get("kid")
            if kid == key_id(self.key):
                return                  # the retained command again, after a reconnect: already in use
            new = unwrap(self.key, self.unit, binascii.unhexlify(d["rekey"]))
            if key_id(new) != kid:
                raise ValueError("rekey: not wrapped with our key")
            self._use(new, self.key)
            self.emit("rekey", {"overlap": 1, "kid": kid})
        elif d.get("retire") and self.old is not None and d.get("kid") == key_id(self.key):
            self._use(self.key, None)
            self.emit("rekey", {"overlap": 0, "kid": d["kid"]})

    def _use(self, key, old):
        # Sign with `key` from now on; accept `old` too while it is given (the overlap).
        self.key, self.old = key, old
        t = self.tagger = Tagger(key, (old,) if old else ())
        for u in self.users:
            u.tagger = t
        k = frame.key_ring(key, old) if old else frame.Key(key)
        if self.audio is not None:
            self.audio.guard.key = k
            self.audio.tx.key = k
        c = self.config
        try:
            c.set("audio.key", binascii.hexlify(key).decode())
            c.set("audio.key_old", binascii.hexlify(old).decode() if old else "")
            if self.store is not None:
                self.store(c)
        except Exception as e:      # a full flash, or a key the schema refuses: it works until the next reboot
            self.emit("config_store_failed", {"why": repr(e)})
