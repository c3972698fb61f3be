// Promise.withResolvers arrived in Node 22. aws-local-stepfunctions 3.x uses
// it (its package.json asks for node >= 22) and so does server.mjs; the
// machines here run Node 20. Loaded first by server.mjs; usable on its own
// with `node --require ./polyfill.cjs` for other tools built on the library.
'use strict';

if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers() {
      let resolve;
      let reject;
      const promise = new this((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}
