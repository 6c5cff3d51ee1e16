// Runs a CloudFront Function (runtime cloudfront-js-2.0) under Node, as
// CloudFront documents its runtime, on the cases in the file named after
// the function's, and prints one JSON line per case: the object the
// handler returned, the HMACs it computed, the key value store reads it
// made and what it logged.
//
// The function is loaded unchanged as an ES module (its two imports are
// the runtime's, CloudFront Functions run in strict mode as modules do),
// with `export { handler }` appended because CloudFront calls the handler
// by name and a module keeps its functions to itself. The module is
// loaded once, as CloudFront may keep a function loaded between runs; each
// case brings its own store and time.
//
// The shims follow the Amazon CloudFront Developer Guide:
//   - cloudfront: cf.kvs() returns a handle whose get(key, { format }) is
//     a promise of the value as a string (the default), a "bytes" buffer or
//     "json"; "The get() method will return an error when the key that you
//     requested doesn't exist" (functions-custom-methods.html).
//   - crypto: createHmac(algorithm, key) for md5, sha1 or sha256, update,
//     and digest([encoding]) in hex, base64 or base64url, "Return type is
//     changed to Buffer if no encoding is provided" in runtime 2.0
//     (functions-javascript-runtime-features.html); anything else throws,
//     so that a guard using more than the runtime documents fails here.
//   - request.rawQueryString(): "the unparsed and unaltered query string",
//     without the "?", "" when the "?" has nothing after it, undefined
//     without a "?" (general-helper-methods.html). It is attached as a
//     method that JSON does not show, as the event's own fields are.
//   - Date.now() is the case's time: "All Date methods to query the
//     current time always return the same value during the lifetime of a
//     single function run".
import fs from "node:fs";
import nodeCrypto from "node:crypto";
import vm from "node:vm";

const code = fs.readFileSync(process.argv[2], "utf8") + "\nexport { handler };\n";
const cases = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));

const ALGORITHMS = ["md5", "sha1", "sha256"];
const ENCODINGS = [undefined, "hex", "base64", "base64url"];

// run is the case being run: its store, time, and what it did.
let run;

const crypto = {
  createHmac(algorithm, key) {
    if (!ALGORITHMS.includes(algorithm)) throw new Error("createHmac: algorithm " + algorithm + " is not in the runtime");
    run.hmacs++;
    const mac = nodeCrypto.createHmac(algorithm, key);
    const hmac = {
      update(data) { mac.update(data); return hmac; },
      digest(encoding) {
        if (!ENCODINGS.includes(encoding)) throw new Error("digest: encoding " + encoding + " is not in the runtime");
        return mac.digest(encoding);
      },
    };
    return hmac;
  },
};

const cloudfront = {
  kvs() {
    return {
      async get(key, options) {
        const format = (options && options.format) || "string";
        run.kvs_reads.push(key + ":" + format);
        if (!Object.hasOwn(run.store, key)) throw new Error("key not found: " + key);
        const value = run.store[key];
        if (format === "bytes") return Buffer.from(value, "utf8");
        if (format === "json") return JSON.parse(value);
        if (format === "string") return value;
        throw new Error("get: format " + format + " is not in the runtime");
      },
    };
  },
};

const context = vm.createContext({ console: { log: (...args) => run.logs.push(args.join(" ")) } });
const shims = { cloudfront, crypto };
const mod = new vm.SourceTextModule(code, { context, identifier: "guard.js" });
await mod.link(async (specifier) => {
  if (!Object.hasOwn(shims, specifier)) throw new Error("import of " + specifier + ": not a module of the runtime");
  const shim = shims[specifier];
  return new vm.SyntheticModule(["default"], function () { this.setExport("default", shim); }, { context });
});
await mod.evaluate();

async function runCase(c) {
  run = { store: c.kvs || {}, hmacs: 0, kvs_reads: [], logs: [] };
  vm.runInContext("Date.now = function () { return " + Number(c.now) + "; };", context);
  const event = c.event;
  if (!c.no_raw_query_string) {
    const raw = c.raw_query === null || c.raw_query === undefined ? undefined : c.raw_query;
    Object.defineProperty(event.request, "rawQueryString", { value: () => raw, enumerable: false });
  }
  const returned = await mod.namespace.handler(event);
  return { name: c.name, response: returned, hmacs: run.hmacs, kvs_reads: run.kvs_reads, logs: run.logs };
}

for (const c of cases) {
  let out;
  try {
    out = await runCase(c);
  } catch (e) {
    out = { name: c.name, error: String(e && e.stack || e) };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}
