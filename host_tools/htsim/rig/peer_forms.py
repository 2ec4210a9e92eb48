# The radio against modem output forms found in ModemManager's vectors, end to end: the firmware's
# modem layer (under MicroPython unix, spawned by tests/e2e/test_modem_peer_forms.py, or CPython) drives
# an emulator that a test has set up with one quirk, and prints what a field officer would see.
# Usage: micropython peer_forms.py <case> <dialect> <uart_port> <ctl_port> <scale>
#   case lock: the SIM carries a personalisation lock (emulator fault sim_lock) -> link state/reason
#   case ussd: network notices (+CUSD: 2 / 3) come before the balance answer -> what query() returns
#   case forms: unquoted +CCLK and UCS2 operator names -> operator and clock as the radio reads them
import sys
import json
import asyncio
from ht.modem.uart import open_tcp
from ht.modem.lifecycle import Modem
from ht.modem.supervisor import Supervisor
from ht.modem import link as L, ussd
from modem_driver import Ctl, pins_for


async def until(cond, real_s):
    for _ in range(int(real_s * 100)):
        if cond():
            return True
        await asyncio.sleep(0.01)
    return False


async def run(case, dialect, uart_port, ctl_port, scale):
    ctl = Ctl(ctl_port)
    uart = await open_tcp("127.0.0.1", uart_port)
    m = Modem(uart, dialect, pins_for(ctl), {"modem": {"apn": "internet"}}, scale=scale)
    states = []
    m.link.subscribe(lambda lk: states.append(lk.state))
    sup = Supervisor(m)
    sup.start()
    out = {"case": case}
    try:
        if case == "lock":
            out["locked"] = await until(lambda: m.link.state == L.SIM_LOCKED, 60)
            out["reason"] = m.link.reason
            out["reason_id"] = m.link.reason_id
        else:
            out["up"] = await until(lambda: m.link.data_up, 90)
            if case == "ussd":
                out["balance"] = await ussd.query(m, timeout_ms=20000)
                out["ussd"] = m.info.get("ussd")
            elif case == "forms":
                out["operator"] = await m.operator()
                t = await m.clock()
                out["clock"] = list(t[2]) if t else None
                out["tz"] = t[1] if t else None
        out["states"] = states
        out["at_errors"] = m.at.errors
    finally:
        sup.stop()
        uart.close()
    return out


def main(argv):
    out = asyncio.run(run(argv[0], argv[1], int(argv[2]), int(argv[3]), float(argv[4])))
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
