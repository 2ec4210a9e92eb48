"""Property tests of the AT engine (CPython, hypothesis): URCs interleaved anywhere, any chunking,
garbage and truncation, every CEREG/CPIN form; never a crash, never a URC taken for a response,
link state always consistent."""
import asyncio
import random

from hypothesis import HealthCheck, given, settings, strategies as st

from core.modem.test_at import FakeUART
from ht.modem import parse as P
from ht.modem import dialects
from ht.modem import link as L
from ht.modem.at import AT

SET = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

URCS_SIMCOM = ['+CEREG: 1,"1A2B","01A2B3C4",7', "+CEREG: 2", "RING", "+CIPRXGET: 1,0", "SMS DONE",
               "+CGEV: NW PDN DEACT 1", "+CPIN: SIM REMOVED", '+CMTI: "SM",3', "+IPCLOSE: 0,1",
               "*ATREADY: 1", "+CTZV: +28", "NO CARRIER", "+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY"]
URCS_QUECTEL = ['+QIURC: "recv",0', '+QIURC: "closed",1', "+QIND: SMS DONE", "+QUSIM: 1",
                '+QIURC: "pdpdeact",1', "+QSIMSTAT: 1,0", "+CEREG: 5", "RDY", "+CFUN: 1"]

# (command, expect prefix, response lines); CEREG read-form responses test the URC-form rule
COMMANDS = [("AT+CSQ", "+CSQ:", ["+CSQ: 17,99"]),
            ("AT+CEREG?", "+CEREG:", ['+CEREG: 2,1,"1A2B","01A2B3C4",7']),
            ("AT+CEREG?", "+CEREG:", ["+CEREG: 0,5"]),
            ("AT+CIMI", "", ["510101234567890"]),
            ("AT+COPS?", "+COPS:", ['+COPS: 0,0,"TELKOMSEL",7']),
            ("AT+CGDCONT?", "+CGDCONT:", ['+CGDCONT: 1,"IP","internet","0.0.0.0",0,0',
                                          '+CGDCONT: 2,"IPV4V6","ims","0.0.0.0",0,0'])]


def _drive(dialect, cmd, expect, reply_chunks, raw=None):
    urcs = []
    fake = FakeUART({})
    at = AT(fake, dialects.get(dialect), urcs.append)

    async def main():
        at.start()

        async def modem():
            while not fake.sent:
                await asyncio.sleep(0)
            for c in reply_chunks:
                fake.push(c)
                await asyncio.sleep(0)
        t = asyncio.create_task(modem())
        try:
            r = await at.cmd(cmd, expect, timeout_ms=2000, raw=raw)
            await t
            await asyncio.sleep(0.001)
            return r
        finally:
            at.stop()
    return asyncio.run(main()), urcs, at


def _chunks(data, cuts):
    cuts = sorted(set(c % (len(data) + 1) for c in cuts))
    out, prev = [], 0
    for c in cuts + [len(data)]:
        out.append(data[prev:c])
        prev = c
    return [c for c in out if c]


@SET
@given(st.sampled_from(COMMANDS), st.sampled_from(["A7670", "SIM7600", "EC200U", "EG91"]),
       st.lists(st.tuples(st.integers(0, 10), st.integers(0, 100)), max_size=6),
       st.lists(st.integers(0, 10000), max_size=12), st.booleans())
def test_urcs_anywhere_never_taken_for_responses(cmd, dialect, inserts, cuts, echo):
    name, expect, resp = cmd
    pool = URCS_QUECTEL if dialect in ("EC200U", "EG91") else URCS_SIMCOM
    urcs = [pool[i % len(pool)] for _, i in inserts]
    lines = list(resp)
    for (pos, i), u in zip(inserts, urcs):
        lines.insert(pos % (len(lines) + 1), u)
    data = (name + "\r" if echo else "").encode() + b"".join(b"\r\n" + s.encode() + b"\r\n" for s in lines)
    data += b"\r\nOK\r\n"
    got, seen, at = _drive(dialect, name, expect, _chunks(data, cuts))
    assert got == resp
    # everything inserted came out as a URC, in wire order (a +CUSD-free pool: one line each)
    assert seen == [line for line in lines if line not in resp]
    assert len(seen) == len(urcs)
    assert at.errors == 0


@SET
@given(st.binary(max_size=300), st.lists(st.integers(0, 1000), max_size=10),
       st.sampled_from(URCS_SIMCOM), st.integers(0, 3))
