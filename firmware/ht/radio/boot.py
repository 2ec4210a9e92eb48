# The radio as it boots on the ESP32 and on the virtual device: board + config + HAL -> modem,
# supervisor, data plan, and the Radio riding MQTT through the modem's AT socket (docs/RADIO.md).
# firmware/main.py calls run(hal, board, config).
from ht.radio.app import Radio
from ht.modem.link import Link
from ht.modem.lifecycle import Modem
from ht.modem.supervisor import Supervisor
from ht.modem.dataplan import DataPlan
from ht.radio.sound import VOLUME_FILE
from ht.radio.bootepoch import EPOCH_FILE

PLAN_FILE = "dataplan.json"


def broker_addr(url):
    # "mqtt://host:port" / "mqtts://host" -> (host, port, tls). ht.config has already checked the form.
    tls = url.startswith("mqtts://")
    rest = url.split("://", 1)[1]
    host, _, port = rest.partition(":")
    return host, int(port) if port else (8883 if tls else 1883), tls


def modem_opener(sup, host, port):
    # RobustClient's opener: a fresh AT socket through the modem each time (OSError while data is down).
    async def _open():
        return await sup.open(host, port)
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


def _atomic_store(name):
    # the boot epoch: a reset half-way through the write must leave the old value, not an empty file
    load, _ = _file_store(name)

    def save(text):
        import os
        with open(name + ".tmp", "w") as f:
            f.write(text)
        os.rename(name + ".tmp", name)
    return load, save


def build(hal, board, config, events=None, scale=None, store=True, **kw):
    # -> (radio, supervisor). kw goes to Radio (fleet=, key=, ...). scale: the modem's time scale, by
    # default the HAL's (1 on the radio; the emulator's on a virtual device).
    if scale is None:
        scale = getattr(hal, "time_scale", 1.0)
    link = Link()
    load, save = _file_store(PLAN_FILE) if store else (None, None)
    plan = DataPlan.from_config(config, load=load, save=save)
    modem = Modem.from_board(board, config, hal.modem_uart(), hal.modem_pins(), link=link, counter=plan.count,
                             scale=scale)
    sup = Supervisor(modem, plan)
    host, port, tls = broker_addr(config.get("broker.url"))
    if tls:
        # TLS needs a TLS layer over the AT byte stream (or the modem's own SSL sockets): not built yet.
        print("radio: TLS over the modem is not supported yet; connecting in plain TCP")

    def mqtt_down(reason):
        # A keepalive that went unanswered means the data path is dead even if the modem says PDP is up.
        if "keepalive" in reason:
            sup.data_suspect()
    radio = Radio(hal, config, board, modem_opener(sup, host, port), events, link=link, sms=modem.sms,
                  dataplan=plan, count_bytes=False, on_mqtt_down=mqtt_down,
                  volume_store=_file_store(VOLUME_FILE) if store else None,
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
