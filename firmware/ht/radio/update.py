# The radio's end of updates over the air (docs/OTA.md): puts ht.ota's Updater on the radio's MQTT
# session and state machines. Chunk requests are subscriptions to retained messages; the status goes
# into presence (retained, what the console shows) and to the unit's ack topic (what the rollout reads).
# "Busy" is anything the link owes to people: a burst either way, an emergency, a roll call waiting for
# its answer. A staged release is switched to by a restart once the radio has been idle for a while.
import json
from ht.compat import const, ticks_diff, ticks_ms, mpy_arch
from ht.ota.agent import Updater
from ht.ota.release import Context
from ht.ota.rsa import PublicKey

_IDLE_REBOOT_MS = const(30000)


class UpdateLink:
    # out: ht.radio.outbound.Publisher; ack_topic: the unit's "a" topic; restart: fn() (hal.restart)
    def __init__(self, fleet, unit, store, key_hex, board_name, version, out, ack_topic, presence, ptts,
                 emergency, rollcall, emit, restart, idle_reboot_ms=_IDLE_REBOOT_MS):
        self.unit = unit
        self.out = out
        self.ack_topic = ack_topic
        self.presence = presence
        self.ptts = ptts
        self.emergency = emergency
        self.rollcall = rollcall
        self.restart = restart
        self.idle_reboot_ms = idle_reboot_ms
        self._idle_since = None
        ctx = Context(version, None, getattr(store, "BOOT", 1), mpy_arch(), board_name, None)
        self.agent = Updater(fleet, store, PublicKey(key_hex), ctx, self._send, emit)
        presence.fw = ctx.version

    def _send(self, op, topic, payload):
        if op == "sub":
            self.out.subscribe(topic.encode(), 0)    # QoS 0: a lost chunk is asked for again
        elif op == "unsub":
            self.out.unsubscribe(topic.encode())
        else:
            self.presence.ota = payload
            rid = self.agent.dl["rid"] if self.agent.dl else None
            if self.presence.connected:
                self.presence.update(ticks_ms())
                self.out.publish(self.ack_topic, json.dumps({"u": self.unit, "ota": payload, "rid": rid}), 1, False)

    def start(self, now):
        self.agent.start(now)

    def busy(self, now):
        for tg in self.ptts:
            # held counts even when the press got no floor (no arbiter answered): the user wants the link
            if self.ptts[tg].state != "idle" or self.ptts[tg].held:
                return True
        return self.emergency.state != "idle" or self.rollcall.wants_press(now)

    def tick(self, now):
        busy = self.busy(now)
        a = self.agent
        a.tick(now, busy)
        if not a.want_reboot or busy:
            self._idle_since = None
            return
        if self._idle_since is None:
            self._idle_since = now
        elif ticks_diff(now, self._idle_since) >= self.idle_reboot_ms:
            self.restart()

    def offer(self, d, now):
        self.agent.offer(d, now)

    def on_message(self, topic, payload, now):
        self.agent.on_message(topic, payload, now)

    def online(self, now):
        self.agent.online(now)