def test_raw_payload_any_bytes_any_chunking(payload, cuts, urc, where):
    hdr = b"\r\n+CIPRXGET: 2,0,%d,0\r\n" % len(payload)
    u = b"\r\n" + urc.encode() + b"\r\n"
    parts = [hdr, payload, b"\r\nOK\r\n"]
    if where < 3:
        parts.insert((0, 3, 2)[where], u)     # before the header, after OK, between data and OK
    data = b"".join(parts)
    got, seen, at = _drive("A7670", "AT+CIPRXGET=2,0,1500", "+CIPRXGET:", _chunks(data, cuts),
                           raw=lambda line: P.num(P.fields(line)[2], 0))
    assert bytes(at.raw) == payload
    assert seen == ([urc] if where < 3 else [])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(["A7670", "EC200U"]))
def test_garbage_then_clean_command_still_works(garbage, dialect):
    urcs = []
    fake = FakeUART({"AT+CSQ": b"\r\n+CSQ: 9,99\r\n\r\nOK\r\n"})
    at = AT(fake, dialects.get(dialect), urcs.append)
    at.feed(garbage)
    at.feed(b"\r\n")        # a modem line end after the noise (the reader never waits on a half line)
    assert at.errors == 0

    async def main():
        at.start()
        try:
            return await at.cmd("AT+CSQ", "+CSQ:", timeout_ms=2000)
        finally:
            at.stop()
    assert asyncio.run(main()) == ["+CSQ: 9,99"]


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 11), st.integers(0, 2), st.booleans(), st.booleans(),
       st.text(alphabet="0123456789ABCDEF", min_size=1, max_size=8))
def test_cereg_forms_roundtrip(stat, n, urc, with_loc, tac):
    loc = ',"%s","%s",7' % (tac, tac * 2) if with_loc else ""
    line = "+CEREG: %d%s" % (stat, loc) if urc else "+CEREG: %d,%d%s" % (n, stat, loc)
    assert P.cereg_is_urc(line) == urc
    assert P.cereg_stat(line) == stat


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_parsers_never_raise(s):
    for fn in (P.cereg_stat, P.cpin_state, P.csq_dbm, P.cesq, P.cops_name, P.cgpaddr, P.cclk):
        fn(s)
        fn("+X: " + s)
    for d in ("A7670", "SIM7600", "EC200U", "EG91"):
        dd = dialects.get(d)
        dd.parse_cell("+CPSI: " + s)
        dd.parse_cell('+QENG: "servingcell",' + s)
        dd.parse_retries(["+SPIC: " + s, "+QPINC: " + s])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(L.STATES), st.booleans(), st.integers(0, 5),
                          st.booleans()), max_size=40))
def test_link_state_always_consistent(events):
    link = L.Link()
    seen = []
    link.subscribe(lambda lk: seen.append(lk.snapshot()))
    gens = 0
    for state, roaming, bars, online in events:
        prev = link.state
        link.set(state, roaming=roaming if state in (L.REGISTERED, L.DATA_UP) else None)
        if state == L.DATA_UP and prev != L.DATA_UP:
            gens += 1
        link.set_bars(bars)
        link.set_online(online)
        assert link.generation == gens
        assert link.roaming is False or link.state in (L.REGISTERED, L.DATA_UP)
        assert link.online is False or link.state == L.DATA_UP
        assert link.stage in ("booting", "sim", "registered", "data", "online")
        assert (link.stage == "online") == (link.state == L.DATA_UP and link.online)
        assert link.reason and link.reason_id
    assert len(seen) == link.changes
    if seen:
        assert seen[-1] == link.snapshot()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(URCS_SIMCOM + URCS_QUECTEL + ["+CPIN: READY", "+CEREG: 3",
                                                              "+CEREG: 0,1"]), max_size=30),
       st.integers(0, 6))
def test_supervisor_urc_events_only_ever_lower_the_ladder(urcs, start):
    from ht.modem.lifecycle import Modem
    from ht.modem.supervisor import Supervisor

    async def main():
        m = Modem(FakeUART({}), random.choice(["A7670", "SIM7600", "EC200U", "EG91"]))
        sup = Supervisor(m)
        sup.need = start
        for u in urcs:
            before = sup.need
            m._urc(u)
            assert sup.need <= before
            assert m.link.state in L.STATES
            if sup.need < 5:
                assert not m.net.socks
    asyncio.run(main())


