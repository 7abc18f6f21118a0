// Node `ws` WebSocketServer as a peer for wscat.
//
//   node ws_server.js [--deflate] [--deflate-options JSON]
//
// Listens on 127.0.0.1 on an ephemeral port and prints `port: N` on stdout,
// then one JSON line per event (`connection` with the request headers and
// the Sec-WebSocket-Extensions header of the response, `message`, `close`).
// Echoes every message with its type. Exits when its stdin closes or after
// INTEROP_NODE_TIMEOUT_MS.
//
// `--deflate-options JSON` turns permessage-deflate on with these `ws`
// perMessageDeflate options, e.g. '{"serverMaxWindowBits": 9}'.
'use strict';

const { WebSocketServer } = require('ws');

const args = process.argv.slice(2);
let perMessageDeflate = args.includes('--deflate');
const optionsAt = args.indexOf('--deflate-options');
if (optionsAt >= 0) perMessageDeflate = JSON.parse(args[optionsAt + 1]);
const TIMEOUT_MS = Number(process.env.INTEROP_NODE_TIMEOUT_MS || 20000);
const log = (obj) => console.log(JSON.stringify(obj));

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate, maxPayload: 64 << 20 });

wss.on('listening', () => console.log(`port: ${wss.address().port}`));

// The response's extensions header, for the connection event.
wss.on('headers', (headers, req) => {
  const prefix = 'sec-websocket-extensions:';
  const line = headers.find((h) => h.toLowerCase().startsWith(prefix));
  req.interopResponseExtensions = line ? line.slice(prefix.length).trim() : '';
});

wss.on('connection', (ws, req) => {
  log({
    event: 'connection',
    headers: req.headers,
    protocol: ws.protocol,
    extensions: ws.extensions,
    response_extensions: req.interopResponseExtensions || '',
  });
  ws.on('message', (data, isBinary) => {
    log({ event: 'message', binary: isBinary, text: isBinary ? data.toString('hex') : data.toString('utf8') });
    ws.send(data, { binary: isBinary });
  });
  ws.on('close', (code, reason) => log({ event: 'close', code, reason: reason.toString('utf8') }));
  ws.on('error', (err) => log({ event: 'error', message: err.message }));
});

const stop = () => {
  for (const c of wss.clients) c.terminate();
  wss.close();
  process.exit(0);
};
setTimeout(stop, TIMEOUT_MS).unref();
process.stdin.on('end', stop);
process.stdin.resume();
