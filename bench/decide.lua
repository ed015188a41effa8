-- wrk script: POST /v1/decide for a rotating set of children and purposes.
-- Environment: WARD_TOKEN (a decide key), WARD_CHILDREN (how many seeded children, kid-0..).
local token = os.getenv("WARD_TOKEN") or ""
local n_children = tonumber(os.getenv("WARD_CHILDREN") or "1000")
local purposes = {"recommend-videos", "remember-subtitles", "estimate-age"}
local counter = 0

request = function()
  counter = counter + 1
  local child = "kid-" .. (counter % n_children)
  local purpose = purposes[(counter % #purposes) + 1]
  local body = '{"child":"' .. child .. '","purpose":"' .. purpose .. '","data":[],"context":{"gpc":false}}'
  return wrk.format("POST", "/v1/decide", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end
