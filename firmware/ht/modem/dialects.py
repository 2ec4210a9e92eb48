# AT dialects as data: one small class per modem, picked by the name in board.json
# ("modem": {"dialect": "A7670"}). The engine (ht/modem/at.py), lifecycle (ht/modem/lifecycle.py) and sockets
# (ht/modem/sockets.py) read these attributes; only what differs between parts lives here.
# Sources: SIMCom A76xx / SIM7600 and Quectel EC200U / EG91 AT manuals, docs/MODEM.md.
from ht.modem import parse as P, reg as R, sim as S

# URCs every 27.007 modem may send. "+CEREG:" and "+CPIN:" are also response prefixes: the
# engine asks urc_form() when a command expecting them is in flight.
_COMMON_URCS = (
    "RDY", "+CPIN:", "+CEREG:", "+CREG:", "+CGREG:", "+C5GREG:", "+CGEV:", "+CTZV:", "+CTZE:", "+CTZU:",
    "NO CARRIER", "RING", "+CMTI:", "+CUSD:", "SMS DONE", "PB DONE", "+CFUN:", "+CMT:",
    "+CRING:", "+CLIP:", "+CDS:", "+NITZ",
)


class Dialect:
    name = "3GPP"
    family = ""
    banners = ("RDY",)
    # pulse lengths (ms): PWRKEY low to power on / off, RESET active, boot until AT answers
    pwrkey_on_ms = 500
    pwrkey_off_ms = 3000
    reset_ms = 500
    boot_ms = 20000
    off_ms = 3000                 # time for a clean shutdown before power comes back
    poweroff_cmd = "AT+CPOF"
    urcs = _COMMON_URCS
    multiline_urcs = ("+CUSD:",)
    extra_finals = ()
    ok_finals = ()
    iccid_cmd = "AT+CICCID"
    iccid_prefix = ("+ICCID:", "+CICCID:")
    retries_cmd = "AT+SPIC"
    retries_prefix = "+SPIC:"
    cell_cmd = None
    cell_prefix = None
    sim_gone = ("+CPIN: SIM REMOVED", "+CPIN: NOT INSERTED", "+CPIN: NOT READY")
    sim_back = ("+CPIN: READY", "+CPIN: SIM PIN", "+CPIN: SIM PUK")
    pdp_gone = ("+CGEV: NW PDN DEACT", "+CGEV: ME PDN DEACT", "+CGEV: NW DETACH",
                "+CGEV: ME DETACH", "+CGEV: NW DEACT", "+CGEV: ME DEACT")
    data_counter = None           # AT+QGDCNT? where the modem counts bytes
    sock_max_read = 1460
    sock_links = 4

    def is_urc(self, line):
        for p in self.urcs:
            if line.startswith(p):
                return True
        return False

    def urc_form(self, line):
        # a line that starts with the expected response prefix but is the URC variant
        for p in ("+CEREG:", "+CREG:", "+CGREG:", "+C5GREG:"):
            if line.startswith(p):
                return R.is_urc(line)
        return False

    def urc_complete(self, text):
        # +CUSD: <m>[,"<text>"[,<dcs>]] - the text may span lines: done when quotes balance
        return text.count('"') % 2 == 0

    def parse_retries(self, lines):
        # +SPIC: <pin1>,<puk1>,<pin2>,<puk2>  -> (pin_left, puk_left)
        for line in lines:
            f = P.fields(line)
            if line.startswith("+CPINR:") and len(f) >= 2:
                return P.num(f[1]), None
            if len(f) >= 2:
                return P.num(f[0]), P.num(f[1])
        return None

    def parse_cell(self, line):
        return {}

    def iccid(self, lines):
        # F filler, swapped nibbles, hex digits, issuer 89: ht/modem/sim.py (None when refused)
        for line in lines:
            v = S.iccid(line)[0]
            if v:
                return v
        return None


class SIMCom(Dialect):
    family = "simcom"
    urcs = _COMMON_URCS + ("*ATREADY", "+SIMCARD:", "+CIPEVENT:", "+IPCLOSE:", "+CIPRXGET: 1",
                           "+CIPRXGET:1", "+NETOPEN:", "+NETCLOSE:", "+CIPOPEN:", "+CIPCLOSE:",
                           "+CIPSEND:", "+IPD", "+CPSI:", "+PDP: DEACT", "+CMGS:", "+CNSMOD:",
                           # TLS client (ht/modem/tls.py)
                           "+CCHEVENT:", "+CCH_PEER_CLOSED:", "+CCH_RECV_CLOSED:", "+CCHOPEN:",
                           "+CCHSTART:", "+CCHSTOP:", "+CCHCLOSE:", "+CCHSEND:")
    sim_gone = Dialect.sim_gone + ("+SIMCARD: NOT AVAILABLE",)
    pdp_gone = Dialect.pdp_gone + ("+CIPEVENT: NETWORK CLOSED", "+PDP: DEACT")
    cell_cmd = "AT+CPSI?"
    cell_prefix = "+CPSI:"

    def urc_form(self, line):
        if line.startswith("+CIPRXGET:"):
            # "+CIPRXGET: 1,<link>" announces data; "+CIPRXGET: 2,..." carries it
            return P.num(P.fields(line)[0]) == 1
        return Dialect.urc_form(self, line)

    def parse_cell(self, line):
        # +CPSI: LTE,Online,510-10,<tac>,<ci>,<pci>,EUTRAN-BAND3,<earfcn>,<dlbw>,<ulbw>,
        #        <rsrq>,<rsrp>,<rssi>,<rssnr>   (SIM7600: tenths of dB)
        f = P.fields(line)
        if len(f) < 14 or f[0] != "LTE":
            return {}
        out = {}
        for key, i, lo, hi in (("rsrq", 10, -30, 0), ("rsrp", 11, -150, -30),
                               ("rssi", 12, -130, 0), ("sinr", 13, -30, 50)):
            v = P.tenths(P.num(f[i]), lo)
            if v is not None and lo <= v <= hi:
                out[key] = v
        return out


