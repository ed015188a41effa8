-- wrk script: POST /v1/decide for children drawn from a Zipf distribution (s = 1) over
-- WARD_CHILDREN children (kid-0 the most asked for). Environment: WARD_TOKEN, WARD_CHILDREN.
local token = os.getenv("WARD_TOKEN") or ""
local n_children = tonumber(os.getenv("WARD_CHILDREN") or "1000000")
local cdf = {}

function init(args)
  local total = 0
  for rank = 1, n_children do
    total = total + 1 / rank
    cdf[rank] = total
  end
  for rank = 1, n_children do
    cdf[rank] = cdf[rank] / total
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

local function draw()
  local u, lo, hi = math.random(), 1, n_children
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return lo - 1
end

request = function()
  local body = '{"child":"kid-' .. draw() .. '","purpose":"recommend-videos"}'
  return wrk.format("POST", "/v1/decide", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end
