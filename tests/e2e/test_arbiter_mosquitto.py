"""The floor arbiter through REAL Mosquitto with the fleet ACL (docs/FLOOR.md): simultaneous presses give exactly
one grant and every client sees the records gapless and in (epoch, seq) order; the primary dies mid-burst and the
standby takes over within the lease without granting anyone else; with no arbiter at all a radio reports "no
floor service" and never transmits. Radios here are the firmware's Floor on the firmware's MQTT client."""
import asyncio

import pytest

from fixtures.mosquitto import poll
from hal import netstream
from ht.mqtt.client import ONLINE
from ht.mqtt.robust import RobustClient
from ht.radio import floormsg as fm
from ht.radio import grant as G
from ht.radio import topics as T
from ht.radio.floor import Floor, Outbox
from htcc.arbiter.service import ArbiterService, monotonic_ms
from htctl.mosquitto import fleet_rights

pytestmark = pytest.mark.sim
FLEET = "kota"
UNITS = ("u1", "u2", "u3", "u4")


def broker(mosquitto):
    users = {u: "pw-" + u for u in UNITS + ("cc", "arb-a", "arb-b")}
    return mosquitto(users=users, acl=fleet_rights(FLEET, {u: ["1"] for u in UNITS}, command_center=("cc",)))


class MiniRadio:
    """The firmware's Floor for talkgroup 1 on a RobustClient: requests go out, records come in."""

    def __init__(self, m, unit):
        self.unit = unit
        self.box = Outbox()
        self.floor = Floor("1", unit, self.box, burst_seed=hash(unit) & 0xFFFF)
        self.records = []
        self.events = []
        self.talked_without_grant = False
        self.client = RobustClient(netstream.opener(m.host, m.port), unit, user=unit, password="pw-" + unit,
                                   keepalive=10, on_message=self._msg)

    def _msg(self, topic, payload, retained):
        r = G.parse(bytes(payload))
        self.records.append(r)
        self.events += self.floor.on_message(r, monotonic_ms())

    async def start(self):
        await self.client.subscribe(T.grants(FLEET, "1"), 1)
        self.client.start()
        await self.client.wait_online()
        self.task = asyncio.ensure_future(self._loop())

    async def _loop(self):
        while True:
            self.events += self.floor.tick(monotonic_ms())
            pubs = self.box.drain()[0]
            for _k, key, payload, qos, retain in pubs:
                await self.client.publish(T.floor(FLEET, key, self.unit), payload, qos, retain)
            await asyncio.sleep(0.01)

    def press(self):
        self.events += self.floor.claim(fm.PRIO_NORMAL, monotonic_ms())

    async def stop(self):
        self.task.cancel()
        await self.client.stop()


def in_order(records):
    keys = [(r.epoch, r.seq) for r in records]
    return all(b > a for a, b in zip(keys, keys[1:]))


def gapless(records):
    # within an epoch, seq goes up by one (a client subscribed before the first record sees every one)
    for a, b in zip(records, records[1:]):
        if a.epoch == b.epoch and b.seq != a.seq + 1:
            return False
    return True


async def arbiters(m, standby=True, **kw):
    svcs = [ArbiterService(FLEET, m.host, m.port, name="arb-a", talkgroups=("1",), password="pw-arb-a", **kw)]
    if standby:
        svcs.append(ArbiterService(FLEET, m.host, m.port, name="arb-b", standby=True, talkgroups=("1",),
                                   password="pw-arb-b", **kw))
    for s in svcs:
        s.task = asyncio.ensure_future(s.run())
    await poll(lambda: all(s.client.state == ONLINE for s in svcs), 10)
    await asyncio.sleep(0.5)
    return svcs


def test_simultaneous_presses_one_grant_records_in_order_everywhere(mosquitto):
    m = broker(mosquitto)

    async def main():
        radios = [MiniRadio(m, u) for u in UNITS]
        for r in radios:
            await r.start()
        svcs = await arbiters(m)
        for _round in range(5):
            for r in radios:
                r.press()
            assert await poll(lambda: all(r.floor.mine is None for r in radios), 10)
            talking = [r.unit for r in radios if r.floor.talking]
            assert len(talking) == 1, talking
            assert all(r.floor.talker() == talking[0] for r in radios)
            lost = [e for r in radios for e in r.events if e[0] == "lost"]
            assert len(lost) >= 3
            holder = [r for r in radios if r.floor.talking][0]
            holder.events += holder.floor.release(0, fm.REASON_USER)
            assert await poll(lambda: all(r.floor.talker() is None for r in radios), 10)
            for r in radios:
                r.events.clear()
        for r in radios:
            assert in_order(r.records) and gapless(r.records), [(x.epoch, x.seq) for x in r.records]
            assert len({(x.epoch, x.seq) for x in r.records}) == len(r.records)
        grants = {(x.unit, x.burst) for x in radios[0].records if x.kind == G.GRANT}
        assert len(grants) == 5          # one per round, renewals aside
        for r in radios:
            await r.stop()
        for s in svcs:
            await s.stop()

    asyncio.run(main())


def test_primary_dies_mid_burst_standby_takes_over_without_a_second_grant(mosquitto):
    m = broker(mosquitto)

    async def main():
        radios = [MiniRadio(m, u) for u in UNITS[:3]]
        for r in radios:
            await r.start()
        svcs = await arbiters(m)
        a = radios[0]
        a.press()
        assert await poll(lambda: a.floor.talking, 10)
        epoch0 = a.floor.epoch
        await svcs[0].stop()            # the primary is gone mid-burst
        svcs[0].task.cancel()
        radios[1].press()               # a competing press during the failover
        assert await poll(lambda: a.floor.epoch > epoch0, 10), "standby never took over"
        assert svcs[1].core.active
        await asyncio.sleep(1.5)
        # the holder kept the floor through the failover (its lease covered it) and nobody else got it
        assert a.floor.talking and not [e for e in a.events if e[0] in ("cut", "preempted")]
        assert not radios[1].floor.talking and not radios[2].floor.talking
        newer = [x for x in radios[2].records if x.epoch > epoch0 and x.kind == G.GRANT]
        assert newer and all(x.unit == a.unit for x in newer)
        for r in radios:
            assert in_order(r.records)
            await r.stop()
        await svcs[1].stop()

    asyncio.run(main())


def test_without_an_arbiter_the_radio_reports_no_floor_service_and_never_talks(mosquitto):
    m = broker(mosquitto)

    async def main():
        r = MiniRadio(m, "u1")
        await r.start()
        r.press()
        assert await poll(lambda: ("service", "1", False) in r.events, 10)
        assert ("unanswered", "1") in r.events and not r.floor.talking and not r.floor.service
        assert not [e for e in r.events if e[0] == "granted"]
        await r.stop()

    asyncio.run(main())
