// AudioWorklet processors of the desk (no build step).
//   desk-mic:    microphone (a context at the device's rate) -> 8 kHz Int16 frames of 160 samples (20 ms) posted
//                to the page while active
//   desk-player: per-talkgroup 8 kHz PCM streams in -> one mixed output at the context's rate (48 kHz), each
//                stream interpolated here; the selected talkgroup louder
// The playback context runs at 48 kHz, not at the voice path's 8 kHz: Chromium sizes an 8 kHz context's buffers
// for 48 kHz's (a 128-frame quantum is 16 ms at 8 kHz, 2.7 ms at 48 kHz) and reported 64 ms of base plus output
// latency at 8 kHz against 40 ms at 48 kHz (bench_desk, radio -> desk).

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

const RING = 8000;          // 1 s per talkgroup (8 kHz samples)
const START = 320;          // 40 ms in hand before a stream starts (or restarts after running dry)
const MAX = 3200;           // more than 400 ms waiting: the oldest is dropped, the desk stays live
const HALF = 8;             // interpolation taps each side (1 ms of look-ahead at 8 kHz)
const TAP = 1024;           // tapped 8 kHz samples per message to the page

// Interpolation 8 kHz -> the context's rate: a Kaiser-windowed sinc cut at 4 kHz, one row of 2*HALF taps per
// phase. With an integer ratio (48 kHz: 6) there is a row per output phase and phase 0 is the input sample
// itself, so every sixth output sample is exactly the 8 kHz stream (what the tap hands the tests).
function bessel0(x) {
  let s = 1, t = 1;
  for (let k = 1; k < 25; k++) { t *= (x / (2 * k)) * (x / (2 * k)); s += t; }
  return s;
}
function interpTable(phases) {
  const beta = 6, tab = new Float32Array(phases * 2 * HALF);
  for (let p = 0; p < phases; p++) {
    const f = p / phases;
    for (let k = 0; k < 2 * HALF; k++) {
      const x = k - (HALF - 1) - f;            // taps at input offsets -(HALF-1)..HALF around the position
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const u = x / HALF;
      const w = Math.abs(u) >= 1 ? 0 : bessel0(beta * Math.sqrt(1 - u * u)) / bessel0(beta);
      tab[p * 2 * HALF + k] = sinc * w;
    }
  }
  return tab;
}

class DeskPlayer extends AudioWorkletProcessor {
  constructor() {
    super();
    this.streams = new Map();
    this.gains = {};
    this.ratio = sampleRate / 8000;                        // output samples per input sample
    this.phases = Number.isInteger(this.ratio) ? this.ratio : 256;
    this.tab = interpTable(this.phases);
    this.tap = null;                                       // Float32Array of 8 kHz samples while tapping
    this.tapN = 0;
    this.port.onmessage = (e) => {
      const d = e.data;
      if (d.gains) this.gains = d.gains;
      if (d.pcm) this.push(d.tg, d.pcm);
      if (d.flush) this.streams.clear();
      if (d.tap) { this.tap = new Int16Array(TAP); this.tapN = 0; }
    };
  }
  stream(tg) {
    let s = this.streams.get(tg);
    if (!s) {
      s = { buf: new Float32Array(RING), r: 0, w: 0, k: 0, playing: false, dropped: 0 };
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
    const R = this.ratio, P = this.phases, T2 = 2 * HALF, tab = this.tab;
    out.fill(0);
    for (const [tg, s] of this.streams) {
      if (!s.playing) {
        if (s.w - s.r < START) continue;
        s.playing = true;
        // Start on the output's grid (frames where currentFrame + i is a multiple of R play input samples
        // as they are), a fraction of a sample into the stream at most.
        s.k = (currentFrame % R) % P;
        this.port.postMessage({ started: tg });     // the page stamps it (the bench's radio-to-desk figure)
      }
      const g = tg in this.gains ? this.gains[tg] : 1;
      // s.r: the input sample at (or just before) the position; s.k / P: the fraction past it
      let i = 0;
      for (; i < out.length; i++) {
        if (s.r + HALF >= s.w) break;               // the taps ahead are not here yet
        const row = (s.k | 0) * T2, base = s.r - (HALF - 1);
        let acc = 0;
        for (let t = 0; t < T2; t++) acc += tab[row + t] * s.buf[((base + t) % RING + RING) % RING];
        out[i] += g * acc;
        s.k += P / R;
        while (s.k >= P) { s.k -= P; s.r++; }
      }
      if (i < out.length) s.playing = false;     // ran dry: wait for START again
    }
    for (let i = 0; i < out.length; i++) {
      if (out[i] > 1) out[i] = 1;
      else if (out[i] < -1) out[i] = -1;
    }
    if (this.tap) {
      // Tests and the bench: what goes to the speakers, at 8 kHz (the grid frames: exactly the mixed input)
      for (let i = (R - currentFrame % R) % R; i < out.length; i += R) {
        this.tap[this.tapN++] = Math.round(out[Math.floor(i)] * 32767);   // (clipped to +-1 above)
        if (this.tapN === TAP) {
          this.port.postMessage({ tapped: this.tap }, [this.tap.buffer]);
          this.tap = new Int16Array(TAP);
          this.tapN = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("desk-mic", DeskMic);
registerProcessor("desk-player", DeskPlayer);
