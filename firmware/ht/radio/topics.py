# The topic scheme (docs/TOPICS.md). Short on purpose: a voice topic goes out with
# every voice packet, so each byte here costs ~1 KB per talk-minute at 60 ms packets.
# The sender's unit id is the last level of every topic a unit publishes, so the
# broker's ACL (not the payload) proves who sent it.
#
# Builders return bytes, encoded once at start-up; the voice path reuses them.
ROOT = "ht"
ALL_TG = "all"  # the all-call talkgroup: every radio listens, only the Command Center talks

VOICE = "v"
FLOOR = "f"       # a radio's floor messages to the arbiter (CLAIM, RELEASE, HEARTBEAT)
GRANTS = "g"      # the arbiter's numbered floor records for the talkgroup (only the arbiter publishes)
ARBITER = "arb"   # an arbiter's beat (the standby watches it; radios do not subscribe)
PRESENCE = "p"
BEAT = "b"        # a unit's presence heartbeat: the Command Center subscribes, radios do not (docs/POWER.md)
TELEMETRY = "t"
COMMAND = "c"
ACK = "a"
ROLLCALL = "rc"
EMERGENCY = "em"
OTA = "o"        # ht/<f>/o/<release>/m (signed manifest), .../<file>/<chunk>: retained, Command Center only


def _check(name, what):
    s = str(name)
    if not s or "/" in s or "+" in s or "#" in s or "\x00" in s:
        raise ValueError("bad %s for a topic: %r" % (what, name))
    return s


def _t(*parts):
    return "/".join(parts).encode()


def voice(fleet, tg, unit):
    return _t(ROOT, _check(fleet, "fleet"), "tg", _check(tg, "talkgroup"), VOICE, _check(unit, "unit"))


def floor(fleet, tg, unit):
    return _t(ROOT, _check(fleet, "fleet"), "tg", _check(tg, "talkgroup"), FLOOR, _check(unit, "unit"))


def grants(fleet, tg):
    return _t(ROOT, _check(fleet, "fleet"), "tg", _check(tg, "talkgroup"), GRANTS)


def grants_sub(fleet):
    return _t(ROOT, _check(fleet, "fleet"), "tg", "+", GRANTS)


def floor_sub(fleet):
    # What the arbiter reads: every unit's floor messages on every talkgroup.
    return _t(ROOT, _check(fleet, "fleet"), "tg", "+", FLOOR, "+")


def arbiter(fleet, name):
    return _t(ROOT, _check(fleet, "fleet"), ARBITER, _check(name, "arbiter"))


def arbiters_sub(fleet):
    return _t(ROOT, _check(fleet, "fleet"), ARBITER, "+")


def talkgroup_sub(fleet, tg, kind):
    # kind VOICE or FLOOR; '+' = every sender on the talkgroup, in the broker's one order.
    return _t(ROOT, _check(fleet, "fleet"), "tg", _check(tg, "talkgroup"), kind, "+")


def unit_topic(fleet, unit, kind):
    # kind PRESENCE (retained, also the LWT), TELEMETRY, COMMAND (to the unit), ACK (from it)
    return _t(ROOT, _check(fleet, "fleet"), "u", _check(unit, "unit"), kind)


def units_sub(fleet, kind):
    return _t(ROOT, _check(fleet, "fleet"), "u", "+", kind)


def rollcall(fleet):
    return _t(ROOT, _check(fleet, "fleet"), ROLLCALL)


def emergency(fleet, unit):
    return _t(ROOT, _check(fleet, "fleet"), EMERGENCY, _check(unit, "unit"))


def emergency_sub(fleet):
    return _t(ROOT, _check(fleet, "fleet"), EMERGENCY, "+")


def ota_sub(fleet):
    # what a radio may subscribe to for updates: every release's manifest and chunks (read-only)
    return _t(ROOT, _check(fleet, "fleet"), OTA, "#")


