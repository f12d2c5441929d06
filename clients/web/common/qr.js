// QR codes (ISO/IEC 18004, model 2) for what the pages show to be scanned: the payment code
// (digits) and the activation link (…/app/#code=XXXX-XXXX-XXXX-XXXX). Versions 1-6 (from 7 on a
// symbol also carries its version, not needed here) at error-correction level
// M (15 % of the symbol may be damaged), numeric, alphanumeric or byte mode, the mask chosen by
// the standard's penalty rules. Written here rather than vendored: ~200 lines for the little the
// pages need; tests/web/qr_test.mjs decodes its output with Debian's zbarimg.

// Per version at level M: error-correction codewords per block, and the data codewords of each
// block (ISO/IEC 18004 table 9).
const VERSIONS = [null,
  { ec: 10, blocks: [16] },
  { ec: 16, blocks: [28] },
  { ec: 26, blocks: [44] },
  { ec: 18, blocks: [32, 32] },
  { ec: 24, blocks: [43, 43] },
  { ec: 16, blocks: [27, 27, 27, 27] }];
const ALIGNMENT = [null, [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34]];
const ALPHANUMERIC = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';

// GF(256) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D).
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
for (let i = 0, x = 1; i < 255; i += 1) {
  EXP[i] = x;
  LOG[x] = i;
  x <<= 1;
  if (x & 0x100) x ^= 0x11d;
}
for (let i = 255; i < 512; i += 1) EXP[i] = EXP[i - 255];
const multiply = (a, b) => (a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]]);

// The Reed-Solomon remainder of `data` for `degree` error-correction codewords.
function reedSolomon(data, degree) {
  let generator = [1];  // (x - α^0)(x - α^1)...(x - α^(degree-1)), highest power first
  for (let i = 0; i < degree; i += 1) {
    const next = new Array(generator.length + 1).fill(0);
    generator.forEach((c, j) => {
      next[j] ^= c;
      next[j + 1] ^= multiply(c, EXP[i]);
    });
    generator = next;
  }
  const remainder = new Array(degree).fill(0);
  for (const byte of data) {
    const factor = byte ^ remainder.shift();
    remainder.push(0);
    for (let j = 0; j < degree; j += 1) remainder[j] ^= multiply(generator[j + 1], factor);
  }
  return remainder;
}

// The data bits of `text`: [bits, the mode's count-field width]. Digits only: numeric; digits,
// capitals and " $%*+-./:": alphanumeric; else UTF-8 bytes.
function segment(text) {
  const bits = [];
  const put = (value, length) => {
    for (let i = length - 1; i >= 0; i -= 1) bits.push((value >>> i) & 1);
  };
  if (/^\d*$/.test(text)) {
    put(0b0001, 4);
    put(text.length, 10);
    for (let i = 0; i < text.length; i += 3) {
      const group = text.slice(i, i + 3);
      put(Number(group), group.length * 3 + 1);
    }
  } else if ([...text].every((c) => ALPHANUMERIC.includes(c))) {
    put(0b0010, 4);
    put(text.length, 9);
    for (let i = 0; i < text.length; i += 2) {
      if (i + 1 < text.length) {
        put(ALPHANUMERIC.indexOf(text[i]) * 45 + ALPHANUMERIC.indexOf(text[i + 1]), 11);
      } else {
        put(ALPHANUMERIC.indexOf(text[i]), 6);
      }
    }
  } else {
    const bytes = new TextEncoder().encode(text);
    put(0b0100, 4);
    put(bytes.length, 8);
    for (const byte of bytes) put(byte, 8);
  }
  return bits;
}

// The codewords of `text` in the smallest version that holds it, interleaved with their error
// correction: [version, codewords]. Throws when text is too long for version 6.
function codewords(text) {
  const bits = segment(text);
  for (let version = 1; version < VERSIONS.length; version += 1) {
    const { ec, blocks } = VERSIONS[version];
    const capacity = blocks.reduce((a, b) => a + b, 0) * 8;
    if (bits.length > capacity) continue;
    const padded = bits.slice();
    for (let i = 0; i < 4 && padded.length < capacity; i += 1) padded.push(0);  // terminator
    while (padded.length % 8) padded.push(0);
    const data = [];
    for (let i = 0; i < padded.length; i += 8) {
      data.push(padded.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));
    }
    for (let pad = 0xec; data.length < capacity / 8; pad ^= 0xec ^ 0x11) data.push(pad);
    const split = [];
    let start = 0;
    for (const size of blocks) {
      split.push(data.slice(start, start + size));
      start += size;
    }
    const corrections = split.map((block) => reedSolomon(block, ec));
    const out = [];
    for (let i = 0; i < Math.max(...blocks); i += 1) {
      for (const block of split) if (i < block.length) out.push(block[i]);
    }
    for (let i = 0; i < ec; i += 1) for (const correction of corrections) out.push(correction[i]);
    return [version, out];
  }
  throw new Error(`too long for a QR code here: ${text.length} characters`);
}

