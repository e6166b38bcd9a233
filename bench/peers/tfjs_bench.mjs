// tfjs_bench.mjs: TensorFlow.js peer for plab's benchmark. Trains an MLP (ReLU, Kaiming
// normal init, softmax cross-entropy, plain SGD) on one fixed random batch and prints
// examples per second as JSON lines, one per network and batch size.
//   node tfjs_bench.mjs [--backend wasm|cpu] [--seconds S] [--nets spec,...]
// spec: "784-100-100-100-10:30" (layer widths:batch).
import { createRequire } from 'node:module';
import path from 'node:path';
import url from 'node:url';

const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const backend = opt('--backend', 'wasm');
const seconds = Number(opt('--seconds', '2'));
const nets = opt('--nets', '784-100-100-100-10:32,784-100-100-100-10:1,784-10-10-10-10:30,2-32-32-1:1').split(',');

const here = path.dirname(url.fileURLToPath(import.meta.url));
wasm.setWasmPaths(path.join(here, 'node_modules/@tensorflow/tfjs-backend-wasm/dist/'));
await tf.setBackend(backend);
await tf.ready();

function bench(spec) {
  const [widthsText, batchText] = spec.split(':');
  const widths = widthsText.split('-').map(Number);
  const batch = Number(batchText);
  const params = [];
  for (let l = 1; l < widths.length; l++) {
    const fanIn = widths[l - 1];
    params.push(tf.variable(tf.randomNormal([fanIn, widths[l]], 0, Math.sqrt(2 / fanIn))));
    params.push(tf.variable(tf.zeros([widths[l]])));
  }
  const x = tf.randomUniform([batch, widths[0]]);
  const classes = widths[widths.length - 1];
  const y = tf.cast(tf.oneHot(tf.randomUniform([batch], 0, classes, 'int32'), classes), 'float32');
  const optimizer = tf.train.sgd(0.01);
  const loss = () => {
    let h = x;
    for (let l = 0; l < params.length; l += 2) {
      h = tf.add(tf.matMul(h, params[l]), params[l + 1]);
      if (l + 2 < params.length) h = tf.relu(h);
    }
    return classes > 1 ? tf.losses.softmaxCrossEntropy(y, h) : tf.losses.meanSquaredError(y, h);
  };
  const step = () => {
    const l = optimizer.minimize(loss, true);
    l.dataSync();
    l.dispose();
  };
  for (let i = 0; i < 3; i++) step();
  let steps = 0;
  const t0 = performance.now();
  let t1 = t0;
  while (t1 - t0 < seconds * 1000) {
    step();
    steps++;
    t1 = performance.now();
  }
  tf.dispose([x, y, ...params]);
  return { peer: `tfjs-${backend}`, net: widthsText, batch, examples_per_s: (steps * batch) / ((t1 - t0) / 1000) };
}

for (const spec of nets) console.log(JSON.stringify(bench(spec)));