class A7670(SIMCom):
    name = "A7670"
    # A76xx prints *ATREADY: 1 when the AT port is up; commands sent before it are lost
    banners = ("*ATREADY", "RDY")
    pwrkey_on_ms = 100            # datasheet: >= 50 ms
    pwrkey_off_ms = 3000          # >= 2.5 s
    reset_ms = 2600               # LilyGO T-A7670 examples hold RESET 2.6 s
    boot_ms = 20000


class SIM7600(SIMCom):
    name = "SIM7600"
    banners = ("RDY",)
    pwrkey_on_ms = 600            # >= 500 ms
    pwrkey_off_ms = 3000
    reset_ms = 500
    boot_ms = 25000


class Quectel(Dialect):
    family = "quectel"
    banners = ("RDY",)
    pwrkey_on_ms = 600            # >= 500 ms
    pwrkey_off_ms = 800           # 650..1500 ms, then POWERED DOWN
    poweroff_cmd = "AT+QPOWD"
    urcs = _COMMON_URCS + ("+QIURC:", "+QIND:", "+QUSIM:", "+QSIMSTAT:", "+QIOPEN:", "POWERED DOWN",
                           "+QSTAT", "+QNITZ:", "+QSSLURC:", "+QSSLOPEN:")
    extra_finals = ("SEND OK", "SEND FAIL")
    ok_finals = ("SEND OK",)
    iccid_cmd = "AT+QCCID"
    iccid_prefix = ("+QCCID:", "+ICCID:")
    retries_cmd = 'AT+QPINC="SC"'
    retries_prefix = "+QPINC:"
    sim_gone = Dialect.sim_gone + ("+QSIMSTAT: 1,0", "+QSIMSTAT: 0,0")
    sim_back = Dialect.sim_back + ("+QSIMSTAT: 1,1", "+QSIMSTAT: 0,1")
    pdp_gone = Dialect.pdp_gone + ('+QIURC: "pdpdeact"',)
    cell_cmd = 'AT+QENG="servingcell"'
    cell_prefix = "+QENG:"
    data_counter = "AT+QGDCNT?"
    sock_max_read = 1500
    # +QENG: "servingcell",<state>,"LTE",<FDD/TDD>,<mcc>,<mnc>,<cellid>,<pcid>,<earfcn>,<band>,
    #        <ul_bw>,<dl_bw>,<tac>,<rsrp>,<rsrq>,<rssi>,<sinr>,...   (EG91, Qualcomm)
    qeng_index = (13, 14, 15, 16)

    def parse_retries(self, lines):
        # +QPINC: "SC",<pin_left>,<puk_left>
        for line in lines:
            f = P.fields(line)
            if len(f) >= 3 and P.unq(f[0]) == "SC":
                return P.num(f[1]), P.num(f[2])
        return Dialect.parse_retries(self, lines)

    def parse_cell(self, line):
        f = P.fields(line)
        if len(f) < 17 or P.unq(f[2]) != "LTE":
            return {}
        out = {}
        for key, i, lo, hi in zip(("rsrp", "rsrq", "rssi", "sinr"), self.qeng_index,
                                  (-150, -30, -130, -30), (-30, 0, 0, 50)):
            v = P.num(f[i])
            if v is not None and lo <= v <= hi:
                out[key] = v
        return out


class EG91(Quectel):
    name = "EG91"


class EC200U(Quectel):
    name = "EC200U"
    # Unisoc EC200U: same leading fields; SINR reported in dB like EG91 (verify per build:
    # parse_cell range-checks every value, so a shifted field is dropped, not misreported)
    qeng_index = (13, 14, 15, 16)
    boot_ms = 15000


DIALECTS = {"A7670": A7670, "SIM7600": SIM7600, "EC200U": EC200U, "EG91": EG91}


def get(name):
    # board.json may say "A7670E" or "A7670G-LLSE": match the longest known prefix
    key = (name or "").upper()
    for k in sorted(DIALECTS, key=len, reverse=True):
        if key.startswith(k):
            return DIALECTS[k]()
    raise ValueError("unknown modem dialect %r (known: %s)" % (name, ", ".join(sorted(DIALECTS))))
