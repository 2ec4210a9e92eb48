# The radio's side of an over-the-air update (docs/OTA.md): take an offer, check the signed manifest,
# fetch the files chunk by chunk from retained messages while the radio is idle, verify each file's
# SHA-256, stage them and leave the switch to the bootstrap at the next idle boot. Everything that
# touches flash goes through `store` (firmware/bootstrap.py FileStore on the radio, a dict in tests):
#   get(name) -> str|None · put(name, text) (atomic) · remove(name) · write(rel, offset, data) into the
#   staging area · digest(rel) -> sha256 of a staged file · free() -> bytes|None · clear_stage() ·
#   stage_done(version) (staging area -> that version's folder)
# Names it keeps: "dl" (offer + next chunk: a reboot or a dropped link resumes there), "stage.json"
# (the checked manifest), "next" (the bootstrap's cue), "active" (the bootstrap's pointer), "giveup".
import json
import binascii
from ht.compat import const, ticks_diff
from ht.ota import release as R

IDLE = const(0)
MANIFEST = const(1)
FETCH = const(2)
STAGED = const(3)
_RETRY_MS = const(4000)        # no answer to a request: ask again (a lost QoS 0 chunk, a dead session);
_MIN_RTO_MS = const(1000)      # once answers have been timed, the wait is what the link showed (as TCP's
_MAX_RTO_MS = const(16000)     # RTO: smoothed round trip + 4 x its variation), kept within these bounds
_TRIAL_MS = 5 * 60 * 1000      # a new release that is not online by then is given up
_MCHUNK = const(1024)          # the signed manifest travels in pieces this big (the MQTT client's 1536-byte
_MAX_MANIFEST = const(32768)   # packet buffer), and is held in RAM until its signature is checked


