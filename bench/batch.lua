-- wrk script: POST /v1/decide/batch with the body in WARD_BATCH_FILE (1,000 requests).
local token = os.getenv("WARD_TOKEN") or ""
local file = assert(io.open(os.getenv("WARD_BATCH_FILE"), "rb"))
local body = file:read("*a")
file:close()
wrk.method = "POST"
wrk.path = "/v1/decide/batch"
wrk.body = body
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