const MASKS = [
  (x, y) => (x + y) % 2 === 0,
  (x, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

// The standard's penalty of a symbol (rules N1-N4): the lower, the easier to scan.
function penalty(modules) {
  const size = modules.length;
  let score = 0;
  const lines = [];
  for (let i = 0; i < size; i += 1) {
    lines.push(modules[i]);
    lines.push(modules.map((row) => row[i]));
  }
  for (const line of lines) {
    for (let i = 0, run = 1; i < size; i += 1) {  // N1: runs of 5 or more of one colour
      if (i + 1 < size && line[i + 1] === line[i]) {
        run += 1;
      } else {
        if (run >= 5) score += run - 2;
        run = 1;
      }
    }
    const text = line.map((m) => (m ? '1' : '0')).join('');  // N3: finder-like patterns
    for (const pattern of ['10111010000', '00001011101']) {
      for (let at = text.indexOf(pattern); at >= 0; at = text.indexOf(pattern, at + 1)) score += 40;
    }
  }
  for (let y = 0; y + 1 < size; y += 1) {  // N2: 2x2 blocks of one colour
    for (let x = 0; x + 1 < size; x += 1) {
      const c = modules[y][x];
      if (c === modules[y][x + 1] && c === modules[y + 1][x] && c === modules[y + 1][x + 1]) {
        score += 3;
      }
    }
  }
  const dark = modules.flat().filter(Boolean).length;  // N4: far from half dark
  score += Math.floor(Math.abs(dark * 20 - size * size * 10) / (size * size)) * 10;
  return score;
}

// The modules of `text`'s QR code: rows of booleans (true: dark), without the quiet zone.
export function qrModules(text) {
  const [version, data] = codewords(text);
  const size = 17 + 4 * version;
  const modules = Array.from({ length: size }, () => new Array(size).fill(false));
  const fixed = Array.from({ length: size }, () => new Array(size).fill(false));
  const set = (x, y, dark) => {
    modules[y][x] = dark;
    fixed[y][x] = true;
  };
  for (let i = 0; i < size; i += 1) {  // timing patterns
    set(6, i, i % 2 === 0);
    set(i, 6, i % 2 === 0);
  }
  for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]]) {  // finders and separators
    for (let dy = -4; dy <= 4; dy += 1) {
      for (let dx = -4; dx <= 4; dx += 1) {
        const x = cx + dx;
        const y = cy + dy;
        const ring = Math.max(Math.abs(dx), Math.abs(dy));
        if (x >= 0 && x < size && y >= 0 && y < size) set(x, y, ring !== 2 && ring !== 4);
      }
    }
  }
  const centres = ALIGNMENT[version];
  for (const cy of centres) {
    for (const cx of centres) {
      if ((cx === 6 && cy === 6) || (cx === 6 && cy === centres.at(-1))
        || (cx === centres.at(-1) && cy === 6)) continue;  // under a finder
      for (let dy = -2; dy <= 2; dy += 1) {
        for (let dx = -2; dx <= 2; dx += 1) set(cx + dx, cy + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
      }
    }
  }
  const drawFormat = (mask) => {
    const value = mask;  // level M is 00
    let remainder = value;
    for (let i = 0; i < 10; i += 1) remainder = (remainder << 1) ^ ((remainder >>> 9) * 0x537);
    const bits = ((value << 10) | remainder) ^ 0x5412;
    const bit = (i) => ((bits >>> i) & 1) === 1;
    for (let i = 0; i <= 5; i += 1) set(8, i, bit(i));
    set(8, 7, bit(6));
    set(8, 8, bit(7));
    set(7, 8, bit(8));
    for (let i = 9; i < 15; i += 1) set(14 - i, 8, bit(i));
    for (let i = 0; i < 8; i += 1) set(size - 1 - i, 8, bit(i));
    for (let i = 8; i < 15; i += 1) set(8, size - 15 + i, bit(i));
    set(8, size - 8, true);  // the dark module
  };
  drawFormat(0);  // reserves the format areas before the data goes in
  let bit = 0;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;  // the vertical timing pattern
    for (let step = 0; step < size; step += 1) {
      for (let j = 0; j < 2; j += 1) {
        const x = right - j;
        const y = ((right + 1) & 2) === 0 ? size - 1 - step : step;
        if (!fixed[y][x] && bit < data.length * 8) {
          modules[y][x] = ((data[bit >>> 3] >>> (7 - (bit & 7))) & 1) === 1;
          bit += 1;
        }
      }
    }
  }
  let best = null;
  for (let mask = 0; mask < MASKS.length; mask += 1) {
    const candidate = modules.map((row, y) => row.map((m, x) => (fixed[y][x] ? m : m !== MASKS[mask](x, y))));
    const saved = modules.map((row) => row.slice());
    for (let y = 0; y < size; y += 1) modules[y] = candidate[y];
    drawFormat(mask);
    const score = penalty(modules);
    if (best === null || score < best.score) best = { score, modules: modules.map((row) => row.slice()) };
    for (let y = 0; y < size; y += 1) modules[y] = saved[y];
  }
  return best.modules;
}

// The QR code of `text` as an SVG element (4 modules of quiet zone), `pixels` wide.
export function qrSvg(text, pixels = 240) {
  const modules = qrModules(text);
  const size = modules.length + 8;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('width', String(pixels));
  svg.setAttribute('height', String(pixels));
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.setAttribute('role', 'img');
  const background = document.createElementNS(ns, 'rect');
  for (const [name, value] of [['width', size], ['height', size], ['fill', '#fff']]) {
    background.setAttribute(name, String(value));
  }
  svg.append(background);
  let path = '';
  modules.forEach((row, y) => row.forEach((dark, x) => {
    if (dark) path += `M${x + 4} ${y + 4}h1v1h-1z`;
  }));
  const ink = document.createElementNS(ns, 'path');
  ink.setAttribute('d', path);
  ink.setAttribute('fill', '#000');
  svg.append(ink);
  return svg;
}