class Updater:
    # send(op, topic, payload): op "sub" / "unsub" (a topic) or "status" (payload: the new status).
    # emit(kind, fields): the transcript. ctx: ht.ota.release.Context (version/floor filled in here).
    def __init__(self, fleet, store, key, ctx, send, emit, retry_ms=_RETRY_MS, trial_ms=_TRIAL_MS):
        self.prefix = "ht/%s/o/" % fleet
        self.store = store
        self.key = key
        self.ctx = ctx
        self.send = send
        self.emit = emit
        self.retry_ms = retry_ms  # the wait before asking again: measured from the answers (_timed)
        self.trial_ms = trial_ms
        self._srtt = 0            # smoothed round trip, ms x 8, and its variation, ms x 4 (0: none timed yet)
        self._rttvar = 0
        self._again = False       # the outstanding request is a repeat: its answer is not timed (Karn)
        self.state = IDLE
        self.status = None
        self.want_reboot = False
        self.paused = False
        self.m = None
        self.dl = None            # {"rid", "v", "mb", "i", "k"}
        self._mbuf = None         # the signed manifest as it arrives (its chunks are "m/<k>")
        self._pending = None      # when the outstanding request went out
        self._t0 = None
        self.active = _json(store.get("active")) or {}
        ctx.version = self.active.get("v") or ctx.version
        ctx.floor = self.active.get("floor") or ctx.floor

    # ---- boot, session, offers ------------------------------------------------------------------------
    def start(self, now):
        self._t0 = now
        a = self.active
        if a.get("rb"):
            self._set("rolled back from v%s" % a["rb"])
        elif a.get("trial"):
            self._set("trial v%s" % a["v"])
        dl = _json(self.store.get("dl"))
        m = _json(self.store.get("stage.json"))
        if self.store.get("next"):
            self.state = STAGED
            self.want_reboot = True
        elif dl and m:
            self.dl, self.m, self.state = dl, m, FETCH     # resume where the last boot stopped
            self._set("downloading")
        elif dl:
            self.dl, self.state = dl, MANIFEST            # the manifest is fetched again (a few KB)
            dl["k"] = 0
            self._mbuf = bytearray(dl["mb"])
            self._set("downloading")

    def online(self, now):
        # The MQTT session is up: a release on trial has proved itself (the bootstrap keeps it).
        a = self.active
        if a.get("trial"):
            a["trial"] = 0
            self.store.put("active", json.dumps(a))
            self.store.remove("boots")
            self._set("running v%s" % a["v"])
        elif self.status is None:
            self._set("running v%s" % self.ctx.version)
        else:
            self.send("status", None, self.status)     # a new session: say it again
        self._pending = None

    def offer(self, d, now):
        rid, v, mb = str(d["rid"]), str(d["v"]), int(d["mb"])
        if not 0 < mb <= _MAX_MANIFEST:
            return self._refuse("bad offer")
        if self.dl and self.dl["rid"] == rid and self.state != IDLE:
            self.send("status", None, self.status)
            return
        if v == self.active.get("rb"):
            return self._refuse("rolled back before")
        self._drop()
        self.dl = {"rid": rid, "v": v, "mb": mb, "i": 0, "k": 0}
        self._mbuf = bytearray(mb)
        self.state = MANIFEST
        self._save()
        self._pending = None
        self._set("downloading")

    # ---- the fetch loop -------------------------------------------------------------------------------
    def tick(self, now, busy):
        if self.a_trial() and self._t0 is not None and ticks_diff(now, self._t0) > self.trial_ms:
            self.store.put("giveup", "not online")    # the bootstrap rolls back at the restart
            self.want_reboot = True
        if self.state not in (MANIFEST, FETCH):
            return
        if busy != self.paused:
            self.paused = busy
            self.emit("ota_pause" if busy else "ota_resume", {"at": self._where()})
        if busy:
            return     # a burst, an emergency or a roll call owns the link; the chunk index waits
        p = self._pending
        if p is None or ticks_diff(now, p) >= self.retry_ms:
            self._again = p is not None
            if p is not None:
                self.emit("ota_retry", {"at": self._where()})
                self.retry_ms = min(self.retry_ms * 2, _MAX_RTO_MS)   # a silent link: back off
            self._pending = now
            self.send("sub", self._topic(), None)

    def a_trial(self):
        return bool(self.active.get("trial"))

    def on_message(self, topic, payload, now):
        t = bytes(topic).decode()
        if self.dl is None or t != self._topic():
            return     # a duplicate after a retry, or another release's chunk
        self.send("unsub", t, None)
        if self._pending is not None and not self._again:
            self._timed(ticks_diff(now, self._pending))
        self._pending = None
        if self.state == MANIFEST:
            self._manifest_part(payload)
        elif self.state == FETCH:
            self._chunk(payload)

    def _manifest_part(self, data):
        dl, buf = self.dl, self._mbuf
        at = dl["k"] * _MCHUNK
        if at + len(data) > len(buf) or (len(data) != _MCHUNK and at + len(data) != len(buf)):
            return self._refuse("bad manifest")
        buf[at:at + len(data)] = data
        dl["k"] += 1
        if at + len(data) == len(buf):
            self._mbuf = None
            dl["k"] = 0
            self._manifest(bytes(buf))

    def _manifest(self, blob):
        self.ctx.free = self.store.free()
        m, why = R.check(blob, self.key, self.ctx)
        if m is None:
            return self._refuse(why)
        if m["v"] != self.dl["v"]:
            return self._refuse("offer says v%s, manifest v%s" % (self.dl["v"], m["v"]))
        self.m = m
        self.store.clear_stage()
        self.store.put("stage.json", json.dumps(m))
        self.state = FETCH
        self._save()
        self.emit("ota_manifest", {"v": m["v"], "bytes": m["total"], "files": len(m["files"])})

    def _chunk(self, data):
        dl, files, cs = self.dl, self.m["files"], self.m["cs"]
        path, size, sha = files[dl["i"]]
        self.store.write(path, dl["k"] * cs, data)
        dl["k"] += 1
        if dl["k"] >= R.chunks(size, cs):
            if self.store.digest(path) != binascii.unhexlify(sha):
                return self._refuse("tampered %s" % path)
            dl["i"] += 1
            dl["k"] = 0
            if dl["i"] >= len(files):
                return self._staged()
        self._save()

    def _staged(self):
        m = self.m
        self.store.stage_done(m["v"])
        self.store.put("next", json.dumps({"v": m["v"], "floor": m.get("floor") or m["v"]}))
        self.store.remove("dl")
        self.store.remove("stage.json")
        self.state = STAGED
        self.want_reboot = True
        self._set("staged v%s" % m["v"])

    # ---- helpers -------------------------------------------------------------------------------------
    def _timed(self, rtt):
        # One answered request's round trip -> the wait before asking again (RFC 6298 in integers): a lost
        # chunk on a 150 ms link is asked for after 1 s, not 4, and a slow link is not asked twice.
        if rtt < 0:
            return
        if self._srtt == 0:
            self._srtt = rtt * 8 + 1
            self._rttvar = rtt * 2
        else:
            err = rtt - (self._srtt >> 3)
            self._srtt += err
            self._rttvar += (err if err > 0 else -err) - (self._rttvar >> 2)
        rto = (self._srtt >> 3) + self._rttvar
        self.retry_ms = max(_MIN_RTO_MS, min(rto, _MAX_RTO_MS))

    def _refuse(self, why):
        self._drop()
        self._set("refused: " + why)

    def _drop(self):
        # Give up the download in progress; the running version and a staged one are untouched.
        if self.state in (MANIFEST, FETCH):
            self.store.clear_stage()
        self.store.remove("dl")
        self.store.remove("stage.json")
        self.state = STAGED if self.store.get("next") else IDLE
        self.dl = None
        self.m = None
        self._mbuf = None
        self._pending = None

    def _topic(self):
        dl = self.dl
        if self.state == MANIFEST:
            return "%s%s/m/%d" % (self.prefix, dl["rid"], dl["k"])
        return "%s%s/%d/%d" % (self.prefix, dl["rid"], dl["i"], dl["k"])

    def _where(self):
        return [self.dl["i"], self.dl["k"]] if self.dl else None

    def _save(self):
        self.store.put("dl", json.dumps(self.dl))

    def _set(self, status):
        self.status = status
        self.emit("ota", {"status": status})
        self.send("status", None, status)

    def progress(self):
        # bytes fetched so far of the release being downloaded (0 before the manifest)
        if self.m is None or self.dl is None:
            return 0
        files, cs = self.m["files"], self.m["cs"]
        return sum(f[1] for f in files[:self.dl["i"]]) + self.dl["k"] * cs


def _json(text):
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
