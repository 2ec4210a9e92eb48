"""Per-part differences as data (esptool CHIP_DEFS style): one base Dialect, one small subclass per modem.

Timings are emulated seconds (multiplied by time_scale at run time). PWRKEY thresholds are wall-clock
milliseconds because firmware drives the pin in real time. Sources: ../../shared/reference/MODEMS.md and the
vendor hardware design guides (A7670: PWRKEY low >= 50 ms to turn on, >= 2.5 s to turn off; SIM7600 >= 500 ms
on, >= 2.5 s off; EC200U/EG91 >= 500 ms on, >= 650 ms off).
"""


class Dialect:
    name = "?"
    family = "simcom"            # which socket/PDP command set: "simcom" | "quectel"
    manufacturer = "SIMCOM INCORPORATED"
    model = "?"
    revision = "?"
    boot_s = 10.0                # power-on -> boot banner
    banner = ("RDY",)
    # after the banner: (delay_s, urc, "always" | "ready"); "{cpin}" becomes the card's +CPIN state and
    # "ready" lines appear only with an unlocked card. sim_ready_urcs: after PIN/PUK entry or insertion.
    sim_urcs = ((0.4, "+CPIN: {cpin}", "always"), (1.0, "SMS DONE", "ready"), (1.5, "PB DONE", "ready"))
    sim_ready_urcs = ((0.0, "+CPIN: {cpin}", "always"), (0.6, "SMS DONE", "ready"), (1.0, "PB DONE", "ready"))
    sim_removed_urcs = ("+CPIN: SIM REMOVED",)
    no_sim_boot_urcs = ("+CPIN: SIM REMOVED",)
    pwrkey_on_ms = 500
    pwrkey_off_ms = 2500
    power_off_cmd = "+CPOF"
    power_off_text = None        # printed after OK when powering down by command
    power_down_urc = "NORMAL POWER DOWN"   # printed when switched off by PWRKEY
    iccid_cmd = "+CICCID"
    iccid_prefix = "+ICCID"
    cgpaddr_quoted = False
    cmee_default = 2
    cgerep_default = 2           # +CGEV URCs shown by default
    ctzu_default = 0
    creg_follows_lte = True      # CREG mirrors CEREG (A76xx Cat-1 keeps CREG at 0; CGREG follows everywhere)
    cpsi_tenths = True           # CPSI rsrq/rsrp/rssi in tenths of dB (SIM7600; A7670 "verify")
    qeng_variant = None
    cipsend_prompt = b"\r\n>"
    sms_prompt = b"\r\n> "
    max_send = 1500
    reg_s = 2.5                  # searching -> registered
    pdp_s = 1.0                  # PDP activation
    netopen_s = 0.5
    ussd_s = 2.0
    sms_s = 1.5
    sim_insert_s = 1.0


class A7670(Dialect):
    name = "A7670"
    model = "A7670E-LASE"
    revision = "A7670M7_V1.11.1"
    boot_s = 3.0
    banner = ("*ATREADY: 1",)
    pwrkey_on_ms = 50
    creg_follows_lte = False


class SIM7600(Dialect):
    name = "SIM7600"
    model = "SIMCOM_SIM7600G-H"
    revision = "LE20B04SIM7600G22"
    boot_s = 10.0
    banner = ("RDY",)
    sim_removed_urcs = ("+SIMCARD: NOT AVAILABLE",)
    no_sim_boot_urcs = ("+CPIN: SIM REMOVED",)


class Quectel(Dialect):
    family = "quectel"
    manufacturer = "Quectel"
    boot_s = 10.0
    banner = ("RDY",)
    sim_urcs = ((0.2, "+CFUN: 1", "always"), (0.5, "+CPIN: {cpin}", "always"), (0.7, "+QUSIM: 1", "always"),
                (1.2, "+QIND: SMS DONE", "ready"), (1.8, "+QIND: PB DONE", "ready"))
    sim_ready_urcs = ((0.0, "+CPIN: {cpin}", "always"), (0.2, "+QUSIM: 1", "always"),
                      (0.6, "+QIND: SMS DONE", "ready"), (1.0, "+QIND: PB DONE", "ready"))
    sim_removed_urcs = ("+CPIN: NOT READY",)
    no_sim_boot_urcs = ("+CFUN: 1", "+CPIN: NOT READY")
    pwrkey_on_ms = 500
    pwrkey_off_ms = 650
    power_off_cmd = "+QPOWD"
    power_off_text = "POWERED DOWN"
    power_down_urc = "POWERED DOWN"
    iccid_cmd = "+QCCID"
    iccid_prefix = "+QCCID"
    cgpaddr_quoted = True
    cmee_default = 1
    cgerep_default = 0
    ctzu_default = 1
    cipsend_prompt = b"\r\n> "
    max_send = 1460


class EC200U(Quectel):
    name = "EC200U"
    model = "EC200U"
    revision = "EC200UCNAAR02A11M08"
    qeng_variant = "unisoc"


class EG91(Quectel):
    name = "EG91"
    model = "EG91"
    revision = "EG91EXGAR08A05M1G"
    qeng_variant = "qualcomm"


DIALECTS = {d.name: d for d in (A7670, SIM7600, EC200U, EG91)}
ALIASES = {"A76XX": "A7670", "A7670E": "A7670", "A7670G": "A7670", "SIM7600G": "SIM7600", "EC200": "EC200U",
           "EG915": "EG91"}


def get(name):
    key = str(name).upper()
    key = ALIASES.get(key, key)
    if key not in DIALECTS:
        raise ValueError("unknown modem dialect %r (known: %s)" % (name, ", ".join(sorted(DIALECTS))))
    return DIALECTS[key]
