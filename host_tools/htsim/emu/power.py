"""The modem's power and its control pins: supply (POWERON), PWRKEY press timing, RESET, FLIGHT, the boot
banner, a hung module. Functions of the :class:`~htsim.emu.modem.Modem`, like the command handlers.

Pin levels are the board's: PWRKEY 1 = key pressed (the LilyGO boards drive the modem's PWRKEY low through
a transistor).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .modem import Modem


def stop_all(m: Modem) -> None:
    """Everything the module was doing ends: timers, tasks, the command interpreter, sockets, the SIM."""
    m.cancel_pending()
    m.at.stop()
    for s in list(m.sockets.values()):
        s.close("released", flush=False)
    m.sockets = {}
    m.sim.power_down()
    if m.rxbuf is not None:
        m.rxbuf.clear()


def power_on(m: Modem, why: str) -> bool:
    if m.power != "off" or not m.pins["POWERON"] or m.pins["RESET"]:
        return False
    _boot(m, why)
    return True


def _boot(m: Modem, why: str) -> None:
    stop_all(m)
    m.reset_volatile()
    m.power = "booting"
    m.note("boot (%s): banner in %.1f emulated s" % (why, m.d.boot_s))
    m.later(m.d.boot_s, _booted, m)


def _booted(m: Modem) -> None:
    m.power = "on"
    m.rxbuf.clear()
    m.at.start(m.loop)
    m.uart.write(m.frame(list(m.d.banner)))
    if not m.sim.present:
        for u in m.d.no_sim_boot_urcs:
            m.urc(u)
        return
    m.sim.power_up()
    m.sim_urcs(m.d.sim_urcs)
    m.net_kick()


def power_off(m: Modem, why: str, urc: str | None = None) -> bool:
    if m.power == "off":
        return False
    if urc and m.power == "on":
        m.uart.write(b"\r\n" + urc.encode() + b"\r\n")
    stop_all(m)
    m.power = "off"
    m.reg_stat = 0
    m.note("power off (%s)" % why)
    return True


def reboot(m: Modem, why: str) -> None:
    if m.power in ("on", "booting", "hung"):
        _boot(m, why)


def hang(m: Modem) -> None:
    if m.power in ("on", "booting"):
        stop_all(m)
        m.power = "hung"
        m.note("hung: silent until power cycle or reset")


def set_pin(m: Modem, name: str, level: int | str) -> None:
    name = name.upper()
    level = 1 if int(level) else 0
    old = m.pins.get(name)
    if name == "DTR" and level != old:
        m.power_model.dtr(old, level)     # sleep accounting and the UART's wake-up time (rrc.py)
    m.pins[name] = level
    if name == "PWRKEY" and level != old:
        _pwrkey(m, level)
    elif name == "POWERON" and level != old:
        if not level:
            power_off(m, "POWERON low: supply cut")
    elif name == "FLIGHT" and level != old:
        # SIM7600 FLIGHTMODE input: low = RF off (LilyGO drives it high for normal operation)
        m.local_detach()
    elif name == "RESET" and level != old:
        if level and m.power != "off":
            stop_all(m)
            m.power = "reset"
            m.note("held in reset")
        elif not level and m.power == "reset":
            _boot(m, "RESET released")


def _pwrkey(m: Modem, pressed: int) -> None:
    # Thresholds are wall-clock: the firmware times its pulse in real time.
    if pressed:
        was_on = m.power != "off"
        m.pwrkey_at = m.loop.time()
        press = m.pwrkey_at
        if not was_on:
            m.loop.call_later(m.d.pwrkey_on_ms / 1000.0, _pwrkey_held, m, press, "on")
        else:
            m.loop.call_later(m.d.pwrkey_off_ms / 1000.0, _pwrkey_held, m, press, "off")
    else:
        m.pwrkey_at = None


def _pwrkey_held(m: Modem, press: float, action: str) -> None:
    if m.pwrkey_at != press:
        return                           # released too early: no effect
    if action == "on":
        power_on(m, "PWRKEY")
    else:
        power_off(m, "PWRKEY long press", m.d.power_down_urc)
