-- The requester's identity, exactly as the fence reads it
-- (fence.Policy.Identity): the Authorization values, the identifying
-- cookies sorted, the credential headers sorted, then the credential URL
-- parameters sorted, each as kind NUL value NUL. Held to
-- fence/testdata/stamp_vectors.json. A port of edge/js/identity.js to
-- LuaJIT (Lua 5.1): strings are bytes, as the fence compares bytes, and
-- every pattern names its bytes, so that no locale changes a match.

-- TOKEN is a pattern of one byte a header name (an RFC 9110 token) may
-- have.
local TOKEN = "[!#$%%&'*+%-.^_`|~0-9A-Za-z]"
local NAME = "^" .. TOKEN .. "+$"

local function asciiLower(s) return (s:gsub("[A-Z]", string.lower)) end

-- canonicalKey is Go's textproto.CanonicalMIMEHeaderKey: a name with a
-- byte a token cannot hold is kept as sent.
local function canonicalKey(s)
  if not s:find(NAME) then return s end
  return (asciiLower(s):gsub("^[a-z]", string.upper):gsub("%-[a-z]", string.upper))
end

-- cgiName reads "_" and "." as the "-" CGI and PHP turned them into.
local function cgiName(s) return canonicalKey((s:gsub("[_.]", "-"))) end

local function trimOWS(s) return (s:match("^[ \t]*(.-)[ \t]*$")) end

