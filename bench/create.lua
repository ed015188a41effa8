-- wrk script: PUT /v1/children/<a new id> (a durable child creation each call, answered 201).
-- Environment: WARD_TOKEN (an admin key), WARD_PREFIX (keeps ids apart between runs and
-- wrk processes). Each wrk thread numbers its own ids.
local token = os.getenv("WARD_TOKEN") or ""
local prefix = os.getenv("WARD_PREFIX") or "w"
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

local counter = 0

request = function()
  counter = counter + 1
  local id = prefix .. "-" .. (thread_id or 0) .. "-" .. counter
  local body = '{"age":{"method":"parent_declared","age":' .. (6 + counter % 12) .. '}}'
  return wrk.format("PUT", "/v1/children/" .. id, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end