def parse(topic):
    # bytes/str topic -> (kind, fleet, group, unit); group is the talkgroup for
    # voice/floor, else None. None for a topic outside the scheme.
    if not isinstance(topic, str):
        topic = bytes(topic).decode()
    p = topic.split("/")
    n = len(p)
    if n < 3 or p[0] != ROOT:
        return None
    if n == 6 and p[2] == "tg" and p[4] in (VOICE, FLOOR):
        return (p[4], p[1], p[3], p[5])
    if n == 5 and p[2] == "tg" and p[4] == GRANTS:
        return (GRANTS, p[1], p[3], None)
    if n == 4 and p[2] == ARBITER:
        return (ARBITER, p[1], None, p[3])
    if n == 5 and p[2] == "u" and p[4] in (PRESENCE, BEAT, TELEMETRY, COMMAND, ACK):
        return (p[4], p[1], None, p[3])
    if n == 4 and p[2] == EMERGENCY:
        return (EMERGENCY, p[1], None, p[3])
    if n >= 5 and p[2] == OTA:
        return (OTA, p[1], None, None)
    if n == 3 and p[2] == ROLLCALL:
        return (ROLLCALL, p[1], None, None)
    return None


def unit_rights(fleet, unit, talkgroups):
    # -> (may publish, may subscribe): MQTT filters for the broker ACL (host side
    # renders them as a Mosquitto acl_file or hands them to the embedded broker).
    f = _check(fleet, "fleet")
    u = _check(unit, "unit")
    pub = [unit_topic(f, u, PRESENCE), unit_topic(f, u, BEAT), unit_topic(f, u, TELEMETRY),
           unit_topic(f, u, ACK), emergency(f, u)]
    sub = [unit_topic(f, u, COMMAND), rollcall(f), emergency_sub(f), units_sub(f, PRESENCE), ota_sub(f),
           talkgroup_sub(f, ALL_TG, VOICE), grants(f, ALL_TG)]
    for tg in talkgroups:
        if str(tg) == ALL_TG:
            continue  # only the Command Center talks on all-call
        pub += [voice(f, tg, u), floor(f, tg, u)]
        sub += [talkgroup_sub(f, tg, VOICE), grants(f, tg)]
    return [t.decode() for t in pub], [t.decode() for t in sub]


def command_center_rights(fleet):
    # The Command Center console reads and writes the whole fleet (commands, roll
    # call, all-call, talking on any talkgroup, acknowledging emergencies).
    everything = "%s/%s/#" % (ROOT, _check(fleet, "fleet"))
    return [everything], [everything]


def arbiter_rights(fleet):
    # The floor arbiter: reads every floor message, is the only one (with the Command Center console)
    # that may publish grants, and beats on its own topic.
    f = _check(fleet, "fleet")
    return ([grants_sub(f).decode(), arbiters_sub(f).decode()],
            [floor_sub(f).decode(), grants_sub(f).decode(), arbiters_sub(f).decode()])


class UnitTopics:
    # One radio's topics, encoded once at start-up: what it publishes by outbox kind and talkgroup,
    # and the filters it subscribes to (talkgroups it talks on, plus all-call where it only listens).
    def __init__(self, fleet, unit, talkgroups):
        f, u = fleet, unit
        self.presence = unit_topic(f, u, PRESENCE)
        self.kind = {"presence": self.presence, "beat": unit_topic(f, u, BEAT),
                     "telemetry": unit_topic(f, u, TELEMETRY),
                     "rollcall_ack": unit_topic(f, u, ACK), "emergency": emergency(f, u),
                     "rollcall": rollcall(f)}
        self.voice = {}
        self.voice_sub = {}
        self.floor = {}
        for tg in talkgroups:
            self.voice[tg] = voice(f, tg, u)
            self.voice_sub[tg] = talkgroup_sub(f, tg, VOICE)
            self.floor[tg] = floor(f, tg, u)
        # Presence at QoS 0: a radio gets each unit's presence when it changes (retained, and the LWT),
        # never the heartbeats (topic "b", for the Command Center): every beat of every fleet member would
        # wake this radio's modem into the LTE connected state for its ~10 s tail (docs/POWER.md).
        self.subs = [(unit_topic(f, u, COMMAND), 1), (rollcall(f), 1), (emergency_sub(f), 1),
                     (units_sub(f, PRESENCE), 0)]
        for tg in list(talkgroups) + [ALL_TG]:
            self.subs.append((grants(f, tg), 1))
            self.subs.append((talkgroup_sub(f, tg, VOICE), 0))
