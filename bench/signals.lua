-- wrk script: GET /v1/children/{id}/signals for a rotating set of children, one in four with
-- `Sec-GPC: 1`. Environment: WARD_TOKEN (a decide key), WARD_CHILDREN (how many seeded
-- children, kid-0..).
local token = os.getenv("WARD_TOKEN") or ""
local n_children = tonumber(os.getenv("WARD_CHILDREN") or "1000")
local counter = 0

request = function()
  counter = counter + 1
  local headers = { ["Authorization"] = "Bearer " .. token }
  if counter % 4 == 0 then
    headers["Sec-GPC"] = "1"
  end
  return wrk.format("GET", "/v1/children/kid-" .. (counter % n_children) .. "/signals", headers)
end
