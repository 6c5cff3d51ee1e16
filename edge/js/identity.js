// The requester's identity, exactly as the fence reads it
// (fence.Policy.Identity): the Authorization values, the identifying
// cookies sorted, the credential headers sorted, then the credential URL
// parameters sorted, each as kind NUL value NUL. Held to
// fence/testdata/stamp_vectors.json. Strings hold one byte per character
// (Latin-1), as the fence compares bytes. Plain ES2015, no generators, so
// that CloudFront Functions run it too.

var TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

// canonicalKey is Go's textproto.CanonicalMIMEHeaderKey: a name with a
// byte a token cannot hold is kept as sent.
function canonicalKey(s) {
  if (!TCHAR.test(s)) return s;
  var out = "", upper = true;
  for (var i = 0; i < s.length; i++) {
    var c = s[i];
    out += upper ? c.toUpperCase() : c.toLowerCase();
    upper = c === "-";
  }
  return out;
}

// cgiName reads "_" and "." as the "-" CGI and PHP turned them into.
function cgiName(s) { return canonicalKey(s.replace(/[_.]/g, "-")); }

function isOWS(c) { return c === " " || c === "\t"; }

function trimOWS(s) {
  var i = 0, j = s.length;
  while (i < j && isOWS(s[i])) i++;
  while (j > i && isOWS(s[j - 1])) j--;
  return s.slice(i, j);
}

function asciiLower(s) { return s.replace(/[A-Z]/g, function (c) { return c.toLowerCase(); }); }

function hexByte(s, i) {
  var h = s.slice(i, i + 2);
  return /^[0-9A-Fa-f]{2}$/.test(h) ? parseInt(h, 16) : -1;
}

// percent decodes valid %XX escapes and keeps the others (escape.Percent).
function percent(s) {
  if (s.indexOf("%") < 0) return s;
  var out = "";
  for (var i = 0; i < s.length; i++) {
    var v = s[i] === "%" ? hexByte(s, i + 1) : -1;
    if (v >= 0) { out += String.fromCharCode(v); i += 2; } else out += s[i];
  }
  return out;
}

// cookiePairs returns [name, pair] for every cookie some framework reads
// in the Cookie lines: split on ";" and ",", and Python's space-separated
// pairs inside a value; a pair without "=" has the name "".
function cookiePairs(lines) {
  var out = [];
  lines.forEach(function (line) {
    line.split(/[;,]/).forEach(function (raw) {
      var pair = trimOWS(raw);
      if (pair === "") return;
      var eq = pair.indexOf("=");
      out.push([eq < 0 ? "" : pair.slice(0, eq), pair]);
      if (eq < 0) return;
      var value = pair.slice(eq + 1);
      for (;;) {
        var i = value.search(/[ \t]/);
        if (i < 0) break;
        value = trimOWS(value.slice(i));
        var word = value, j = word.search(/[ \t]/);
        if (j >= 0) word = word.slice(0, j);
        var weq = word.indexOf("=");
        if (weq > 0) out.push([word.slice(0, weq), word]);
      }
    });
  });
  return out;
}

function isPythonSpace(c) {
  var n = c.charCodeAt(0);
  return n === 32 || (n >= 9 && n <= 13) || (n >= 0x1c && n <= 0x1f) || n === 0x85 || n === 0xa0;
}

// nameForms are the names frameworks read for a cookie name sent as raw
// (fence's cookieNameForms): trimmed, Python-stripped, PHP-mangled,
// percent-decoded, and what follows the last non-token character.
function nameForms(raw) {
  var name = trimOWS(raw);
  if (/^[A-Za-z0-9_-]*$/.test(raw)) return [name];
  var py = raw, i = 0, j = py.length;
  while (i < j && isPythonSpace(py[i])) i++;
  while (j > i && isPythonSpace(py[j - 1])) j--;
  py = py.slice(i, j);
  var php = raw.replace(/^[ \t\n\v\f\r]+/, "");
  var b = php.indexOf("[");
  if (b >= 0) php = php.slice(b).indexOf("]") > 0 ? php.slice(0, b) : php.slice(0, b) + "_" + php.slice(b + 1);
  php = php.replace(/[ .[]/g, "_");
  var decoded = trimOWS(percent(name.replace(/\+/g, " ")));
  var tail = name;
  for (var k = name.length - 1; k >= 0; k--) {
    if (!TCHAR.test(name[k])) { tail = name.slice(k + 1); break; }
  }
  return [name, py, php, decoded, tail];
}

// glob compiles a pattern of Go's path.Match to a RegExp.
function glob(pattern) {
  var re = "^";
  for (var i = 0; i < pattern.length; i++) {
    var c = pattern[i];
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "\\") { i++; re += literal(pattern[i]); }
    else if (c === "[") {
      re += "[";
      i++;
      if (pattern[i] === "^") { re += "^"; i++; }
      for (; pattern[i] !== "]"; i++) {
        var esc = pattern[i] === "\\";
        if (esc) i++;
        re += !esc && pattern[i] === "-" ? "-" : literal(pattern[i]);
      }
      re += "]";
    } else re += literal(c);
  }
  return new RegExp(re + "$");
}

// literal escapes a character for a RegExp, in a class or out of one.
function literal(c) { return c.replace(/[.*+?^${}()|[\]\\\/-]/g, "\\$&"); }

