"""Issue 11's replay attack against the radio's voice guard (ht.radio.guard, the code every radio runs): record a
20-frame burst of unit u07, then replay it after each of: u07's presence (which used to reset the window), 16
other talkers (which used to evict it), 100 other talkers, u07 rebooting and talking again. Also counts frames of
the rebooted sender that were refused (a reboot must never lock a radio out).
  replay_accepted          replayed frames accepted, of 80 (goal 0; 20 of 20 per case before)
  rebooted_sender_refused  live frames of the rebooted sender refused (goal 0)
"""
from array import array

from ht.radio.guard import OK, VoiceGuard, tg_num, unit_num
from ht.voice import codecs, transceiver as voice

KEY = b"bench-fleet-key-0123456789abcdef"
UNITS = {"replay_accepted": "frames", "rebooted_sender_refused": "frames"}
GOALS = {"replay_accepted": "0 (of 80)", "rebooted_sender_refused": "0"}
TG = tg_num("1")


def _burst(unit, epoch, seq, n=20):
    tx = voice.Transmitter(TG, unit, codecs.PT_ADPCM, 20, KEY, seq, epoch=epoch)
    pcm = array("h", [0] * 160)
    return [bytes(tx.encode(pcm, i == n - 1)) for i in range(n)]


def run():
    u07 = unit_num("u07")
    accepted = 0
    refused_live = 0
    cases = {}
    for case in ("presence", "16 talkers", "100 talkers", "reboot"):
        g = VoiceGuard(KEY)
        rec = _burst(u07, 500, 1000)
        assert all(g.check(f, u07, TG) == OK for f in rec)
        if case.endswith("talkers"):
            for k in range(int(case.split()[0])):
                for f in _burst(5000 + k, 1, 10, n=3):
                    g.check(f, 5000 + k, TG)
        elif case == "reboot":
            live = _burst(u07, 501, 7)        # rebooted: the next epoch, its sequence anywhere
            refused_live += sum(g.check(f, u07, TG) != OK for f in live)
        # "presence": the guard is not told about presence any more (ht.radio.inbound): nothing to do
        n = sum(g.check(f, u07, TG) == OK for f in rec)
        cases[case] = n
        accepted += n
    print("   replayed frames accepted per case (of 20):", cases)
    return {"replay_accepted": accepted, "rebooted_sender_refused": refused_live}
