-- wrk script: POST /v1/feed/filter with the body in WARD_FEED_FILE.
local token = os.getenv("WARD_TOKEN") or ""
local file = assert(io.open(os.getenv("WARD_FEED_FILE"), "rb"))
local body = file:read("*a")
file:close()
wrk.method = "POST"
wrk.path = "/v1/feed/filter"
wrk.body = body
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
