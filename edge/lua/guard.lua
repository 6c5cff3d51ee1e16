-- HMAC-SHA256 through LuaJIT's FFI from the libcrypto nginx is linked
-- with (Debian's and OpenResty's both are): ngx_lua has HMAC-SHA1 only,
-- and Debian ships no lua-resty-string. Each key gets one HMAC_CTX, set up
-- once and reused: OpenSSL 3 looks the digest up again on every one-shot
-- HMAC(). A declaration another library made already is kept.
local ffi = require("ffi")
for _, decl in ipairs({
  "const struct evp_md_st *EVP_sha256(void);",
  "struct hmac_ctx_st *HMAC_CTX_new(void);",
  "int HMAC_Init_ex(struct hmac_ctx_st *ctx, const char *key, int len, const struct evp_md_st *md, void *impl);",
  "int HMAC_Update(struct hmac_ctx_st *ctx, const char *data, size_t len);",
  "int HMAC_Final(struct hmac_ctx_st *ctx, unsigned char *md, unsigned int *len);",
}) do
  pcall(ffi.cdef, decl)
end
local C = ffi.C
local mac, macLen = ffi.new("unsigned char[32]"), ffi.new("unsigned int[1]")
local contexts = {}

local function stampWith(key, id)
  local ctx = contexts[key]
  if not ctx then
    ctx = C.HMAC_CTX_new()
    if ctx == nil or C.HMAC_Init_ex(ctx, key, #key, C.EVP_sha256(), nil) ~= 1 then
      error("cachefence guard: OpenSSL's HMAC_Init_ex failed")
    end
    contexts[key] = ctx
  end
  -- A NULL key and digest start again with the context's own.
  if C.HMAC_Init_ex(ctx, nil, 0, nil, nil) ~= 1 or C.HMAC_Update(ctx, id, #id) ~= 1
    or C.HMAC_Final(ctx, mac, macLen) ~= 1 then
    error("cachefence guard: OpenSSL's HMAC failed")
  end
  return stampText(ffi.string(mac, 32))
end

-- rfc3339 returns the Unix time of an RFC 3339 time, or nil.
local function rfc3339(s)
  local y, mo, d, h, mi, sec, frac, zone =
    (s or ""):match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)(%.?[0-9]*)(.*)$")
  if not y or not (frac == "" or frac:match("^%.%d+$")) then return nil end
  local offset = 0
  if zone ~= "Z" and zone ~= "z" then
    local sign, oh, om = zone:match("^([+-])(%d%d):(%d%d)$")
    if not sign then return nil end
    offset = (sign == "+" and 1 or -1) * (oh * 3600 + om * 60)
  end
  -- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
  -- days_from_civil), as os.time would give only in local time.
  y, mo = tonumber(y), tonumber(mo)
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((mo + 9) % 12) + 2) / 5) + d - 1
  local days = era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
  return days * 86400 + h * 3600 + mi * 60 + sec + (tonumber("0" .. frac) or 0) - offset
end

-- logLater writes to nginx's error log from a timer: in the request's
-- context nginx would end the line with its request line, query and
-- upstream included, where a credential may be.
local function logLater(level, ...)
  local message = table.concat({ "cachefence guard: ", ... })
  ngx.timer.at(0, function() ngx.log(level, message) end)
end

-- keys are read once per worker: nginx passes a worker only the
-- environment variables its main context names with env.
local keys
local function loadKeys()
  local k = { key = os.getenv(KEY), previous = os.getenv(KEY .. "_PREVIOUS") }
  local untilText = os.getenv(KEY .. "_PREVIOUS_UNTIL")
  k.untilTime = rfc3339(untilText)
  if (k.key or "") == "" then
    logLater(ngx.ERR, "no key in ", KEY, " (env ", KEY, "; in nginx's main context): every stamped page is refused")
  end
  if (k.previous or "") ~= "" and not k.untilTime then
    logLater(ngx.ERR, KEY, "_PREVIOUS_UNTIL is not an RFC 3339 time: the previous key is not accepted")
  end
  return k
end

-- owns says whether stamp is the requester's under the key or, until it
-- expires, the previous one. Without a key nothing is: fail closed.
local function owns(id, stamp)
  keys = keys or loadKeys()
  if (keys.key or "") ~= "" and sameStamp(stampWith(keys.key, id), stamp) then return true end
  return (keys.previous or "") ~= "" and keys.untilTime ~= nil and ngx.now() < keys.untilTime
    and sameStamp(stampWith(keys.previous, id), stamp)
end

