"""The recorder: every burst on every talkgroup, whether or not a browser is open (issue 10, item 5).

    rec = Recorder(folder, fleet="kota", key=voice_key, directory=Directory(registry_path))
    rec.on_message(topic, payload, retained)   # every voice frame the console's MQTT connection receives
    rec.tick()                                 # every ~100 ms: closes bursts that went silent

One file per burst: WAV, PCM 16-bit mono 8 kHz (every browser plays it; Chromium cannot decode IMA ADPCM WAV),
under ``<folder>/YYYY/MM/DD/``, and one row in ``<folder>/recordings.db`` (sqlite): talkgroup, unit, holder,
OPD, start (epoch ms and WIB text), duration, emergency flag, sha256 of the file, bytes, keep flag.

The audio is the firmware's own decode of the frames (the frame parser with the fleet key, the radio's voice
guard against spoofing and replays, the codec with the state each frame carries), in sequence order: the
file is what was sent, not what one listener's jitter buffer made of it. A lost frame is written as silence
of its length, so the file's duration is the burst's.

A burst ends with the frame that carries END, after ``idle_ms`` without a frame (the talker's link died), or
at ``max_burst_s`` (a burst that never ends is cut; the rest goes into a new file marked ``cut``).

Storage failures: a file is first written whole as ``.part`` and renamed, then its row is committed; a failed
write (ENOSPC, EIO, or the optional ``max_bytes`` cap, which fails the same way before the disk does) is
logged and counted with a clear message, the ``.part`` is removed, and nothing written before is touched.
"""
from __future__ import annotations

import datetime
import errno
import hashlib
import logging
import os
import pathlib
import sqlite3
import struct
import time
from collections.abc import Callable
from typing import Any

from ht.radio import topics as T
from ht.radio.guard import OK, VoiceGuard, SourceIds, seq_diff, tg_num
from ht.voice.frame import F_EMERG, F_END
from htctl.i18n import WIB

log = logging.getLogger("htcc.recorder")

