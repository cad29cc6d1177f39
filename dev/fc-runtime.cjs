'use strict';
/**
 * The Node.js runtime side of one simulated FC instance (a child process the FC simulator forks per deployed code
 * package): loads `<codeDir>/<file>.js` once, as FC's runtime does on a cold start, then runs each invocation the
 * simulator sends over IPC. The handler gets the event as a Buffer and the FC context; an async handler's result and
 * a callback-style handler's `callback(error, result)` are both accepted, as FC's nodejs runtimes accept them.
 * Plain CommonJS so the child needs no TypeScript loader, only the code that was deployed.
 *   node fc-runtime.cjs <codeDir> <handler, e.g. index.handler>
 */
const path = require('node:path');

const [codeDir = '.', handlerSpec = 'index.handler'] = process.argv.slice(2);
const dot = handlerSpec.lastIndexOf('.');
const file = dot > 0 ? handlerSpec.slice(0, dot) : handlerSpec;
const exportName = dot > 0 ? handlerSpec.slice(dot + 1) : 'handler';

function describe(error) {
  return {
    errorMessage: error instanceof Error ? error.message : String(error),
    errorType: error instanceof Error ? error.name : 'Error',
    stackTrace: error instanceof Error && error.stack ? error.stack.split('\n').slice(1) : [],
  };
}

let handler;
let loadError;
try {
  const loaded = require(path.join(codeDir, file));
  handler = loaded[exportName];
  if (typeof handler !== 'function') {
    loadError = {
      errorMessage: `${handlerSpec} is undefined or not exported`,
      errorType: 'HandlerNotFound',
      stackTrace: [],
    };
  }
} catch (error) {
  loadError = describe(error);
}

function run(event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error, value) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve(value);
    };
    const returned = handler(event, context, settle);
    if (returned && typeof returned.then === 'function')
      returned.then((value) => settle(null, value), settle);
    else if (handler.length < 3) settle(null, returned);
  });
}

process.on('message', async (message) => {
  if (loadError) {
    process.send({ id: message.id, error: loadError });
    return;
  }
  try {
    const result = await run(Buffer.from(message.event, 'base64'), message.context);
    if (Buffer.isBuffer(result)) process.send({ id: message.id, bytes: result.toString('base64') });
    else if (typeof result === 'string')
      process.send({ id: message.id, bytes: Buffer.from(result).toString('base64') });
    else process.send({ id: message.id, json: result === undefined ? null : result });
  } catch (error) {
    process.send({ id: message.id, error: describe(error) });
  }
});
process.send({ ready: true });
