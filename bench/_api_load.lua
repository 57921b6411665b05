-- The requests of bench/api.py, for wrk: one scenario against one server.
--   wrk -t1 -c4 -d10s -s bench/_api_load.lua http://127.0.0.1:PORT -- SCENARIO FLAVOUR ROWS START TOKEN CITIES
-- SCENARIO: list | get | create | transition; FLAVOUR: engine (/api/v1/records/deal) or
-- baseline (/deal); START: the first record id a transition run uses (each id is
-- submitted once); CITIES: the city names, joined by "|". done() prints one JSON line.

local scenario, flavour, rows, start, token, cities
local counter = 0

local function encode(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  scenario, flavour = args[1], args[2]
  rows, start, token = tonumber(args[3]), tonumber(args[4]), args[5]
  cities = {}
  for name in string.gmatch(args[6], "[^|]+") do cities[#cities + 1] = name end
  math.randomseed(start + #scenario)
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
end

local function base()
  if flavour == "engine" then return "/api/v1/records/deal" end
  return "/deal"
end

function request()
  counter = counter + 1
  if scenario == "list" then
    local city = cities[math.random(#cities)]
    if flavour == "engine" then
      return wrk.format("GET", base() .. "?where=" .. encode('{"city":"' .. city .. '"}') .. "&limit=50")
    end
    return wrk.format("GET", base() .. "?city=" .. encode(city) .. "&limit=50")
  elseif scenario == "get" then
    return wrk.format("GET", base() .. "/" .. math.random(rows))
  elseif scenario == "create" then
    local body = string.format(
      '{"title":"Load test deal %d","company":"Bench Co %d","email":"buyer%d@example.com",' ..
      '"city":"%s","amount":"%d.50","probability":%d,"close_date":"2027-0%d-1%d"}',
      counter, counter % 977, counter, cities[math.random(#cities)], counter % 90000, counter % 101,
      1 + counter % 9, counter % 10)
    return wrk.format("POST", base(), nil, body)
  else
    return wrk.format("POST", base() .. "/" .. (start + counter - 1) .. "/transitions/submit", nil, "{}")
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"p50_ms":%.3f,"p99_ms":%.3f,"mean_ms":%.3f,"non_2xx":%d,' ..
    '"socket_errors":%d}\n',
    summary.requests, seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000,
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
