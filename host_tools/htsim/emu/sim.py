"""SIM card model: presence, PIN/PUK with retry counters, identity (ICCID, IMSI, MSISDN).

Behaviour follows 3GPP TS 27.007 +CPIN and what SIMCom/Quectel modules report: 3 PIN tries, then the card
wants the PUK (10 tries); a PUK exhausted makes the card dead (+CME ERROR: 13 SIM failure).
"""
from __future__ import annotations

PIN_TRIES = 3
PUK_TRIES = 10
# A Telkomsel card number (89 telecom, 62 Indonesia, 10 Telkomsel) with a valid Luhn digit, printed with the
# trailing F filler modems add to 19-digit ICCIDs: `htctl provision` refuses one that fails its check digit.
DEFAULT_ICCID = "8962100000000000002F"


class SimCard:
    def __init__(self, iccid: str = DEFAULT_ICCID, imsi: str = "510101234567890", msisdn: str = "+6281200000001",
                 pin: str | int | None = None, puk: str | int = "12345678", pin_retries: int = PIN_TRIES,
                 puk_retries: int = PUK_TRIES, present: bool = True) -> None:
        if not (18 <= len(iccid) <= 20):
            raise ValueError("iccid must have 18-20 digits (last may be F)")
        if not (imsi.isdigit() and 6 <= len(imsi) <= 15):
            raise ValueError("imsi must be 6-15 digits")
        if pin is not None and not (str(pin).isdigit() and 4 <= len(str(pin)) <= 8):
            raise ValueError("pin must be 4-8 digits or None")
        self.iccid = iccid
        self.imsi = imsi
        self.msisdn = msisdn
        self.pin = None if pin is None else str(pin)
        self.puk = str(puk)
        self.pin_retries = int(pin_retries)
        self.puk_retries = int(puk_retries)
        self.present = bool(present)
        self.pin_enabled = self.pin is not None
        self.unlocked = False     # PIN entered since the card was powered
        self.powered = False      # the modem has the card up (after boot / insertion)
        self.sms = {}             # SIM message store: index -> {stat, number, text, ts}
        # a personalisation lock the device puts on the card (27.007 +CPIN code, e.g. "PH-NET PIN" for
        # a modem network-locked to another operator): nothing the radio knows clears it
        self.lock = None

    # -- card life -------------------------------------------------------------------------------------
    def power_up(self) -> None:
        self.powered = self.present
        self.unlocked = False

    def power_down(self) -> None:
        self.powered = False
        self.unlocked = False

    def status(self) -> str:
        """'absent' · 'busy' · 'dead' · 'puk' · 'pin' · 'lock' · 'ready'."""
        if not self.present:
            return "absent"
        if not self.powered:
            return "busy"
        if self.puk_retries <= 0:
            return "dead"
        if self.pin_retries <= 0:
            return "puk"
        if self.pin_enabled and not self.unlocked:
            return "pin"
        if self.lock:
            return "lock"
        return "ready"

    # -- verification ----------------------------------------------------------------------------------
    def enter_pin(self, pin: str | int) -> bool:
        """True when accepted. A wrong PIN burns one try; at zero the card asks for the PUK."""
        if self.status() != "pin":
            raise ValueError("card not waiting for a PIN")
        if str(pin) == self.pin:
            self.pin_retries = PIN_TRIES
            self.unlocked = True
            return True
        self.pin_retries -= 1
        return False

    def enter_puk(self, puk: str | int, new_pin: str | int) -> bool:
        if self.status() != "puk":
            raise ValueError("card not waiting for a PUK")
        if str(puk) == self.puk and str(new_pin).isdigit() and 4 <= len(str(new_pin)) <= 8:
            self.pin = str(new_pin)
            self.pin_enabled = True
            self.pin_retries = PIN_TRIES
            self.puk_retries = PUK_TRIES
            self.unlocked = True
            return True
        self.puk_retries -= 1
        return False

    def snapshot(self) -> dict[str, object]:
        return {"present": self.present, "status": self.status(), "iccid": self.iccid, "imsi": self.imsi,
                "pin_retries": self.pin_retries, "puk_retries": self.puk_retries}
