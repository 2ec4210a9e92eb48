# The bootstrap: picks which release of the app this boot runs, and is never updated over the air
# (docs/OTA.md). main.py imports it first; it imports nothing of ours, so a broken release cannot
# break the code that rolls it back. Files under ROOT (relative: "/ota" on the radio, the working
# folder's "ota" on a desktop):
#   active   {"v": version or absent for the factory code, "floor", "prev", "pfloor", "trial": 1, "rb"}
#   next     {"v", "floor"}: a verified release staged in v/<v>/ by ht.ota.agent; switched to here
#   boots    how many times a release on trial has booted; giveup: the app gave it up (not online)
#   v/<v>/   a release's files (ht/..., hal/...), put first on sys.path
#   stage/   the download in progress
# Every pointer is written to <name>.tmp and renamed over the old one: littlefs renames atomically, so
# a power cut leaves either the old pointer or the new one.
import os
import sys
import json
import hashlib

BOOT_VERSION = 1
MAX_BOOTS = 3            # a release on trial may boot this often without reaching "online"
ROOT = "ota"


def _exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False


def _isdir(p):
    try:
        return os.stat(p)[0] & 0x4000 != 0
    except OSError:
        return False


def _makedirs(p):
    cur = ""
    for part in p.split("/"):
        cur = cur + "/" + part if cur or p.startswith("/") else part
        if part and not _exists(cur):
            os.mkdir(cur)


def rmtree(p):
    if not _exists(p):
        return
    if _isdir(p):
        for name in os.listdir(p):
            rmtree(p + "/" + name)
        os.rmdir(p)
    else:
        os.remove(p)


class FileStore:
    # The file side of ht.ota.agent's storage contract. quota: pretend the flash has only this many
    # bytes free (the simulation's small radios).
    BOOT = BOOT_VERSION

    def __init__(self, root=ROOT, quota=None):
        self.root = root
        self.quota = quota

    def _p(self, name):
        return self.root + "/" + name

    def get(self, name):
        try:
            with open(self._p(name)) as f:
                return f.read()
        except OSError:
            return None

    def put(self, name, text):
        _makedirs(self.root)
        p = self._p(name)
        with open(p + ".tmp", "w") as f:
            f.write(text)
        try:
            os.rename(p + ".tmp", p)
        except OSError:          # FAT will not rename over a file: the one non-atomic fallback
            os.remove(p)
            os.rename(p + ".tmp", p)

    def remove(self, name):
        try:
            os.remove(self._p(name))
        except OSError:
            pass

    def write(self, rel, offset, data):
        p = self._p("stage/" + rel)
        _makedirs(p.rsplit("/", 1)[0])
        with open(p, "r+b" if _exists(p) else "wb") as f:
            f.seek(offset)
            f.write(data)

    def digest(self, rel):
        h = hashlib.sha256()
        buf = bytearray(1024)
        with open(self._p("stage/" + rel), "rb") as f:
            while True:
                n = f.readinto(buf)
                if not n:
                    break
                h.update(buf[:n] if n < len(buf) else buf)
        return h.digest()

    def free(self):
        if self.quota is not None:
            return self.quota
        try:
            s = os.statvfs(self.root if _exists(self.root) else ".")
            return s[0] * s[4]
        except (OSError, AttributeError):
            return None

    def clear_stage(self):
        rmtree(self._p("stage"))

    def stage_done(self, version):
        _makedirs(self._p("v"))
        rmtree(self._p("v/" + version))
        os.rename(self._p("stage"), self._p("v/" + version))

    def folder(self, version):
        return self._p("v/" + version)


def _json(text):
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def select(st):
    # -> the active pointer after this boot's decision (switch, count, roll back).
    a = _json(st.get("active"))
    nxt = _json(st.get("next"))
    if nxt.get("v"):
        a = {"v": nxt["v"], "floor": nxt.get("floor"), "prev": a.get("v"), "pfloor": a.get("floor"), "trial": 1}
        st.put("active", json.dumps(a))          # the switch: one rename
        st.remove("next")
        st.remove("boots")
        st.remove("giveup")
        _prune(st, (a["v"], a["prev"]))
    if a.get("trial"):
        n = int(st.get("boots") or 0) + 1
        st.put("boots", str(n))
        if n > MAX_BOOTS or st.get("giveup"):
            a = {"v": a.get("prev"), "floor": a.get("pfloor"), "rb": a["v"]}
            st.put("active", json.dumps(a))
            st.remove("boots")
            st.remove("giveup")
            _prune(st, (a["v"],))
    if a.get("v") and not _isdir(st.folder(a["v"])):
        a = {"rb": a["v"]}                          # its files are gone: the factory code it is
    for k in [k for k in a if a[k] is None]:
        del a[k]
    return a


def _prune(st, keep):
    d = st._p("v")
    if _isdir(d):
        for name in os.listdir(d):
            if name not in keep:
                rmtree(d + "/" + name)


def failed(active, e, restart):
    # The release this boot chose cannot even start (an import raised). On trial: restart at once (restart:
    # main.py's reset, handed in: the hardware stays behind main.py and hal/), so the boot is counted and
    # after MAX_BOOTS the previous release runs; a radio must never wait at the REPL for a bad update.
    # Otherwise (the factory code, a release already kept) the caller goes on.
    if active.get("trial"):
        print("bootstrap: v%s on trial failed to start: %r; restarting" % (active.get("v"), e))
        restart()


def boot(root=ROOT, quota=None):
    # -> (store, active pointer); the active release's folder is first on sys.path from here on.
    st = FileStore(root, quota)
    try:
        a = select(st)
    except Exception as e:       # a damaged pointer must not keep the factory code from booting
        print("bootstrap:", repr(e))
        a = {}
    if a.get("v"):
        sys.path.insert(0, st.folder(a["v"]))
    return st, a
