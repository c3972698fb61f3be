// QR code symbols (ISO/IEC 18004) for the ticket page's rotating code:
// byte mode, error correction level M (15% recoverable, as the server's
// static QR), versions 1-20 (up to 666 bytes; a rotating code is about
// 170-210). The page redraws the code every 30 seconds, so it is drawn
// here rather than fetched: the door needs no network.

// Level M per version 1-20: error correction codewords per block, blocks.
const EC_PER_BLOCK = [10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26];
const BLOCKS = [1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16];
const MAX_VERSION = 20;

// Codewords of a version: the modules left after the function patterns.
function totalCodewords(v) {
  let bits = (16 * v + 128) * v + 64;
  if (v >= 2) {
    const n = Math.floor(v / 7) + 2;
    bits -= (25 * n - 10) * n - 55;
    if (v >= 7) bits -= 36;
  }
  return Math.floor(bits / 8);
}
const dataCodewords = v => totalCodewords(v) - EC_PER_BLOCK[v - 1] * BLOCKS[v - 1];

// GF(256) with the QR polynomial x^8+x^4+x^3+x^2+1.
function gfMul(x, y) {
  let z = 0;
  for (let i = 7; i >= 0; i--) {
    z = (z << 1) ^ ((z >>> 7) * 0x11d);
    z ^= ((y >>> i) & 1) * x;
  }
  return z;
}

// The Reed-Solomon generator of a degree, highest coefficient dropped.
function rsDivisor(degree) {
  const r = new Array(degree).fill(0);
  r[degree - 1] = 1;
  let root = 1;
  for (let i = 0; i < degree; i++) {
    for (let j = 0; j < degree; j++) {
      r[j] = gfMul(r[j], root);
      if (j + 1 < degree) r[j] ^= r[j + 1];
    }
    root = gfMul(root, 2);
  }
  return r;
}

function rsRemainder(data, divisor) {
  const r = divisor.map(() => 0);
  for (const b of data) {
    const f = b ^ r.shift();
    r.push(0);
    divisor.forEach((c, i) => { r[i] ^= gfMul(c, f); });
  }
  return r;
}

// codewords: the data bits (mode, count, bytes, terminator, padding),
// split into blocks, each with its error correction, interleaved.
function codewords(bytes, v) {
  const bits = [];
  const put = (val, n) => { for (let i = n - 1; i >= 0; i--) bits.push((val >>> i) & 1); };
  put(4, 4);
  put(bytes.length, v <= 9 ? 8 : 16);
  for (const b of bytes) put(b, 8);
  const cap = dataCodewords(v) * 8;
  put(0, Math.min(4, cap - bits.length));
  put(0, (8 - bits.length % 8) % 8);
  for (let pad = 0xec; bits.length < cap; pad ^= 0xec ^ 0x11) put(pad, 8);
  const data = [];
  for (let i = 0; i < bits.length; i += 8) data.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));

  const n = BLOCKS[v - 1], ec = EC_PER_BLOCK[v - 1], total = totalCodewords(v);
  const shortLen = Math.floor(total / n), numShort = n - total % n;
  const divisor = rsDivisor(ec);
  const blocks = [];
  for (let i = 0, k = 0; i < n; i++) {
    const d = data.slice(k, k + shortLen - ec + (i < numShort ? 0 : 1));
    k += d.length;
    blocks.push({ d, e: rsRemainder(d, divisor) });
  }
  const out = [];
  for (let i = 0; i <= shortLen - ec; i++) for (const b of blocks) if (i < b.d.length) out.push(b.d[i]);
  for (let i = 0; i < ec; i++) for (const b of blocks) out.push(b.e[i]);
  return out;
}

function alignmentPositions(v) {
  if (v === 1) return [];
  const n = Math.floor(v / 7) + 2, step = Math.floor((v * 8 + n * 3 + 5) / (n * 4 - 4)) * 2;
  const out = [6];
  for (let pos = v * 4 + 10; out.length < n; pos -= step) out.splice(1, 0, pos);
  return out;
}

const MASKS = [
  (x, y) => (x + y) % 2 === 0,
  (x, y) => y % 2 === 0,
  x => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => x * y % 2 + x * y % 3 === 0,
  (x, y) => (x * y % 2 + x * y % 3) % 2 === 0,
  (x, y) => ((x + y) % 2 + x * y % 3) % 2 === 0,
];

