// Runs a CloudFront Function under njs, the nginx JavaScript engine (the
// CloudFront Functions runtime documents njs's error types, InternalError
// and MemoryError, and the same ES 5.1 base), on the cases in the file
// named by the first argument, and prints one JSON line per case: the
// object the handler returned and what it logged. The function is the
// module "guard" with `export default { handler };` appended; crypto is
// njs's own, cloudfront the shim beside this file. Each case brings its
// own store, time and rawQueryString().
import guard from 'guard';
import cf from 'cloudfront';
import fs from 'fs';

var cases = JSON.parse(fs.readFileSync(process.argv[2]).toString());

async function main() {
  var print = console.log;
  for (var i = 0; i < cases.length; i++) {
    var c = cases[i], logs = [], out;
    cf.reset(c.kvs || {});
    var now = c.now;
    Date.now = function () { return now; };
    if (!c.no_raw_query_string) {
      var raw = c.raw_query === null ? undefined : c.raw_query;
      Object.defineProperty(c.event.request, "rawQueryString", { value: function () { return raw; }, enumerable: false });
    }
    console.log = function (s) { logs.push(String(s)); };
    try {
      out = { name: c.name, response: await guard.handler(c.event), logs: logs };
    } catch (e) {
      out = { name: c.name, error: String(e) };
    }
    console.log = print;
    print(JSON.stringify(out));
  }
}

main();