-- split returns the pieces of s between the bytes of the class sep,
-- empty ones included, as JavaScript's split does.
local function split(s, sep)
  local out, start = {}, 1
  while true do
    local i = s:find(sep, start)
    if not i then
      out[#out + 1] = s:sub(start)
      return out
    end
    out[#out + 1] = s:sub(start, i - 1)
    start = i + 1
  end
end

local function hexByte(s, i)
  local h = s:sub(i, i + 1)
  return h:match("^[0-9A-Fa-f][0-9A-Fa-f]$") and tonumber(h, 16) or -1
end

-- percent decodes valid %XX escapes and keeps the others (escape.Percent).
local function percent(s)
  return (s:gsub("%%([0-9A-Fa-f][0-9A-Fa-f])", function(h) return string.char(tonumber(h, 16)) end))
end

-- cookiePairs returns {name, pair} for every cookie some framework reads
-- in the Cookie lines: split on ";" and ",", and Python's space-separated
-- pairs inside a value; a pair without "=" has the name "".
local function cookiePairs(lines)
  local out = {}
  for _, line in ipairs(lines) do
    for _, raw in ipairs(split(line, "[;,]")) do
      local pair = trimOWS(raw)
      if pair ~= "" then
        local eq = pair:find("=", 1, true)
        out[#out + 1] = { eq and pair:sub(1, eq - 1) or "", pair }
        local value = eq and pair:sub(eq + 1)
        while value do
          local i = value:find("[ \t]")
          if not i then break end
          value = trimOWS(value:sub(i))
          local word = value
          local j = word:find("[ \t]")
          if j then word = word:sub(1, j - 1) end
          local weq = word:find("=", 1, true)
          if weq and weq > 1 then out[#out + 1] = { word:sub(1, weq - 1), word } end
        end
      end
    end
  end
  return out
end

local function isPythonSpace(c)
  local n = c:byte()
  return n == 32 or (n >= 9 and n <= 13) or (n >= 0x1c and n <= 0x1f) or n == 0x85 or n == 0xa0
end

-- nameForms are the names frameworks read for a cookie name sent as raw
-- (fence's cookieNameForms): trimmed, Python-stripped, PHP-mangled,
-- percent-decoded, and what follows the last non-token character.
local function nameForms(raw)
  local name = trimOWS(raw)
  if raw:match("^[A-Za-z0-9_-]*$") then return { name } end
  local i, j = 1, #raw
  while i <= j and isPythonSpace(raw:sub(i, i)) do i = i + 1 end
  while j >= i and isPythonSpace(raw:sub(j, j)) do j = j - 1 end
  local py = raw:sub(i, j)
  local php = raw:gsub("^[ \t\n\v\f\r]+", "")
  local b = php:find("[", 1, true)
  if b then
    php = php:find("]", b, true) and php:sub(1, b - 1) or php:sub(1, b - 1) .. "_" .. php:sub(b + 1)
  end
  php = php:gsub("[ .%[]", "_")
  local decoded = trimOWS(percent((name:gsub("%+", " "))))
  local tail = name:match(TOKEN .. "*$")
  return { name, py, php, decoded, tail }
end

-- literal escapes a byte for a Lua pattern, in a set or out of one.
local function literal(c)
  return c:match("^[A-Za-z0-9]$") and c or "%" .. c
end

-- glob compiles a pattern of Go's path.Match to a Lua pattern. A range
-- of a class is written out byte by byte: Lua takes a range only between
-- unescaped bytes.
local function glob(pattern)
  local re, i = { "^" }, 1
  local function at(k) return pattern:sub(k, k) end
  while i <= #pattern do
    local c = at(i)
    if c == "*" then re[#re + 1] = "[^/]*"
    elseif c == "?" then re[#re + 1] = "[^/]"
    elseif c == "\\" then
      i = i + 1
      re[#re + 1] = literal(at(i))
    elseif c == "[" then
      re[#re + 1] = "["
      i = i + 1
      if at(i) == "^" then
        re[#re + 1] = "^"
        i = i + 1
      end
      while at(i) ~= "]" do
        if at(i) == "\\" then i = i + 1 end
        local lo, hi = at(i), at(i)
        if at(i + 1) == "-" then
          i = i + 2
          if at(i) == "\\" then i = i + 1 end
          hi = at(i)
        end
        for n = lo:byte(), hi:byte() do re[#re + 1] = literal(string.char(n)) end
        i = i + 1
      end
      re[#re + 1] = "]"
    else re[#re + 1] = literal(c)
    end
    i = i + 1
  end
  return table.concat(re) .. "$"
end

-- paramName is the name as frameworks read a parameter name sent as raw
-- (fence's paramName): decoded, "+" as a space, PHP's mangling, lower
-- case; nil when longer than 64 bytes.
local function paramName(raw)
  local name, i = "", 1
  while i <= #raw do
    local c = raw:sub(i, i)
    local skip = false
    if c == "%" then
      local v = hexByte(raw, i + 1)
      if v >= 0 then
        c = string.char(v)
        i = i + 2
      end
    elseif c == "+" then c = " "
    end
    if c == "\0" then return name end
    if c == " " and name == "" then skip = true
    elseif c == " " or c == "." then c = "_"
    elseif c == "[" then
      if raw:find("]", i + 1, true) then return name end
      c = "_"
    else c = asciiLower(c)
    end
    if not skip then
      if #name == 64 then return nil end
      name = name .. c
    end
    i = i + 1
  end
  return name
end

-- urlParams returns {name, text} for each path parameter of the path as
-- sent and decoded, then each query parameter (split on "&" and ";").
local function urlParams(rawPath, decodedPath, rawQuery)
  local out = {}
  for _, p in ipairs({ rawPath, decodedPath }) do
    local segs = split(p, ";")
    for i = 2, #segs do
      local param = split(segs[i], "/")[1]
      out[#out + 1] = { split(param, "=")[1], param }
    end
  end
  if rawQuery ~= "" then
    for _, param in ipairs(split(rawQuery, "[&;]")) do
      out[#out + 1] = { split(param, "=")[1], param }
    end
  end
  return out
end

local function map(list, f)
  local out = {}
  for i, v in ipairs(list) do out[i] = f(v) end
  return out
end

-- identityRules returns the fence's rules for the identity from its
-- configuration (cachefence edge writes the credential lists out, the
-- fence's defaults included), normalised as fence.New does.
local function identityRules(cfg)
  local headers, params = {}, {}
  for _, h in ipairs(cfg.credential_headers) do
    local c = cgiName(h)
    if c ~= "Authorization" then headers[c] = true end
  end
  for _, p in ipairs(cfg.credential_params) do
    local n = paramName(p)
    if n then params[n] = true end
  end
  return {
    session = map(cfg.session_cookies or {}, function(g) return glob(asciiLower(g)) end),
    ignore = map(cfg.ignore_cookies or {}, glob),
    headers = headers,
    params = params,
  }
end

-- any says whether f is true of some element of list.
local function any(list, f)
  for _, v in ipairs(list) do
    if f(v) then return true end
  end
  return false
end

local function identifies(rules, rawName)
  local forms = nameForms(rawName)
  if forms[1] == "" then return true end
  if #rules.session > 0 then
    return any(forms, function(f)
      return any(rules.session, function(g) return asciiLower(f):find(g) ~= nil end)
    end)
  end
  return any(forms, function(f)
    return f == "" or not any(rules.ignore, function(g) return f:find(g) ~= nil end)
  end)
end

local function isCredentialHeader(rules, key)
  return rules.headers[key:find("[_.]") and cgiName(key) or key] == true
end

-- identity returns the identity of a request given its header fields as
-- {name, value} pairs in order and its target (path and query as sent).
local function identity(rules, fields, target)
  local q = target:find("?", 1, true)
  local rawPath = q and target:sub(1, q - 1) or target
  local rawQuery = q and target:sub(q + 1) or ""
  local auth, cookieLines, cookies, headers, params = {}, {}, {}, {}, {}
  for _, f in ipairs(fields) do
    local key = canonicalKey(f[1])
    if key == "Authorization" then auth[#auth + 1] = f[2]
    elseif key == "Cookie" then cookieLines[#cookieLines + 1] = f[2]
    end
    if isCredentialHeader(rules, key) then headers[#headers + 1] = key .. ": " .. f[2] end
  end
  for _, c in ipairs(cookiePairs(cookieLines)) do
    if identifies(rules, c[1]) then cookies[#cookies + 1] = c[2] end
  end
  for _, p in ipairs(urlParams(rawPath, percent(rawPath), rawQuery)) do
    local n = paramName(p[1])
    if n and n ~= "" and rules.params[n] then params[#params + 1] = p[2] end
  end
  local out = {}
  local function field(kind, v) out[#out + 1] = kind .. "\0" .. v .. "\0" end
  for _, v in ipairs(auth) do field("authorization", v) end
  for _, list in ipairs({ { "cookie", cookies }, { "header", headers }, { "param", params } }) do
    -- LuaJIT compares strings byte by byte, as Go sorts them.
    table.sort(list[2])
    for _, v in ipairs(list[2]) do field(list[1], v) end
  end
  return table.concat(out)
end

-- stampText writes the first 16 bytes of an HMAC-SHA256 as a stamp: "v1."
-- and unpadded base64url.
local function stampText(mac)
  return "v1." .. ngx.encode_base64(mac:sub(1, 16), true):gsub("[+/]", { ["+"] = "-", ["/"] = "_" })
end

-- sameStamp compares two stamps in time independent of where they differ.
local function sameStamp(a, b)
  if type(a) ~= "string" or type(b) ~= "string" or #a ~= #b then return false end
  local d = 0
  for i = 1, #a do d = bit.bor(d, bit.bxor(a:byte(i), b:byte(i))) end
  return d == 0
end