RATE = 8000
MAX_GAP_FRAMES = 50          # a larger jump in sequence is a new stretch, not a loss to fill
SCHEMA = """
CREATE TABLE IF NOT EXISTS recordings (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, talkgroup TEXT NOT NULL, unit TEXT NOT NULL,
    holder TEXT, opd TEXT, start_ms INTEGER NOT NULL, start_wib TEXT NOT NULL, duration_ms INTEGER NOT NULL,
    emergency INTEGER NOT NULL DEFAULT 0, cut INTEGER NOT NULL DEFAULT 0, frames INTEGER NOT NULL,
    lost_frames INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
    keep INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS rec_start ON recordings(start_ms);
CREATE INDEX IF NOT EXISTS rec_unit ON recordings(unit, start_ms);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def wav_header(nbytes: int, rate: int = RATE) -> bytes:
    """RIFF/WAVE header for nbytes of PCM 16-bit mono."""
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + nbytes, b"WAVE", b"fmt ", 16, 1, 1, rate, rate * 2, 2,
                       16, b"data", nbytes)


def wib_text(epoch_ms: int) -> str:
    t = datetime.datetime.fromtimestamp(epoch_ms / 1000, WIB)
    return t.strftime("%Y-%m-%d %H:%M:%S") + " WIB"


class RecorderError(Exception):
    pass


class Burst:
    """One open recording: decoded PCM so far, in sequence order."""

    def __init__(self, tg: str, unit: str, burst_id: int, seq: int, start_ms: int, now: float):
        self.tg = tg
        self.unit = unit
        self.burst_id = burst_id
        self.next_seq = seq
        self.start_ms = start_ms
        self.pcm = bytearray()
        self.frames = 0
        self.lost = 0
        self.emergency = False
        self.last = now
        self.states: dict[int, Any] = {}
        self.scratch: dict[int, Any] = {}


class Recorder:
    def __init__(self, folder: str | os.PathLike[str], fleet: str = "kota", key: bytes | None = None,
                 directory: Callable[[str], dict[str, Any]] | None = None, max_burst_s: float = 300.0,
                 idle_ms: int = 1500, retention_days: int | None = None, max_bytes: int | None = None,
                 on_recording: Callable[[dict[str, Any]], None] | None = None,
                 on_error: Callable[[dict[str, Any]], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, wall_ms: Callable[[], int] | None = None) -> None:
        self.folder = pathlib.Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.fleet = fleet
        self.guard = VoiceGuard(key)
        self.ids = SourceIds()
        self.directory = directory or (lambda unit: {})
        self.max_samples = int(max_burst_s * RATE)
        self.idle_s = idle_ms / 1000.0
        self.max_bytes = max_bytes
        self.on_recording = on_recording
        self.on_error = on_error
        self.clock = clock
        self.wall_ms = wall_ms or (lambda: int(time.time() * 1000))
        self.open: dict[tuple[str, str], Burst] = {}
        self.db_path = self.folder / "recordings.db"
        # check_same_thread=False: built where the app is built, used only from the server's one event loop
        self.db = sqlite3.connect(str(self.db_path), isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        if retention_days is not None:
            self.set_retention_days(retention_days)
        self.saved = 0
        self.failed = 0
        self.rejected = 0
        self.last_error: dict[str, Any] | None = None
        self._opener = open           # the one way files are written (a test may hand in /dev/full)

    # ---- input -------------------------------------------------------------------------------------
    def on_message(self, topic: bytes | str, payload: bytes | memoryview, retained: bool = False) -> None:
        p = T.parse(topic)
        if p is None or p[0] != T.VOICE or p[1] != self.fleet:
            return
        self.on_voice(p[2], p[3], bytes(payload))

    def on_voice(self, tg: str, unit: str, payload: bytes) -> None:
        g = self.guard
        if g.check(payload, self.ids.get(unit), tg_num(tg)) != OK:
            self.rejected += 1
            return
        f = g.frame
        now = self.clock()
        key = (tg, unit)
        b = self.open.get(key)
        if b is not None and b.burst_id != f.burst:
            self._close(b, "new burst")
            b = None
        if b is None:
            start = self.wall_ms() - f.frame_ms    # the frame's first sample, as far as the console can tell
            b = self.open[key] = Burst(tg, unit, f.burst, f.seq, start, now)
        gap = seq_diff(f.seq, b.next_seq)
        if gap < 0:
            return      # late or duplicate within the burst: its place is already written
        if 0 < gap <= MAX_GAP_FRAMES:
            b.pcm += bytes(2 * f.nsamples * gap)
            b.lost += gap
        self._decode(b, f, payload)
        b.next_seq = (f.seq + 1) & 0xFFFF
        b.frames += 1
        b.last = now
        if f.flags & F_EMERG:
            b.emergency = True
        if f.flags & F_END:
            self._close(b, "end")
        elif len(b.pcm) // 2 >= self.max_samples:
            self._close(b, "cut", cut=True)

    def _decode(self, b: Burst, f: Any, payload: bytes) -> None:
        from array import array
        c = f.codec
        st = b.states.get(c.pt)
        if st is None:
            st = b.states[c.pt] = c.new_state()
        c.unpack_state(payload, f.state_off, st)
        out = array("h", bytes(2 * f.nsamples))
        c.decode(memoryview(payload)[f.payload_off:f.payload_off + f.payload_len], f.nsamples, out, st)
        if struct.pack("<h", 1) != b"\x01\x00":
            out.byteswap()
        b.pcm += out.tobytes()

    def tick(self) -> None:
        now = self.clock()
        for b in list(self.open.values()):
            if now - b.last > self.idle_s:
                self._close(b, "idle")

    def close_all(self) -> None:
        for b in list(self.open.values()):
            self._close(b, "shutdown")

    # ---- saving ------------------------------------------------------------------------------------
    def _close(self, b: Burst, why: str, cut: bool = False) -> None:
        self.open.pop((b.tg, b.unit), None)
        if not b.pcm:
            return
        try:
            row = self._save(b, cut)
        except (OSError, sqlite3.Error, RecorderError) as e:
            self._failed(b, e)
            return
        self.saved += 1
        log.info("recorded %s tg %s unit %s %d ms (%s)", row["path"], b.tg, b.unit, row["duration_ms"], why)
        if self.on_recording is not None:
            try:
                self.on_recording(row)
            except Exception:     # a broken listener must not lose the next burst
                log.exception("recorder: on_recording hook failed")

    def _save(self, b: Burst, cut: bool) -> dict[str, Any]:
        data = wav_header(len(b.pcm)) + bytes(b.pcm)
        if self.max_bytes is not None and self.disk_use()["bytes"] + len(data) > self.max_bytes:
            raise OSError(errno.ENOSPC, "recordings cap of %d bytes reached (max_bytes)" % self.max_bytes)
        t = datetime.datetime.fromtimestamp(b.start_ms / 1000, WIB)
        stem = "%04d/%02d/%02d/%s-tg%s-%s-%d" % (t.year, t.month, t.day, t.strftime("%H%M%S"), _safe(b.tg),
                                                _safe(b.unit), b.start_ms)
        rel, n = stem + ".wav", 1
        while (self.folder / rel).exists():
            n += 1
            rel = "%s-%d.wav" % (stem, n)
        path = self.folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        try:
            with self._opener(part, "wb") as fh:
                fh.write(data)
                fh.flush()
            os.replace(part, path)
        except OSError:
            _unlink(part)
            raise
        info = self.directory(b.unit) or {}
        row = {"path": rel, "talkgroup": b.tg, "unit": b.unit, "holder": info.get("holder"), "opd": info.get("opd"),
               "start_ms": b.start_ms, "start_wib": wib_text(b.start_ms),
               "duration_ms": len(b.pcm) // 2 * 1000 // RATE, "emergency": int(b.emergency), "cut": int(cut),
               "frames": b.frames, "lost_frames": b.lost, "bytes": len(data),
               "sha256": hashlib.sha256(data).hexdigest(), "keep": 0}
        cols = list(row)
        try:
            cur = self.db.execute("INSERT INTO recordings (%s) VALUES (%s)" % (",".join(cols), ",".join("?" * len(cols))),
                                  [row[c] for c in cols])
        except sqlite3.Error:
            _unlink(path)       # no row, no file: the folder never holds a recording the index does not know
            raise
        row["id"] = cur.lastrowid
        return row

    def _failed(self, b: Burst, e: Exception) -> None:
        self.failed += 1
        full = isinstance(e, OSError) and e.errno == errno.ENOSPC or "full" in str(e).lower()
        what = ("disk penuh / disk full" if full else "gagal menulis / write failed")
        msg = ("Rekaman tidak tersimpan (%s): tg %s unit %s, %.1f s; rekaman sebelumnya aman. / "
               "Recording not saved (%s): tg %s unit %s, %.1f s; earlier recordings are safe. [%s]"
               % (what.split(" / ")[0], b.tg, b.unit, len(b.pcm) / 2 / RATE, what.split(" / ")[1], b.tg, b.unit,
                  len(b.pcm) / 2 / RATE, e))
        log.error(msg)
        self.last_error = {"message": msg, "disk_full": full, "at_ms": self.wall_ms(), "talkgroup": b.tg,
                           "unit": b.unit}
        if self.on_error is not None:
            try:
                self.on_error(self.last_error)
            except Exception:
                log.exception("recorder: on_error hook failed")

    # ---- the archive ---------------------------------------------------------------------------------
    def search(self, unit: str | None = None, opd: str | None = None, talkgroup: str | None = None,
               since_ms: int | None = None, until_ms: int | None = None, emergency: bool | None = None,
               limit: int = 200) -> list[dict[str, Any]]:
        where, args = [], []
        for col, v in (("unit", unit), ("opd", opd), ("talkgroup", talkgroup)):
            if v:
                where.append("%s = ?" % col)
                args.append(v)
        if since_ms is not None:
            where.append("start_ms >= ?")
            args.append(int(since_ms))
        if until_ms is not None:
            where.append("start_ms < ?")
            args.append(int(until_ms))
        if emergency is not None:
            where.append("emergency = ?")
            args.append(int(bool(emergency)))
        q = "SELECT * FROM recordings" + (" WHERE " + " AND ".join(where) if where else "")
        q += " ORDER BY start_ms DESC, id DESC LIMIT ?"
        args.append(max(1, min(int(limit), 5000)))
        return [dict(r) for r in self.db.execute(q, args)]

    def get(self, rec_id: int) -> dict[str, Any] | None:
        r = self.db.execute("SELECT * FROM recordings WHERE id = ?", (int(rec_id),)).fetchone()
        return dict(r) if r else None

    def file(self, rec_id: int) -> pathlib.Path | None:
        r = self.get(rec_id)
        if r is None:
            return None
        p = (self.folder / r["path"]).resolve()
        if self.folder.resolve() not in p.parents:
            return None
        return p

    def set_keep(self, rec_id: int, keep: bool) -> bool:
        cur = self.db.execute("UPDATE recordings SET keep = ? WHERE id = ?", (int(bool(keep)), int(rec_id)))
        return cur.rowcount == 1

    def retention_days(self) -> int | None:
        r = self.db.execute("SELECT value FROM settings WHERE name = 'retention_days'").fetchone()
        return int(r[0]) if r else None

    def set_retention_days(self, days: int | None) -> None:
        if days is None:
            self.db.execute("DELETE FROM settings WHERE name = 'retention_days'")
            return
        if int(days) < 1 or int(days) > 36500:
            raise ValueError("retention must be 1..36500 days (got %r)" % (days,))
        self.db.execute("INSERT OR REPLACE INTO settings (name, value) VALUES ('retention_days', ?)", (str(int(days)),))

    def purge(self, now_ms: int | None = None) -> int:
        """Delete recordings older than the retention (not those marked keep). Returns how many."""
        days = self.retention_days()
        if days is None:
            return 0
        now_ms = self.wall_ms() if now_ms is None else now_ms
        cutoff = now_ms - days * 86400 * 1000
        rows = self.db.execute("SELECT id, path FROM recordings WHERE start_ms < ? AND keep = 0", (cutoff,)).fetchall()
        for r in rows:
            self.db.execute("DELETE FROM recordings WHERE id = ?", (r["id"],))
            _unlink(self.folder / r["path"])
        if rows:
            log.info("recorder: %d recordings older than %d days removed", len(rows), days)
        return len(rows)

    def disk_use(self) -> dict[str, Any]:
        r = self.db.execute("SELECT count(*), coalesce(sum(bytes), 0), coalesce(sum(duration_ms), 0) FROM recordings"
                            ).fetchone()
        try:
            st = os.statvfs(self.folder)
            free = st.f_bavail * st.f_frsize
        except OSError:
            free = None
        return {"files": r[0], "bytes": r[1], "duration_ms": r[2], "free_bytes": free, "max_bytes": self.max_bytes}

    def status(self) -> dict[str, Any]:
        d = self.disk_use()
        d.update({"saved": self.saved, "failed": self.failed, "rejected": self.rejected, "open": len(self.open),
                  "retention_days": self.retention_days(), "last_error": self.last_error})
        return d

    def close(self) -> None:
        self.close_all()
        self.db.close()


def _safe(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in str(s))[:40]


def _unlink(p: pathlib.Path) -> None:
    try:
        os.unlink(p)
    except OSError:
        pass
