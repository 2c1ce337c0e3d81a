'use strict';
// Node preload (`node --require /path/force-loopback.cjs app.js`) used by the
// mcpgw test harness.
//
// 1. Forces every TCP `net.Server#listen` (and therefore http/https/express
//    `app.listen`) onto 127.0.0.1, whatever host the program asked for (none,
//    '0.0.0.0', '::', 'localhost', ...).  server-everything calls
//    `app.listen(PORT)` without a host, which would bind all interfaces.
//    Unix-socket paths, file descriptors and pre-made handles are untouched.
// 2. When the first such server in the process is listening, writes exactly
//    one line to stderr:
//        MCPGW_PEER_READY port=<actual port>
//    so a test can start the peer with PORT=0 and learn the port without
//    sleeping or polling.  The 'listening' event fires after bind()+listen()
//    succeeded, so the port accepts connections by then.
//
// Set MCPGW_LOOPBACK_QUIET=1 to suppress the readiness line (e.g. when the
// preload is passed via NODE_OPTIONS to a tool that starts several servers).

const net = require('net');
const fs = require('fs');

const LOOPBACK = '127.0.0.1';
const READY_PREFIX = 'MCPGW_PEER_READY';
let announced = false;

const originalListen = net.Server.prototype.listen;

function isPortLike(v) {
  if (typeof v === 'number') return true;
  return typeof v === 'string' && v.trim() !== '' && /^\d+$/.test(v.trim());
}

function rewriteArgs(args) {
  const first = args[0];

  // listen(options[, cb])
  if (first !== null && typeof first === 'object') {
    // A handle/server/socket object, or an options object that names a
    // handle, fd or unix path: not a TCP host/port bind, leave it alone.
    if (first._handle || first.handle || first.fd !== undefined || first.path !== undefined) {
      return args;
    }
    const opts = Object.assign({}, first, { host: LOOPBACK });
    delete opts.ipv6Only;
    return [opts].concat(args.slice(1));
  }

  // listen(path[, backlog][, cb]) for a unix socket / named pipe.
  if (typeof first === 'string' && !isPortLike(first)) return args;

  // listen(), listen(cb), listen(port[, host][, backlog][, cb])
  const opts = { host: LOOPBACK };
  let rest = args;
  if (first === undefined || first === null || isPortLike(first)) {
    opts.port = first === undefined || first === null ? 0 : Number(first);
    rest = args.slice(1);
  } else {
    opts.port = 0; // listen(cb): any free port
  }
  let cb;
  for (const a of rest) {
    if (typeof a === 'function') cb = a;
    else if (typeof a === 'number') opts.backlog = a;
    // a string here is the requested host: deliberately ignored.
  }
  return cb ? [opts, cb] : [opts];
}

net.Server.prototype.listen = function forcedLoopbackListen(...args) {
  const rewritten = rewriteArgs(args);
  const forced = rewritten !== args;
  if (forced && !announced) {
    this.once('listening', () => {
      if (announced) return;
      const addr = this.address();
      if (!addr || typeof addr !== 'object') return;
      announced = true;
      if (addr.address !== LOOPBACK) {
        fs.writeSync(2, `force-loopback: refusing: server bound to ${addr.address}\n`);
        process.exit(70);
      }
      if (process.env.MCPGW_LOOPBACK_QUIET !== '1') {
        fs.writeSync(2, `${READY_PREFIX} port=${addr.port}\n`);
      }
    });
  }
  return originalListen.apply(this, rewritten);
};