// symbol draws version v with mask m: dark modules true.
function symbol(cw, v, m) {
  const size = v * 4 + 17;
  const dark = Array.from({ length: size }, () => new Array(size).fill(false));
  const fixed = Array.from({ length: size }, () => new Array(size).fill(false));
  const set = (x, y, d) => { dark[y][x] = d; fixed[y][x] = true; };

  for (let i = 0; i < size; i++) { set(6, i, i % 2 === 0); set(i, 6, i % 2 === 0); }
  for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]]) {
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const x = cx + dx, y = cy + dy, d = Math.max(Math.abs(dx), Math.abs(dy));
        if (x >= 0 && x < size && y >= 0 && y < size) set(x, y, d !== 2 && d !== 4);
      }
    }
  }
  const al = alignmentPositions(v), last = al.length - 1;
  al.forEach((ax, i) => al.forEach((ay, j) => {
    if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) return;
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) set(ax + dx, ay + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
  }));

  // Format: level M (00) and the mask, BCH(15,5), masked with 0x5412.
  const fdata = m;
  let rem = fdata;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  const fbits = ((fdata << 10) | rem) ^ 0x5412;
  const fb = i => ((fbits >>> i) & 1) === 1;
  for (let i = 0; i <= 5; i++) set(8, i, fb(i));
  set(8, 7, fb(6));
  set(8, 8, fb(7));
  set(7, 8, fb(8));
  for (let i = 9; i < 15; i++) set(14 - i, 8, fb(i));
  for (let i = 0; i < 8; i++) set(size - 1 - i, 8, fb(i));
  for (let i = 8; i < 15; i++) set(8, size - 15 + i, fb(i));
  set(8, size - 8, true);

  if (v >= 7) {
    let r = v;
    for (let i = 0; i < 12; i++) r = (r << 1) ^ ((r >>> 11) * 0x1f25);
    const vbits = (v << 12) | r;
    for (let i = 0; i < 18; i++) {
      const d = ((vbits >>> i) & 1) === 1, a = size - 11 + i % 3, b = Math.floor(i / 3);
      set(a, b, d);
      set(b, a, d);
    }
  }

  let i = 0;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let vert = 0; vert < size; vert++) {
      for (let j = 0; j < 2; j++) {
        const x = right - j, y = ((right + 1) & 2) === 0 ? size - 1 - vert : vert;
        if (!fixed[y][x] && i < cw.length * 8) {
          dark[y][x] = ((cw[i >>> 3] >>> (7 - (i & 7))) & 1) === 1;
          i++;
        }
      }
    }
  }
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if (!fixed[y][x] && MASKS[m](x, y)) dark[y][x] = !dark[y][x];
  return dark;
}

// penalty scores a symbol by the standard's four rules; the lowest wins.
function penalty(s) {
  const size = s.length;
  let p = 0, darkCount = 0;
  const lines = [];
  for (let i = 0; i < size; i++) {
    lines.push(s[i]);
    lines.push(s.map(row => row[i]));
  }
  const finder = [true, false, true, true, true, false, true];
  for (const line of lines) {
    for (let i = 0, run = 1; i < size; i++) {
      if (i + 1 < size && line[i + 1] === line[i]) run++;
      else {
        if (run >= 5) p += run - 2;
        run = 1;
      }
    }
    for (let i = 0; i + 7 <= size; i++) {
      if (!finder.every((d, k) => line[i + k] === d)) continue;
      const light = (a, b) => a >= 0 && b <= size && line.slice(a, b).every(d => !d);
      if ((i >= 4 && light(i - 4, i)) || (i + 11 <= size && light(i + 7, i + 11))) p += 40;
    }
  }
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (s[y][x]) darkCount++;
      if (x + 1 < size && y + 1 < size && s[y][x] === s[y][x + 1] && s[y][x] === s[y + 1][x] && s[y][x] === s[y + 1][x + 1]) p += 3;
    }
  }
  const total = size * size;
  return p + (Math.ceil(Math.abs(darkCount * 20 - total * 10) / total) - 1) * 10;
}

// qrModules is the symbol of text (UTF-8 bytes), dark modules true.
export function qrModules(text) {
  const bytes = new TextEncoder().encode(text);
  let v = 1;
  while (v <= MAX_VERSION && 4 + (v <= 9 ? 8 : 16) + bytes.length * 8 > dataCodewords(v) * 8) v++;
  if (v > MAX_VERSION) throw new Error(`qr: ${bytes.length} bytes do not fit version ${MAX_VERSION}`);
  const cw = codewords(bytes, v);
  let best = null, bestScore = Infinity;
  for (let m = 0; m < 8; m++) {
    const s = symbol(cw, v, m), score = penalty(s);
    if (score < bestScore) [best, bestScore] = [s, score];
  }
  return best;
}

// drawQR paints text on canvas: whole pixels per module, black on white,
// with the 4-module quiet zone scanners expect.
export function drawQR(canvas, text, px = 4) {
  const m = qrModules(text), side = (m.length + 8) * px;
  canvas.width = canvas.height = side;
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, side, side);
  g.fillStyle = '#000';
  m.forEach((row, y) => row.forEach((d, x) => { if (d) g.fillRect((x + 4) * px, (y + 4) * px, px, px); }));
}
