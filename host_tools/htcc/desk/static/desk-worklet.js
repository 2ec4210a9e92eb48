// AudioWorklet processors of the desk (no build step).
//   desk-mic:    microphone (a context at the device's rate) -> 8 kHz Int16 frames of 160 samples (20 ms) posted
//                to the page while active
// The playback context runs at 8 kHz, the rate of the radios' voice path: the browser resamples to the speakers.
//   desk-player: per-talkgroup PCM streams in -> one mixed output; the selected talkgroup louder

// The microphone runs in a context at the device's own rate (48 kHz typically): a MediaStream fed into a context
// of another rate goes through the browser's rate-matching FIFO, which drops and repeats a few samples whenever
// the capture and render clocks slip (measured: the waveform jumped by ~5 ms several times a second). Here the
// samples are filtered (windowed-sinc low-pass at 3.6 kHz) and picked at 8 kHz, exactly, on the capture's clock.
const OUT_RATE = 8000;
const TAPS = 63;

function lowpass(rate) {
  const fc = 3600 / rate, h = new Float32Array(TAPS), m = (TAPS - 1) / 2;
  let sum = 0;
  for (let i = 0; i < TAPS; i++) {
    const x = i - m;
    const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
    const w = 0.42 - 0.5 * Math.cos(2 * Math.PI * i / (TAPS - 1)) + 0.08 * Math.cos(4 * Math.PI * i / (TAPS - 1));
    h[i] = sinc * w;
    sum += h[i];
  }
  for (let i = 0; i < TAPS; i++) h[i] /= sum;
  return h;
}

class DeskMic extends AudioWorkletProcessor {
  constructor() {
    super();
    this.active = false;
    this.buf = new Int16Array(160);
    this.n = 0;
    this.step = sampleRate / OUT_RATE;       // input samples per output sample (6 at 48 kHz)
    this.h = this.step > 1 ? lowpass(sampleRate) : null;
    this.hist = new Float32Array(4096);      // input history (ring), for the filter
    this.w = 0;                              // input samples seen
    this.next = TAPS;                        // input position of the next output sample
    this.port.onmessage = (e) => {
      if (e.data && "active" in e.data) {
        this.active = !!e.data.active;
        this.n = 0;
      }
    };
  }
  filtered(at) {
    // the low-passed signal at input sample `at` (an integer position already in the history)
    const h = this.h, hist = this.hist;
    let acc = 0;
    for (let k = 0; k < TAPS; k++) acc += h[k] * hist[(at - k) & 4095];
    return acc;
  }
  emit(v) {
    v = v > 1 ? 1 : v < -1 ? -1 : v;
    this.buf[this.n++] = v < 0 ? v * 32768 : v * 32767;
    if (this.n === 160) {
      if (this.active) {
        const out = this.buf;
        this.port.postMessage(out.buffer, [out.buffer]);
        this.buf = new Int16Array(160);
      }
      this.n = 0;
    }
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch) return true;
    if (!this.h) {
      for (let i = 0; i < ch.length; i++) this.emit(ch[i]);
      return true;
    }
    for (let i = 0; i < ch.length; i++) {
      this.hist[this.w & 4095] = ch[i];
      this.w++;
      while (this.next + 1 < this.w) {
        const i0 = Math.floor(this.next), f = this.next - i0;
        const v = f === 0 ? this.filtered(i0) : (1 - f) * this.filtered(i0) + f * this.filtered(i0 + 1);
        this.emit(v);
        this.next += this.step;
      }
    }
    return true;
  }
}

const RING = 8000;          // 1 s per talkgroup
const START = 320;          // 40 ms in hand before a stream starts (or restarts after running dry)
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
        this.port.postMessage({ started: tg });     // the page stamps it (the bench's radio-to-desk figure)
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
