// Runs edge/js/identity.js under Node on the stamp vectors that the Go
// test writes to stdin, with the HMAC CloudFront Functions also offer
// (crypto.createHmac), and prints what it computed for each, one JSON
// line per vector.
const fs = require("fs");
const crypto = require("crypto");
const vm = require("vm");
const ctx = {};
vm.createContext(ctx);
vm.runInContext(fs.readFileSync(process.argv[2], "latin1"), ctx);
const input = JSON.parse(fs.readFileSync(0, "latin1"));
for (const v of input.vectors) {
  const rules = ctx.identityRules(input.configs[v.config]);
  const id = ctx.identity(rules, v.headers, v.url);
  const mac = crypto.createHmac("sha256", Buffer.from(input.key, "latin1")).update(Buffer.from(id, "latin1")).digest();
  const stamp = ctx.stampText(mac);
  console.log(JSON.stringify({ name: v.name, identity: id, stamp: stamp, same: ctx.sameStamp(stamp, v.stamp) }));
}
