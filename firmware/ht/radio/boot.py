# The radio as it boots on the ESP32 and on the virtual device: board + config + HAL -> modem,
# supervisor, data plan, and the Radio riding MQTT through the modem's AT socket (docs/RADIO.md).
# firmware/main.py calls run(hal, board, config).
from ht.radio.app import Radio
from ht.modem.link import Link
from ht.modem.lifecycle import Modem
from ht.modem.supervisor import Supervisor
from ht.modem.dataplan import DataPlan
from ht.modem.tls import read_ca
from ht.modem.sleep import ModemSleep, SleepUART, CMDS
from ht.radio.power import PowerPolicy
from ht.radio.sound import VOLUME_FILE
from ht.radio.bootepoch import EPOCH_FILE

PLAN_FILE = "dataplan.json"


def broker_addr(url, tls=False):
    # "mqtt://host:port" / "mqtts://host" -> (host, port, tls). ht.config has already checked the form.
    # broker.tls (tls=True) asks for TLS whatever the scheme says.
    tls = bool(tls) or url.startswith("mqtts://")
    rest = url.split("://", 1)[1]
    host, _, port = rest.partition(":")
    return host, int(port) if port else (8883 if tls else 1883), tls


def modem_opener(sup, host, port, tls=False, link=None):
    # RobustClient's opener: a fresh AT socket through the modem each time (OSError while data is down).
    # tls: through the modem's TLS client only; a failure puts its reason on the link (link.reason /
    # reason_id: the readiness reason the radio shows) and raises - never a plain socket instead.
    shown = [False]

    async def _open():
        try:
            s = await sup.open(host, port, tls=tls)
        except OSError as e:
            r = getattr(e, "reason", None)
            if tls and r and link is not None and link.data_up:
                link.set(link.state, r)
                shown[0] = True
            raise
        if shown[0] and link.data_up:
            shown[0] = False
            link.set(link.state)          # back to the plain "data connected" text
        return s
    return _open


def _file_store(name):
    def load():
        try:
            with open(name) as f:
                return f.read()
        except OSError:
            return None

    def save(text):
        with open(name, "w") as f:
            f.write(text)
    return load, save


def _opt(config, key, default):
    try:
        v = config.get(key)
    except (KeyError, ValueError):
        return default
    return default if v is None else v


def _spawn(coro):
    import asyncio
    return asyncio.create_task(coro)


def _atomic_store(name):
    # the boot epoch: a reset half-way through the write must leave the old value, not an empty file
    load, _ = _file_store(name)

    def save(text):
        import os
        with open(name + ".tmp", "w") as f:
            f.write(text)
        os.rename(name + ".tmp", name)
    return load, save


def build(hal, board, config, events=None, scale=None, store=True, ca=None, **kw):
    # -> (radio, supervisor). kw goes to Radio (fleet=, key=, ...). scale: the modem's time scale, by
    # default the HAL's (1 on the radio; the emulator's on a virtual device). ca: the TLS CA's PEM
    # (default: ca.pem on the file system, as `htctl provision --ca` writes it).
    if scale is None:
        scale = getattr(hal, "time_scale", 1.0)
    link = Link()
    load, save = _file_store(PLAN_FILE) if store else (None, None)
    plan = DataPlan.from_config(config, load=load, save=save)
    pins = hal.modem_pins()
    saving = _opt(config, "power.save", True)
    uart = hal.modem_uart()
    sleep = None
    if saving and pins.get("dtr") is not None:
        # the module sleeps between exchanges; every AT write wakes it first (ht/modem/sleep.py)
        sleep = ModemSleep(pins["dtr"], None)
        uart = SleepUART(uart, sleep)
    modem = Modem.from_board(board, config, uart, pins, link=link, counter=plan.count, scale=scale)
    if sleep is not None:
        sleep.cmd = CMDS.get(modem.d.family)     # AT+CSCLK=1 / AT+QSCLK=1
        # An idle socket polls for data in case a URC was lost; every poll wakes the module. Asleep, the
        # module announces data itself (URC, RI), so the safety net is stretched from 2 s to 30 s.
        modem.net.poll_ms = 30000
    # Power saving stretches the supervisor's idle checks: each one wakes the module's UART (a 3 s AT
    # probe would keep it awake a third of the time). A hung modem is still found: every MQTT exchange
    # goes through it, and three timeouts in a row mean "hung" whichever command met them.
    sup = Supervisor(modem, plan, probe_ms=20000, signal_ms=60000, check_ms=60000) if saving else \
        Supervisor(modem, plan)
    power = PowerPolicy(hal, sleep, saving)
    if sleep is not None:
        def sleep_link(lk):
            # slow clock on each time data comes up (a reboot forgets it); awake while anything is down
            if lk.data_up:
                if not sleep.enabled:
                    _spawn(sleep.enable(modem.at))
            else:
                sleep.lost()
        link.subscribe(sleep_link)     # the radio's control tick puts the module to sleep (PowerPolicy.update)
    host, port, tls = broker_addr(config.get("broker.url"), config.get("broker.tls"))
    if tls:
        # mqtts:// or broker.tls: the modem's own TLS client with the provisioned CA (ht/modem/tls.py).
        # Without a CA every open fails with the reason (no plain fallback: the password never goes clear).
        modem.tls.set_ca(ca if ca is not None else read_ca())

    def mqtt_down(reason):
        # A keepalive that went unanswered means the data path is dead even if the modem says PDP is up.
        if "keepalive" in reason:
            sup.data_suspect()
    radio = Radio(hal, config, board, modem_opener(sup, host, port, tls, link), events, link=link, sms=modem.sms,
                  dataplan=plan, count_bytes=False, on_mqtt_down=mqtt_down,
                  volume_store=_file_store(VOLUME_FILE) if store else None, power=power,
                  epoch_store=_atomic_store(EPOCH_FILE) if store else None, **kw)
    link.subscribe(radio.link_changed)
    return radio, sup


async def run(hal, board, config, **kw):
    radio, sup = build(hal, board, config, **kw)
    sup.start()
    try:
        await radio.run()
    finally:
        sup.stop()