CPIN_STATES = ["READY", "SIM PIN", "SIM PUK", "SIM PIN2", "SIM PUK2", "NOT READY", "SIM REMOVED",
               "NOT INSERTED", "PH-SIM PIN"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CPIN_STATES), st.sampled_from(["", " ", "  "]), st.sampled_from(["", " ", "\t"]),
       st.sampled_from(["A7670", "SIM7600", "EC200U", "EG91"]), st.booleans())
def test_cpin_forms_response_or_urc(state, pre, post, dialect, in_flight):
    # "+CPIN:" is both the AT+CPIN? answer and a URC: in flight it is the answer, otherwise a URC
    # that the modem layer turns into SIM gone / back.
    line = "+CPIN:%s%s%s" % (pre, state, post)
    assert P.cpin_state(line) == state
    from ht.modem.lifecycle import Modem
    events = []

    async def main():
        fake = FakeUART({"AT+CPIN?": ("\r\n%s\r\n\r\nOK\r\n" % line).encode()})
        m = Modem(fake, dialect)
        m.on_event = lambda kind, ln: events.append(kind)
        m.start()
        try:
            if in_flight:
                return await m.at.cmd("AT+CPIN?", "+CPIN:", timeout_ms=2000)
            m.at.feed(("\r\n%s\r\n" % line).encode())
            return None
        finally:
            m.at.stop()
    got = asyncio.run(main())
    if in_flight:
        assert got == [line.strip()] and events == []
    else:
        gone = state in ("NOT READY", "SIM REMOVED", "NOT INSERTED")
        back = state == "READY" or state.startswith("SIM PIN") or state.startswith("SIM PUK")
        assert events == (["sim_gone"] if gone else ["sim_back"] if back else [])


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2 ** 31), st.integers(1, 12))
def test_backoff_grows_with_full_jitter_and_is_capped(seed, failures):
    from ht.modem.lifecycle import Modem
    from ht.modem.supervisor import Supervisor

    async def main():
        sup = Supervisor(Modem(FakeUART({}), "A7670"), rng=random.Random(seed), backoff_max_ms=60000)
        waits = []

        async def fake_wait(ms):
            waits.append(ms)
        sup._wait = fake_wait
        for _ in range(failures):
            await sup._backoff()
        return waits
    waits = asyncio.run(main())
    for n, ms in enumerate(waits, 1):
        base = min(1000 << min(n, 6), 60000)
        assert base // 2 <= ms <= base


@SET
@given(st.one_of(st.integers(-10 ** 9, 10 ** 9).map(str), st.text(max_size=8)),
       st.sampled_from(["quectel", "simcom"]), st.binary(max_size=200),
       st.lists(st.integers(0, 1000), max_size=10))
def test_any_announced_length_any_chunking_never_hangs_or_grows(count, family, tail, cuts):
    # issue 11: "+QIRD: -12" walked the reader backwards forever; any count, any chunking now either
    # reads exactly that many bytes (a plain number within RAW_MAX) or none, and the reader moves on
    from ht.modem import sockets as S
    from ht.modem.lines import RAW_MAX
    if family == "quectel":
        cmd, exp, fn, hdr, d = "AT+QIRD=0,1500", "+QIRD:", S._raw_quectel, "+QIRD: " + count, "EC200U"
    else:
        cmd, exp, fn, hdr, d = ("AT+CIPRXGET=2,0,1500", "+CIPRXGET:", S._raw_simcom,
                                "+CIPRXGET: 2,0,%s,0" % count, "A7670")
    data = b"\r\n" + hdr.encode("utf-8", "replace").replace(b"\n", b" ").replace(b"\r", b" ") + b"\r\n"
    data += tail + b"\r\nOK\r\n"
    at = AT(FakeUART({}), dialects.get(d), lambda line: None)
    at.begin(cmd, exp, fn, False)
    for c in _chunks(data, cuts):
        at.feed(c)
    assert at.hangs == 0 and at.errors == 0
    assert len(at.raw) <= RAW_MAX and at._raw_need >= 0
    want = fn(hdr)
    if want is None or want > len(tail) + 6:
        assert at.raw == b"" or want is not None
    else:
        assert bytes(at.raw) == (tail + b"\r\nOK\r\n")[:want]


def test_fuzz_bench_drives_the_real_engine():
    import sys
    import pathlib
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
    import bench_at_fuzz
    r = bench_at_fuzz.fuzz(20000, seed=3)
    assert r["at_fuzz_hangs"] == 0 and r["at_fuzz_crashes"] == 0 and r["at_fuzz_badlen"] > 0
