// Node `ws` as a client of echo_server.
//
//   node ws_client.js URL SCENARIO [--deflate] [--deflate-options JSON]
//
// SCENARIO is `text`, `binary`, `large` (a 1 MiB binary message) or
// `file:PATH`: the messages in the JSON file PATH, a list of
// {"binary": bool, "data": text, or base64 when binary}. Prints one line of
// JSON with what happened (including the response's
// Sec-WebSocket-Extensions header); exits 0 when every echo came back
// unchanged with its type and the closing handshake completed with 1000.
//
// `--deflate-options JSON` turns permessage-deflate on with these `ws`
// perMessageDeflate options, e.g. '{"clientMaxWindowBits": 9}'.
'use strict';

const WebSocket = require('ws');
const crypto = require('crypto');
const fs = require('fs');

const [url, scenario, ...flags] = process.argv.slice(2);
let perMessageDeflate = flags.includes('--deflate');
const optionsAt = flags.indexOf('--deflate-options');
if (optionsAt >= 0) perMessageDeflate = JSON.parse(flags[optionsAt + 1]);
const TIMEOUT_MS = Number(process.env.INTEROP_NODE_TIMEOUT_MS || 20000);

function fail(msg) {
  console.log(JSON.stringify({ ok: false, error: msg }));
  process.exit(1);
}

const timer = setTimeout(() => fail(`timed out after ${TIMEOUT_MS} ms`), TIMEOUT_MS);

let outgoing;
switch (scenario) {
  case 'text':
    outgoing = [
      { binary: false, data: 'hello' },
      { binary: false, data: 'héllo wörld 😀 你好世界' },
    ];
    break;
  case 'binary':
    outgoing = [{ binary: true, data: Buffer.from(Array.from({ length: 256 }, (_, i) => i)) }];
    break;
  case 'large':
    outgoing = [{ binary: true, data: crypto.randomBytes(1 << 20) }];
    break;
  default:
    if (scenario && scenario.startsWith('file:')) {
      outgoing = JSON.parse(fs.readFileSync(scenario.slice(5), 'utf8')).map((m) => ({
        binary: m.binary,
        data: m.binary ? Buffer.from(m.data, 'base64') : m.data,
      }));
      break;
    }
    fail(`unknown scenario ${scenario}`);
}

const ws = new WebSocket(url, { perMessageDeflate, maxPayload: 64 << 20 });
const received = [];
let responseExtensions = '';

ws.on('upgrade', (res) => {
  responseExtensions = res.headers['sec-websocket-extensions'] || '';
});

ws.on('open', () => {
  for (const m of outgoing) ws.send(m.data, { binary: m.binary });
});

ws.on('message', (data, isBinary) => {
  const i = received.length;
  received.push(true);
  const want = outgoing[i];
  if (!want) return fail(`unexpected extra message #${i}`);
  if (isBinary !== want.binary) return fail(`message #${i}: binary=${isBinary}, sent binary=${want.binary}`);
  const got = isBinary ? data : data.toString('utf8');
  const same = isBinary ? Buffer.compare(got, want.data) === 0 : got === want.data;
  if (!same) return fail(`message #${i}: echo differs (got ${got.length} bytes/chars, sent ${want.data.length})`);
  if (received.length === outgoing.length) ws.close(1000, 'done');
});

ws.on('close', (code, reason) => {
  clearTimeout(timer);
  if (received.length !== outgoing.length) {
    return fail(`closed (${code}) after ${received.length} of ${outgoing.length} echoes`);
  }
  if (code !== 1000) return fail(`close code ${code}, expected 1000`);
  console.log(JSON.stringify({
    ok: true,
    messages: received.length,
    extensions: ws.extensions || '',
    response_extensions: responseExtensions,
    protocol: ws.protocol || '',
    close: { code, reason: reason.toString('utf8') },
  }));
  process.exit(0);
});

ws.on('error', (err) => fail(`error: ${err.message}`));
