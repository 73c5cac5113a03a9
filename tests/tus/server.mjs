// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The tus reference server for xferd's upload tests: tus-node-server
// (@tus/server) with its FileStore (@tus/file-store), on 127.0.0.1 at /files/.
//
//   node tests/tus/server.mjs --dir UPLOAD_DIR [--port N] [--log FILE] [--pause-at BYTES]
//                             [--relative-location]
//
//   --dir DIR         where uploads are stored: upload ID holds the bytes received so far
//                     (its size is the upload's offset), ID.json the upload's info (length,
//                     metadata). The termination extension (DELETE) removes both.
//   --port N          port to listen on; 0 or none picks a free one. The server may be
//                     stopped and started again with the same --port and --dir: uploads made
//                     by an earlier run continue where its data file ends.
//   --log FILE        appends one line per event, written synchronously (so every line
//                     written before a SIGKILL is there); see "The log" below.
//   --pause-at BYTES  stop reading an upload's body once its offset reaches BYTES (once per
//                     upload per server run; an upload that starts beyond BYTES is not
//                     paused). The request then stays open and stalled, the data file holding
//                     exactly BYTES bytes, until
//                       - another request (HEAD, PATCH, DELETE) for the same upload arrives:
//                         the stalled request is dropped (answered 500, nothing more written),
//                         as a server does for a client that reconnected;
//                       - SIGUSR1: every stalled request continues and pausing ends;
//                       - the server stops.
//                     Fault points are byte counts, never timings, so a test can wait for them
//                     (the data file reaching BYTES) deterministically.
//   --relative-location  answer a creation with a Location of the upload's path only
//                     ("/files/ID"): the client resolves it against its creation URL.
//
// Prints "PORT=<n>" on stdout once listening. SIGTERM or SIGINT: logs what the requests in
// flight received, then exits 0 at once (connections are cut, as when a server goes down).
//
// The log, one event a line ("<pid>" is this server run):
//   <pid> START port=<n>
//   <pid> REQUEST <METHOD> <path> <status>       when a response was sent
//   <pid> WRITE <id> offset=<n> received=<n> <how>
//         a request body ended: offset is the upload offset it started at, received the
//         bytes it added to the upload; how = complete, dropped, error or stopped (server
//         stopped meanwhile)
//   <pid> PAUSE <id> offset=<n>
//   <pid> STOP
// The tests sum "received" over every WRITE to learn how many bytes reached the server in
// total, across restarts.

import fs from 'node:fs';
import http from 'node:http';
import process from 'node:process';
import stream from 'node:stream';
import { parseArgs } from 'node:util';

import { Server } from '@tus/server';
import { FileStore } from '@tus/file-store';

const usage = 'usage: node server.mjs --dir UPLOAD_DIR [--port N] [--log FILE] [--pause-at BYTES] ' +
  '[--relative-location]';

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      dir: { type: 'string' },
      port: { type: 'string', default: '0' },
      log: { type: 'string' },
      'pause-at': { type: 'string' },
      'relative-location': { type: 'boolean', default: false },
    },
    strict: true,
  }));
} catch (e) {
  console.error(`tus-server: ${e.message}\n${usage}`);
  process.exit(2);
}
if (!args.dir) {
  console.error(`tus-server: --dir is required\n${usage}`);
  process.exit(2);
}
const port = Number.parseInt(args.port, 10);
let pauseAt = args['pause-at'] === undefined ? null : Number.parseInt(args['pause-at'], 10);
if (!Number.isInteger(port) || port < 0 || port > 65535 ||
    (pauseAt !== null && (!Number.isInteger(pauseAt) || pauseAt < 0))) {
  console.error(`tus-server: bad --port or --pause-at\n${usage}`);
  process.exit(2);
}

fs.mkdirSync(args.dir, { recursive: true });
const logFd = args.log ? fs.openSync(args.log, 'a') : null;
function log(line) {
  if (logFd !== null)
    fs.writeSync(logFd, `${process.pid} ${line}\n`);
}

// Request bodies being written to the store.
const writes = new Set();
// Uploads whose pause point was reached in this run.
const pausedOnce = new Set();

function releaseWrite(w, error) {
  const held = w.held;
  if (!held)
    return;
  w.held = null;
  if (error) {
    held.callback(error);
    return;
  }
  w.received += held.tail.length;
  held.callback(null, held.tail);
}

// The FileStore, with every request body counted and, with --pause-at, stalled at the pause
// point. The counting stream sits between the request and FileStore.write, so what it lets
// through is exactly what is written to the data file.
class TestFileStore extends FileStore {
  async write(readable, id, offset) {
    const w = { id, offset, received: 0, held: null, how: 'complete' };
    if (pauseAt !== null && offset >= pauseAt)
      pausedOnce.add(id);
    const meter = new stream.Transform({
      transform(chunk, _encoding, callback) {
        const position = w.offset + w.received;
        if (pauseAt !== null && !pausedOnce.has(id) && position + chunk.length > pauseAt) {
          const head = chunk.subarray(0, pauseAt - position);
          pausedOnce.add(id);
          w.received += head.length;
          if (head.length > 0)
            this.push(head);
          w.held = { tail: chunk.subarray(head.length), callback };
          log(`PAUSE ${id} offset=${pauseAt}`);
          return;
        }
        w.received += chunk.length;
        callback(null, chunk);
      },
    });
    // pipeline() forwards an error of the request body to meter, which FileStore.write
    // then sees; pipe() would leave meter waiting forever.
    stream.pipeline(readable, meter, () => {});
    writes.add(w);
    try {
      return await super.write(meter, id, offset);
    } catch (e) {
      if (w.how === 'complete')
        w.how = 'error';
      throw e;
    } finally {
      writes.delete(w);
      log(`WRITE ${id} offset=${offset} received=${w.received} ${w.how}`);
    }
  }
}

const tus = new Server({
  path: '/files',
  relativeLocation: args['relative-location'],
  datastore: new TestFileStore({ directory: args.dir }),
  // Before a HEAD, PATCH or DELETE takes the upload's lock: a stalled body of the same
  // upload is from a client that has given up on it (it reconnected or cancelled).
  // (req, id) in @tus/server 2, (req, res, id) in 1: the id comes last in both.
  async onIncomingRequest(...hookArgs) {
    const id = hookArgs[hookArgs.length - 1];
    for (const w of writes) {
      if (w.id === id && w.held) {
        w.how = 'dropped';
        releaseWrite(w, new Error('a newer request for this upload arrived'));
      }
    }
  },
});

const server = http.createServer((req, res) => {
  res.on('finish', () => log(`REQUEST ${req.method} ${req.url} ${res.statusCode}`));
  tus.handle(req, res).catch((e) => {
    console.error(`tus-server: ${req.method} ${req.url}: ${e?.stack ?? e}`);
    if (!res.headersSent)
      res.writeHead(500);
    res.end();
  });
});
server.keepAliveTimeout = 60000;

server.on('error', (e) => {
  console.error(`tus-server: ${e.message}`);
  process.exit(1);
});

server.listen(port, '127.0.0.1', () => {
  const actual = server.address().port;
  log(`START port=${actual}`);
  process.stdout.write(`PORT=${actual}\n`);
});

function stop() {
  for (const w of writes) {
    w.how = 'stopped';
    log(`WRITE ${w.id} offset=${w.offset} received=${w.received} stopped`);
  }
  writes.clear();
  log('STOP');
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('SIGUSR1', () => {
  pauseAt = null;
  for (const w of writes)
    releaseWrite(w, null);
});
