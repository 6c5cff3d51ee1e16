// The runtime's cloudfront module for njs, as the Amazon CloudFront
// Developer Guide documents it (functions-custom-methods.html): cf.kvs()
// returns a handle whose get(key, { format }) is a promise of the value as
// a string (the default), a "bytes" buffer or "json", and "will return an
// error when the key that you requested doesn't exist". reset sets the
// store of the next case.
var store = {};

function reset(s) { store = s; }

function kvs() {
  return {
    get: async function (key, options) {
      var format = (options && options.format) || "string";
      if (!Object.prototype.hasOwnProperty.call(store, key)) throw new Error("key not found: " + key);
      if (format === "bytes") return Buffer.from(store[key]);
      if (format === "json") return JSON.parse(store[key]);
      if (format === "string") return store[key];
      throw new Error("get: format " + format + " is not in the runtime");
    },
  };
}

export default { kvs: kvs, reset: reset };
