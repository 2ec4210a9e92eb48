// AudioWorklet processors of the desk (no build step). The page's AudioContext runs at 8 kHz, the rate of
// the radios' voice path, so the browser itself resamples the microphone and the speakers.
//   desk-mic:    microphone -> Int16 frames of 160 samples (20 ms) posted to the page while active
//   desk-player: per-talkgroup PCM streams in -> one mixed output; the selected talkgroup louder

class DeskMic extends AudioWorkletProcessor {
  constructor() {
    super();
    this.active = false;
    this.buf = new Int16Array(160);
    this.n = 0;
    this.port.onmessage = (e) => {
      if (e.data && "active" in e.data) {
        this.active = !!e.data.active;
        this.n = 0;
      }
    };
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch || !this.active) return true;
    for (let i = 0; i < ch.length; i++) {
      let s = ch[i];
      s = s > 1 ? 1 : s < -1 ? -1 : s;
      this.buf[this.n++] = s < 0 ? s * 32768 : s * 32767;
      if (this.n === 160) {
        const out = this.buf;
        this.port.postMessage(out.buffer, [out.buffer]);
        this.buf = new Int16Array(160);
        this.n = 0;
      }
    }
    return true;
  }
}

const RING = 8000;          // 1 s per talkgroup
const START = 480;          // 60 ms in hand before a stream starts (or restarts after running dry)
const MAX = 3200;           // more than 400 ms waiting: the oldest is dropped, the desk stays live

class DeskPlayer extends AudioWorkletProcessor {
  constructor() {
    super();
    this.streams = new Map();
    this.gains = {};
    this.port.onmessage = (e) => {
      const d = e.data;
      if (d.gains) this.gains = d.gains;
      if (d.pcm) this.push(d.tg, d.pcm);
      if (d.flush) this.streams.clear();
    };
  }
  stream(tg) {
    let s = this.streams.get(tg);
    if (!s) {
      s = { buf: new Float32Array(RING), r: 0, w: 0, playing: false, dropped: 0 };
      this.streams.set(tg, s);
    }
    return s;
  }
  push(tg, pcm) {
    const s = this.stream(tg);
    const x = new Int16Array(pcm);
    for (let i = 0; i < x.length; i++) {
      s.buf[s.w % RING] = x[i] / 32768;
      s.w++;
    }
    if (s.w - s.r > MAX) {
      s.dropped += s.w - s.r - START;
      s.r = s.w - START;
    }
  }
  process(inputs, outputs) {
    const out = outputs[0][0];
    out.fill(0);
    for (const [tg, s] of this.streams) {
      const have = s.w - s.r;
      if (!s.playing) {
        if (have < START) continue;
        s.playing = true;
      }
      const g = tg in this.gains ? this.gains[tg] : 1;
      const n = Math.min(out.length, have);
      for (let i = 0; i < n; i++) {
        out[i] += g * s.buf[(s.r + i) % RING];
      }
      s.r += n;
      if (n < out.length) s.playing = false;     // ran dry: wait for START again
    }
    for (let i = 0; i < out.length; i++) {
      if (out[i] > 1) out[i] = 1;
      else if (out[i] < -1) out[i] = -1;
    }
    return true;
  }
}

registerProcessor("desk-mic", DeskMic);
registerProcessor("desk-player", DeskPlayer);