-- requestIdentity is the identity of the request being answered. nginx
-- holds header names in lower case, which canonicalKey reads as the
-- fence does: with ignore_invalid_headers on (nginx's default) every name
-- is a token. A name nginx drops (with an "_", unless
-- underscores_in_headers is on) reaches neither the fence nor the guard.
-- Every header is read, as the fence reads them (get_headers stops at 100
-- by default); large_client_header_buffers bounds them.
local function requestIdentity()
  local fields = {}
  for name, v in pairs(ngx.req.get_headers(0)) do
    for _, value in ipairs(type(v) == "table" and v or { v }) do fields[#fields + 1] = { name, value } end
  end
  return identity(RULES, fields, ngx.var.request_uri)
end

-- REFUSAL_HEADERS are the refusal's own headers, and those
-- ngx.resp.get_headers reports of the connection.
local REFUSAL_HEADERS = { ["content-type"] = true, ["cache-control"] = true, ["retry-after"] = true, [GUARD] = true,
  connection = true, ["transfer-encoding"] = true }

-- refuse turns the response into a short 503 that no cache stores, with
-- none of the stored page's headers (a Location may hold a token, a
-- Content-Disposition a name): every header is cleared, then the
-- refusal's own are set. The body filter replaces its body. A name with
-- "_" cannot be cleared while lua_transform_underscores_in_response_headers
-- is on (its default): then the request is ended with no answer at all.
local function refuse()
  ngx.status = 503
  for name in pairs(ngx.resp.get_headers(0)) do
    ngx.header[name] = nil
  end
  ngx.header["content-type"] = "text/plain; charset=utf-8"
  ngx.header["cache-control"] = "private, no-store"
  ngx.header["retry-after"] = "1"
  ngx.header[GUARD] = "refused"
  ngx.ctx.cachefence_refused = true
  for name in pairs(ngx.resp.get_headers(0)) do
    if not REFUSAL_HEADERS[name] then
      logLater(ngx.ERR, "a refused page has a header nginx's Lua cannot remove (a name with \"_\"): the request is ended unanswered")
      return ngx.exit(ngx.ERROR)
    end
  end
end

-- stampsOf returns the owner stamps the response is judged by: its own
-- (stamp, if any), and after internal redirects (X-Accel-Redirect,
-- error_page) those of the upstreams that answered before, which the
-- rewrite block kept; "" (no one's) for one it could not keep.
local function stampsOf(stamp, internal)
  if type(stamp) == "table" then stamp = table.concat(stamp, ", ") end
  local stamps = { stamp }
  if not internal then return stamps end
  local kept = {}
  for changes, prior in ngx.var.cachefence_prior_stamps:gmatch("(%d+)=(%S+)") do
    kept[tonumber(changes)] = true
    if prior ~= "-" then stamps[#stamps + 1] = prior end
  end
  local _, changes = (ngx.var.upstream_addr or ""):gsub(" : ", "")
  for i = 0, changes - 1 do
    if not kept[i] then
      stamps[#stamps + 1] = ""
      break
    end
  end
  return stamps
end

-- loggedPath is the path as sent up to its first ";", "%", "(", "?" or
-- control character: past those a path parameter, escaped or not, or an
-- ASP.NET cookieless segment may hold a session id, and nothing decoded
-- can start a line of its own in the log.
local function loggedPath()
  return ngx.var.request_uri:match("^[^;%%(?%c]*")
end

local function logRefusal(_, path)
  ngx.log(ngx.WARN, "cachefence guard: refused a page stamped for someone else: ", path)
end

-- ownsAll says whether every stamp is the requester's, each checked once.
local function ownsAll(stamps)
  local id, checked = requestIdentity(), {}
  for _, stamp in ipairs(stamps) do
    if not checked[stamp] then
      if not owns(id, stamp) then return false end
      checked[stamp] = true
    end
  end
  return true
end

local function headerFilter()
  local stamp, internal = ngx.header[STAMP] or ngx.var[UPSTREAM_STAMP], ngx.req.is_internal()
  if stamp == nil and not internal then return end
  local stamps = stampsOf(stamp, internal)
  if #stamps == 0 or ownsAll(stamps) then return end
  -- Neither the identity nor the stamps are logged; from a timer, as
  -- logLater says.
  ngx.timer.at(0, logRefusal, loggedPath())
  refuse()
end

-- identity and stamp are there for the tests' nginx (edge/testdata/nginxlua),
-- which holds them to the shared stamp vectors.
return { header_filter = headerFilter, identity = requestIdentity, stamp = stampWith }