// paramName is the name as frameworks read a parameter name sent as raw
// (fence's paramName): decoded, "+" as a space, PHP's mangling, lower
// case; null when longer than 64 bytes.
function paramName(raw) {
  var name = "";
  for (var i = 0; i < raw.length; i++) {
    var c = raw[i];
    if (c === "%") {
      var v = hexByte(raw, i + 1);
      if (v >= 0) { c = String.fromCharCode(v); i += 2; }
    } else if (c === "+") c = " ";
    if (c === "\0") return name;
    if (c === " " && name === "") continue;
    if (c === " " || c === ".") c = "_";
    else if (c === "[") {
      if (raw.slice(i).indexOf("]") > 0) return name;
      c = "_";
    } else c = asciiLower(c);
    if (name.length === 64) return null;
    name += c;
  }
  return name;
}

// urlParams returns [name, text] for each path parameter of the path as
// sent and decoded, then each query parameter (split on "&" and ";").
function urlParams(rawPath, decodedPath, rawQuery) {
  var out = [];
  [rawPath, decodedPath].forEach(function (p) {
    var segs = p.split(";");
    for (var i = 1; i < segs.length; i++) {
      var param = segs[i].split("/")[0];
      out.push([param.split("=")[0], param]);
    }
  });
  if (rawQuery !== "") {
    rawQuery.split(/[&;]/).forEach(function (param) { out.push([param.split("=")[0], param]); });
  }
  return out;
}

// identityRules returns the fence's rules for the identity from its
// configuration (cachefence edge writes the credential lists out, the
// fence's defaults included), normalised as fence.New does.
function identityRules(cfg) {
  var headers = {}, params = {};
  cfg.credential_headers.forEach(function (h) {
    var c = cgiName(h);
    if (c !== "Authorization") headers[c] = true;
  });
  cfg.credential_params.forEach(function (p) { params[paramName(p)] = true; });
  return {
    session: (cfg.session_cookies || []).map(function (g) { return glob(asciiLower(g)); }),
    ignore: (cfg.ignore_cookies || []).map(glob),
    headers: headers,
    params: params,
  };
}

function identifies(rules, rawName) {
  var forms = nameForms(rawName);
  if (forms[0] === "") return true;
  if (rules.session.length > 0) {
    return forms.some(function (f) {
      return rules.session.some(function (g) { return g.test(asciiLower(f)); });
    });
  }
  return forms.some(function (f) {
    return f === "" || !rules.ignore.some(function (g) { return g.test(f); });
  });
}

function isCredentialHeader(rules, key) {
  return rules.headers[/[_.]/.test(key) ? cgiName(key) : key] === true;
}

// identity returns the identity of a request given its header fields as
// [name, value] pairs in order and its target (path and query as sent).
function identity(rules, fields, target) {
  var q = target.indexOf("?");
  var rawPath = q < 0 ? target : target.slice(0, q);
  var rawQuery = q < 0 ? "" : target.slice(q + 1);
  var auth = [], cookieLines = [], cookies = [], headers = [], params = [];
  fields.forEach(function (f) {
    var key = canonicalKey(f[0]);
    if (key === "Authorization") auth.push(f[1]);
    else if (key === "Cookie") cookieLines.push(f[1]);
    if (isCredentialHeader(rules, key)) headers.push(key + ": " + f[1]);
  });
  cookiePairs(cookieLines).forEach(function (c) {
    if (identifies(rules, c[0])) cookies.push(c[1]);
  });
  urlParams(rawPath, percent(rawPath), rawQuery).forEach(function (p) {
    var n = paramName(p[0]);
    if (n !== null && n !== "" && rules.params[n] === true) params.push(p[1]);
  });
  var out = "";
  function field(kind, v) { out += kind + "\0" + v + "\0"; }
  auth.forEach(function (v) { field("authorization", v); });
  [["cookie", cookies], ["header", headers], ["param", params]].forEach(function (list) {
    list[1].sort().forEach(function (v) { field(list[0], v); });
  });
  return out;
}

// stampText writes the first 16 bytes of an HMAC-SHA256 as a stamp: "v1."
// and unpadded base64url.
function stampText(mac) {
  var bytes = mac.slice(0, 16);
  var abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", out = "";
  for (var i = 0; i < bytes.length; i += 3) {
    var n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
    var chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (var k = 0; k < chars; k++) out += abc[(n >> (18 - 6 * k)) & 63];
  }
  return "v1." + out;
}

// latin1 is the bytes of a string of one byte per character.
function latin1(s) {
  var b = new Uint8Array(s.length);
  for (var i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

// sameStamp compares two stamps in time independent of where they differ.
function sameStamp(a, b) {
  if (typeof a !== "string" || typeof b !== "string" || a.length !== b.length) return false;
  var d = 0;
  for (var i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}

// loggedPath is the part of a path a guard may log: up to its first ";",
// "%", "(" or control character, past which a path parameter (escaped
// once or twice) or an ASP.NET cookieless segment may hold a session id,
// or a line of its own could start. Cruder than the fence's RedactPath,
// and never more revealing.
function loggedPath(p) {
  return String(p).split(/[;%(\x00-\x1f\x7f]/)[0];
}
