--[[
  burstd.lua - burstd's darktable plugin: each burst one group under its pick, and a refresh from
  burstd's sidecars for images darktable imported before burstd rated them.

  Part of burstd, MIT licence. Installed by `burstd install-darktable-plugin`, which copies it to
  <darktable config>/lua/burstd/burstd.lua and adds `require "burstd/burstd"` to luarc.
]]
--[[
  burstd: bursts grouped under their pick, and burstd's ratings refreshed

  burstd (a photo-burst ranking tool) rates the frames of every burst in XMP sidecars and keywords
  them burstd|burst|<day> <burst id>, the sharpest also burstd|pick.

  GROUPING AT IMPORT
  Every frame of a burst becomes one darktable group led by its pick, so that with grouping on
  (the grouping button beside the image count) a collapsed burst shows only its pick. Other burstd sets
  (burstd|<kind>|...) are led by their first frame. A RAW+JPEG pair stays in its burst's group;
  images of other groups are never dragged along.

  REFRESH
  lighttable > burstd > "refresh selected" (the selected images, or the whole collection when
  none is selected) and "refresh film roll" (every image of their film rolls), also as shortcuts
  (preferences > shortcuts > lua). Re-reads burstd's sidecars and applies burstd's rating, reject,
  colour label and keywords, then regroups: what burstd rated after darktable imported the images
  shows without a re-import, and darkroom history is never touched. A rating set in darktable
  after burstd's is kept.

  USAGE
  burstd install-darktable-plugin, or copy this file to <darktable config>/lua/burstd/ and start
  it in script_manager. Needs darktable 4.2 (Lua API 9.0.0) or later.
]]

local dt = require "darktable"

local MODULE = "burstd"
local MIN_API_MAJOR = 9 -- darktable 4.2: register_event(name, event, ...), group_with, img.sidecar

local script_data = {
  destroy = function() end,
  done = {grouped = 0, refreshed = 0}, -- how many import groupings and refreshes have finished
}

if (tonumber(dt.configuration.api_version_major) or 0) < MIN_API_MAJOR then
  local message = "burstd: this plugin needs darktable 4.2 or later (Lua API 9.0.0); this darktable's Lua API is "
    .. tostring(dt.configuration.api_version_string) .. ", so burstd's plugin is not started"
  dt.print_error(message)
  dt.print(message)
  return script_data
end

-- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
-- Reading a sidecar: no Lua API reads custom XMP fields, so the packet is parsed here. Attribute
-- and element forms, any prefix bound to a namespace, comments, CDATA and character references.
-- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -

local NS = {
  xmp = "http://ns.adobe.com/xap/1.0/",
  burstd = "http://ns.burstd.org/xmp/1.0/",
  lr = "http://ns.adobe.com/lightroom/1.0/",
  darktable = "http://darktable.sf.net/",
  rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
  meta = "adobe:ns:meta/",
  xml = "http://www.w3.org/XML/1998/namespace",
}
local RATING = NS.xmp .. "Rating"
local LABEL = NS.xmp .. "Label"
local BURSTD_RATING = NS.burstd .. "Rating"
local BURST_ID = NS.burstd .. "BurstId"
local RANK = NS.burstd .. "Rank"
local BURST_SIZE = NS.burstd .. "BurstSize"
local BURSTD_LABELS = NS.burstd .. "ColorLabels"
local KEYWORDS = NS.lr .. "hierarchicalSubject"
local COLOR_LABELS = NS.darktable .. "colorlabels"
local CONTAINERS = {[NS.rdf .. "Bag"] = true, [NS.rdf .. "Seq"] = true, [NS.rdf .. "Alt"] = true}
local ENTITIES = {amp = "&", lt = "<", gt = ">", quot = '"', apos = "'"}
local MAX_SIDECAR_BYTES = 32 * 1024 * 1024

local function unescape(text)
  return (text:gsub("&(#?)([^;&%s]+);", function(hash, name)
    if hash == "" then
      return ENTITIES[name] or error("has an unknown entity &" .. name .. ";", 0)
    end
    local code = name:match("^[xX](%x+)$") and tonumber(name:sub(2), 16) or name:match("^%d+$") and tonumber(name)
    if not code or code > 0x10FFFF then
      error("has a broken character reference &#" .. name .. ";", 0)
    end
    return utf8.char(code)
  end))
end

-- Every simple property of every rdf:Description (full name -> text, the first wins) and every
-- array property (full name -> its rdf:li texts). Raises a one-line reason for a broken packet.
local function parse_packet(doc)
  doc = doc:gsub("^\239\187\191", ""):gsub("\r\n?", "\n")
  local props, arrays = {}, {}
  local stack = {}
  local seen_rdf = false

  local function resolve(qname, scope, attribute)
    local prefix, name = qname:match("^([^:]+):(.+)$")
    if not prefix then
      return attribute and qname or (scope[""] or "") .. qname
    end
    local uri = scope[prefix] or error("uses the prefix " .. prefix .. ": without declaring it", 0)
    return uri .. name
  end

  local function open(qname, attrs)
    local parent = stack[#stack]
    local scope = setmetatable({}, {__index = parent and parent.scope or {xml = NS.xml}})
    for _, a in ipairs(attrs) do
      if a.name == "xmlns" then
        scope[""] = a.value
      elseif a.name:sub(1, 6) == "xmlns:" then
        scope[a.name:sub(7)] = a.value
      end
    end
    local name = resolve(qname, scope)
    local above = parent and parent.role or "top"
    local node = {qname = qname, scope = scope, role = "other"}
    if above == "top" and (name == NS.meta .. "xmpmeta" or name == NS.meta .. "xapmeta") then
      node.role = "meta"
    elseif (above == "top" or above == "meta") and name == NS.rdf .. "RDF" then
      node.role, seen_rdf = "rdf", true
    elseif above == "rdf" and name == NS.rdf .. "Description" then
      node.role = "description"
      for _, a in ipairs(attrs) do
        if a.name:find(":", 1, true) and a.name:sub(1, 6) ~= "xmlns:" then
          local key = resolve(a.name, scope, true)
          if props[key] == nil then props[key] = a.value end
        end
      end
    elseif above == "description" then
      node.role, node.key, node.text = "property", name, {}
      for _, a in ipairs(attrs) do -- rdf:resource, rdf:parseType, qualifiers: not a plain text value
        if a.name ~= "xml:lang" and a.name ~= "rdf:datatype" and a.name:sub(1, 5) ~= "xmlns" then
          node.complex = true
        end
      end
    elseif above == "property" and CONTAINERS[name] and not parent.container then
      node.role, node.key = "container", parent.key
      parent.container = true
      arrays[parent.key] = arrays[parent.key] or {}
    elseif above == "container" and name == NS.rdf .. "li" then
      node.role, node.key, node.text = "item", parent.key, {}
    end
    if above == "property" and node.role ~= "container" then parent.complex = true end
    if above == "item" then parent.complex = true end
    stack[#stack + 1] = node
  end

  local function close()
    local node = table.remove(stack)
    if node.role == "property" and not node.container and not node.complex then
      if props[node.key] == nil then props[node.key] = table.concat(node.text) end
    elseif node.role == "item" and not node.complex then
      table.insert(arrays[node.key], table.concat(node.text))
    end
  end

  local function text(chars)
    local node = stack[#stack]
    if node and node.text then node.text[#node.text + 1] = chars end
  end

  local pos, size = 1, #doc
  while pos <= size do
    local lt = doc:find("<", pos, true)
    if not lt then
      text(unescape(doc:sub(pos)))
      break
    end
    if lt > pos then text(unescape(doc:sub(pos, lt - 1))) end
    if doc:sub(lt, lt + 3) == "<!--" then
      pos = (doc:find("-->", lt + 4, true) or error("is truncated (in a comment)", 0)) + 3
    elseif doc:sub(lt, lt + 8) == "<![CDATA[" then
      local stop = doc:find("]]>", lt + 9, true) or error("is truncated (in a CDATA section)", 0)
      text(doc:sub(lt + 9, stop - 1))
      pos = stop + 3
    elseif doc:sub(lt, lt + 1) == "<?" then
      pos = (doc:find("?>", lt + 2, true) or error("is truncated (in <?...?>)", 0)) + 2
    elseif doc:sub(lt, lt + 1) == "<!" then
      error("is not XMP (it has a DOCTYPE)", 0)
    elseif doc:sub(lt, lt + 1) == "</" then
      local qname, after = doc:match("^</([^%s>]+)%s*>()", lt)
      local node = stack[#stack]
      if not qname or not node or node.qname ~= qname then
        error("is not well-formed XML (an unexpected </" .. tostring(qname) .. ">)", 0)
      end
      close()
      pos = after
    else
      local qname, p = doc:match("^<([^%s/>]+)()", lt)
      if not qname then error("is not well-formed XML (a stray <)", 0) end
      if not doc:find(">", p, true) then error("is truncated (in <" .. qname .. ">)", 0) end
      local attrs = {}
      while true do
        p = doc:match("^%s*()", p)
        if doc:sub(p, p) == ">" then
          open(qname, attrs)
          pos = p + 1
          break
        elseif doc:sub(p, p + 1) == "/>" then
          open(qname, attrs)
          close()
          pos = p + 2
          break
        end
        local name, quote, from = doc:match("^([^%s=/>]+)%s*=%s*([\"'])()", p)
        if not name then error("is not well-formed XML (a broken <" .. qname .. "> tag)", 0) end
        local to = doc:find(quote, from, true) or error("is truncated (in an attribute)", 0)
        attrs[#attrs + 1] = {name = name, value = unescape((doc:sub(from, to - 1):gsub("[\t\n]", " ")))}
        p = to + 1
      end
    end
  end
  if #stack > 0 then error("is truncated (<" .. stack[#stack].qname .. "> is never closed)", 0) end
  if not seen_rdf then error("is not XMP (no rdf:RDF element)", 0) end
  return props, arrays
end

local function integer(text)
  return text and math.tointeger(tonumber((text:gsub("^%s+", ""):gsub("%s+$", "")))) or nil
end

local NO_SIDECAR = "no sidecar"

-- What burstd's sidecar at `path` says; nil and a reason when there is none or it is unusable.
local function read_sidecar(path)
  local f, err, code = io.open(path, "rb")
  if not f then
    return nil, code == 2 and NO_SIDECAR or tostring(err)
  end
  local data = f:read(MAX_SIDECAR_BYTES + 1) or ""
  f:close()
  if #data > MAX_SIDECAR_BYTES then return nil, "is far too large for a sidecar" end
  if not data:find("%S") then return nil, "is empty" end
  local ok, props, arrays = pcall(parse_packet, data)
  if not ok then return nil, props end
  local labels = {}
  for number in (props[BURSTD_LABELS] or ""):gmatch("[^;]+") do labels[#labels + 1] = number end
  return {
    rating = integer(props[RATING]),
    burstd_rating = integer(props[BURSTD_RATING]),
    burst_id = props[BURST_ID],
    rank = integer(props[RANK]),
    burst_size = integer(props[BURST_SIZE]),
    label = props[LABEL],
    keywords = arrays[KEYWORDS] or {},
    colorlabels = arrays[COLOR_LABELS] or {},
    burstd_labels = labels,
  }
end

-- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
-- darktable's own settings that decide whose a rating is
-- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -

-- darktablerc holds only the settings changed from darktable's defaults.
local function darktablerc(key, default)
  local f = io.open(dt.configuration.config_dir .. "/darktablerc", "r")
  if not f then return default end
  local value = default
  for line in f:lines() do
    local k, v = line:match("^([^=]+)=(.*)$")
    if k == key then value = v end
  end
  f:close()
  return value
end

-- "on import" (the default): darktable writes a sidecar at import and again whenever the image
-- changes, so a rating set in darktable is in the sidecar's xmp:Rating as well.
local SIDECARS_FOLLOW_CHANGES = darktablerc("write_sidecar_files", "on import") == "on import"
local IMPORT_RATING = tonumber(darktablerc("ui_last/import_initial_rating", "1")) or 1

-- The plugin's record of a rating no one chose: darktable's import default, or a rating burstd
-- wrote, while darktable still holds it. An internal tag (darktable|...: hidden in darktable and
-- never written to sidecars) with that rating: darktable|burstd|rating|<n>. It is needed because
-- darktable rewrites a sidecar from its library whenever the image changes in darktable (grouped,
-- tagged, edited), putting its own rating over the one burstd wrote: such a sidecar says the same
-- as one whose rating the photographer set in darktable.
local RECORD = "darktable|burstd|rating|"

local function recorded(img)
  for _, tag in ipairs(dt.tags.get_tags(img)) do
    local rating = tag.name:match("^darktable|burstd|rating|(%-?%d)$")
    if rating then return tonumber(rating), tag end
  end
  return nil
end

local function record(img, rating)
  local old, tag = recorded(img)
  if old == rating then return end
  if tag then dt.tags.detach(tag, img) end
  if rating then dt.tags.attach(dt.tags.create(RECORD .. rating), img) end
end

-- At import: darktable's rating came from its default (burstd had not rated the image yet) or
-- from burstd's sidecar.
local function record_at_import(img)
  local sidecar, reason = read_sidecar(img.sidecar)
  if not sidecar and reason ~= NO_SIDECAR then return end
  local current = img.rating
  local ours = sidecar and sidecar.burstd_rating
  if ours == nil and current == IMPORT_RATING or ours == current and sidecar.rating == current then
    record(img, current)
  end
end

-- What to do with an image's rating, given darktable's `current` one, what the plugin recorded,
-- and the sidecar as read: "apply" burstd's, "same", "kept" (the photographer's) or nil (burstd has
-- not rated it). `rewritten`: darktable wrote its own values over burstd's in the sidecar.
local function rating_decision(current, marked, sidecar)
  local ours = sidecar.burstd_rating
  if ours == nil then return nil, false end
  if current == ours then return "same", false end
  if marked == current and (sidecar.rating == ours or sidecar.rating == current) then
    return "apply", sidecar.rating ~= ours -- darktable still holds a rating no one chose
  end
  if marked == nil and sidecar.rating == ours and SIDECARS_FOLLOW_CHANGES then
    return "apply", false -- no record: a rating set in darktable would be in the sidecar
  end
  return "kept", false
end

-- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
-- Keywords, labels and groups
-- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -

local TAG_ROOT = "burstd|"
local PICK = "burstd|pick"
local COLOURS = {[0] = "red", "yellow", "green", "blue", "purple"} -- darktable's label numbers

local function is_burstd(name) return name:sub(1, #TAG_ROOT) == TAG_ROOT end

-- The kind of a set keyword, `burstd|<kind>|<set>` (burst, bracket, focus-stack, panorama, ...).
local function set_kind(name)
  local kind = name:match("^burstd|([^|]+)|.")
  return kind ~= "pick" and kind or nil
end

-- darktable's collection, film rolls and tags are indexed objects, not Lua tables.
local function as_list(images)
  local list = {}
  for i = 1, #images do list[#list + 1] = images[i] end
  return list
end

local function burstd_tags(img)
  local found = {}
  for _, tag in ipairs(dt.tags.get_tags(img)) do
    if is_burstd(tag.name) then found[tag.name] = tag end
  end
  return found
end

local function sorted_keys(map)
  local keys = {}
  for key in pairs(map) do keys[#keys + 1] = key end
  table.sort(keys)
  return keys
end

-- Attach the burstd keywords in `wanted` that the image lacks, detach its stale ones; how many changed.
local function sync_keywords(img, wanted)
  if not wanted then return 0 end
  local have = burstd_tags(img)
  local changed = 0
  for _, name in ipairs(sorted_keys(wanted)) do
    if not have[name] then
      dt.tags.attach(dt.tags.create(name), img)
      changed = changed + 1
    end
  end
  for _, name in ipairs(sorted_keys(have)) do
    if not wanted[name] then
      dt.tags.detach(have[name], img)
      changed = changed + 1
    end
  end
  return changed
end

local function keywords_of(sidecar)
  local found = {}
  for _, name in ipairs(sidecar.keywords) do
    if is_burstd(name) then found[name] = true end
  end
  return found
end

-- burstd's keywords for an image: its sidecar's, unless darktable wrote its library's over them
-- (`lost`); then its burst's set keywords as the other frames' sidecars hold them (`borrowed`), and
-- burstd|pick from its rank. nil: nothing is known, leave them as they are.
local function wanted_keywords(sidecar, lost, borrowed)
  if not lost then return keywords_of(sidecar) end
  if not borrowed then return nil end
  local wanted, burst = {}, false
  for name in pairs(borrowed) do
    wanted[name] = true
    burst = burst or set_kind(name) == "burst"
  end
  -- A set burstd keeps whole (a bracket, a focus stack, a panorama) has no pick: its rank is the
  -- frame's place in the shooting order.
  if burst and sidecar.rank == 1 and (sidecar.burst_size or 0) > 1 then wanted[PICK] = true end
  return wanted
end

-- Turn on the colour labels burstd set that the sidecar still holds (all it set, when darktable
-- wrote its library's labels over them: `lost`); how many changed. Labels are never taken off: one set in
-- darktable (or by another script) need not be in the sidecar.
local function add_labels(img, sidecar, lost)
  if sidecar.label then return 0 end -- darktable takes xmp:Label over its own labels
  local present = {}
  for _, number in ipairs(sidecar.colorlabels) do present[number] = true end
  local changed = 0
  for _, number in ipairs(sidecar.burstd_labels) do
    local colour = COLOURS[tonumber(number)]
    if colour and (present[number] or lost) and not img[colour] then
      img[colour] = true
      changed = changed + 1
    end
  end
  return changed
end

local function has_tag(img, name)
  for _, tag in ipairs(dt.tags.get_tags(img)) do
    if tag.name == name then return true end
  end
  return false
end

local function stem(filename) return (filename:gsub("%.[^.]*$", "")) end

-- The leader of a set: a burst's pick, else the first frame; of a RAW+JPEG pair, the one darktable
-- made its pair's leader.
local function leader_of(members, kind)
  local keyed = {}
  for _, img in ipairs(members) do
    keyed[#keyed + 1] = {
      img = img,
      pick = kind == "burst" and has_tag(img, PICK) and 0 or 1,
      time = tostring(img.exif_datetime_taken or ""),
      stem = stem(img.filename),
      own = img.group_leader.id == img.id and 0 or 1,
    }
  end
  table.sort(keyed, function(a, b)
    if a.pick ~= b.pick then return a.pick < b.pick end
    if a.time ~= b.time then return a.time < b.time end
    if a.stem ~= b.stem then return a.stem < b.stem end
    if a.own ~= b.own then return a.own < b.own end
    return a.img.filename < b.img.filename
  end)
  return keyed[1].img
end

-- One group of exactly `members`, led by `leader`. group_with(x) joins x's current group, so the
-- leader first leaves a group holding anything else, then leads, then the members join it; each
-- member leaves its old group alone (darktable gives that group a new leader).
local function form_group(leader, members)
  local inside = {}
  for _, img in ipairs(members) do inside[img.id] = true end
  for _, other in ipairs(leader:get_group_members()) do
    if not inside[other.id] then
      leader:group_with()
      break
    end
  end
  leader:make_group_leader()
  for _, img in ipairs(members) do
    if img.id ~= leader.id and img.group_leader.id ~= leader.id then img:group_with(leader) end
  end
end

-- Group every set a keyword of `images` names: all its frames in the library, one group each.
local function group_sets(images)
  local kinds = {}
  for _, img in ipairs(images) do
    for _, tag in ipairs(dt.tags.get_tags(img)) do
      local kind = set_kind(tag.name)
      if kind then kinds[tag.name] = kind end
    end
  end
  local placed, groups = {}, 0
  for _, name in ipairs(sorted_keys(kinds)) do
    local members = {}
    for _, img in ipairs(as_list(dt.tags.find(name) or {})) do
      if not placed[img.id] then members[#members + 1] = img end
    end
    if #members > 1 then
      form_group(leader_of(members, kinds[name]), members)
      for _, img in ipairs(members) do placed[img.id] = true end
      groups = groups + 1
    end
  end
  return groups
end

local function in_a_set(img)
  for _, tag in ipairs(dt.tags.get_tags(img)) do
    if set_kind(tag.name) then return true end
  end
  return false
end

-- Images that were in a set before the refresh and are in none now leave their group (their
-- set's), a RAW+JPEG pair together.
local function leave_stale_groups(images, was_in_a_set)
  local left = {}
  for _, img in ipairs(images) do
    if was_in_a_set[img.id] and not in_a_set(img) and #img:get_group_members() > 1 then
      img:group_with()
      left[#left + 1] = img
    end
  end
  local pairs_by_stem = {}
  for _, img in ipairs(left) do
    local key = img.path .. "/" .. stem(img.filename)
    local first = pairs_by_stem[key]
    if first then img:group_with(first) else pairs_by_stem[key] = img end
  end
end

-- darktable's thumbnail table shows new groups once grouping is toggled.
local function redraw()
  if dt.configuration.has_gui and dt.gui.libs.global_toolbox.grouping then
    dt.gui.libs.global_toolbox.grouping = false
    dt.gui.libs.global_toolbox.grouping = true
  end
end

-- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
-- Refresh: burstd's sidecars into darktable's library, without a re-import
-- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -

-- Read every sidecar and decide, before anything changes: darktable rewrites an image's sidecar
-- (its rating, keywords and labels from the library) as soon as the image changes.
local function read_all(images)
  local plans, problems, without = {}, {}, 0
  for _, img in ipairs(images) do
    local sidecar, reason = read_sidecar(img.sidecar)
    if sidecar then
      local marked = recorded(img)
      local decision, rewritten = rating_decision(img.rating, marked, sidecar)
      plans[#plans + 1] = {img = img, sidecar = sidecar, decision = decision, rewritten = rewritten}
    elseif reason == NO_SIDECAR then
      without = without + 1
    else
      problems[#problems + 1] = img.sidecar .. ": " .. reason .. "; left as it is"
    end
  end
  return plans, problems, without
end

-- Each burst's set keywords, as the sidecars darktable has not rewritten hold them.
local function keywords_by_burst(plans)
  local found = {}
  for _, plan in ipairs(plans) do
    local id = plan.sidecar.burst_id
    if id and not plan.rewritten then
      for name in pairs(keywords_of(plan.sidecar)) do
        if set_kind(name) then
          found[id] = found[id] or {}
          found[id][name] = true
        end
      end
    end
  end
  return found
end

local function apply(plan, by_burst, counts)
  local img, sidecar = plan.img, plan.sidecar
  if plan.decision == "apply" then
    img.rating = sidecar.burstd_rating
    counts.ratings = counts.ratings + 1
  elseif plan.decision == "kept" then
    counts.kept = counts.kept + 1
  end
  if plan.decision then record(img, plan.decision ~= "kept" and sidecar.burstd_rating or nil) end
  local borrowed = sidecar.burst_id and by_burst[sidecar.burst_id]
  local lost = plan.rewritten
    or borrowed and next(keywords_of(sidecar)) == nil and next(burstd_tags(img)) == nil
  counts.keywords = counts.keywords + sync_keywords(img, wanted_keywords(sidecar, lost, borrowed))
  counts.labels = counts.labels + add_labels(img, sidecar, lost)
end

local function count(n, word)
  return n .. " " .. word .. (n == 1 and "" or "s")
end

-- One line for the photographer: "burstd: refreshed 7 images from their sidecars: ...".
local function summarise(refreshed, counts, without)
  local line = string.format("burstd: refreshed %s from their sidecars: %s, %s and %s changed, %s formed",
    count(refreshed, "image"), count(counts.ratings, "rating"), count(counts.keywords, "keyword"),
    count(counts.labels, "colour label"), count(counts.groups, "group"))
  if counts.kept > 0 then line = line .. "; " .. count(counts.kept, "rating") .. " set in darktable kept" end
  if without > 0 then line = line .. "; " .. count(without, "image") .. " without a sidecar" end
  if #counts.problems > 0 then line = line .. "; " .. count(#counts.problems, "sidecar") .. " unreadable (see the log)" end
  return line
end

-- burstd's sidecars into darktable's library, without a re-import: rating, reject, colour label,
-- keywords, then groups.
local function refresh(images)
  local plans, problems, without = read_all(images)
  local by_burst = keywords_by_burst(plans)
  local counts = {images = #images, ratings = 0, kept = 0, keywords = 0, labels = 0, problems = problems}
  local was_in_a_set = {}
  for _, img in ipairs(images) do was_in_a_set[img.id] = in_a_set(img) end
  for _, plan in ipairs(plans) do apply(plan, by_burst, counts) end
  leave_stale_groups(images, was_in_a_set)
  counts.groups = group_sets(images)
  redraw()
  for _, problem in ipairs(problems) do
    dt.print_error("burstd: " .. problem)
    dt.print_log("burstd: " .. problem)
  end
  local summary = summarise(#plans, counts, without)
  dt.print(summary)
  dt.print_log(summary)
  counts.summary = summary
  script_data.last_refresh = counts
  script_data.done.refreshed = script_data.done.refreshed + 1
  return counts
end

-- The selected images; the whole collection when none is selected.
local function chosen_images()
  local selected = as_list(dt.gui.selection())
  return #selected > 0 and selected or as_list(dt.collection)
end

-- Every image of the film rolls of the chosen images.
local function film_roll_images()
  local films, list = {}, {}
  for _, img in ipairs(chosen_images()) do
    local film = img.film
    if not films[film.path] then
      films[film.path] = true
      for _, member in ipairs(as_list(film)) do list[#list + 1] = member end
    end
  end
  return list
end

-- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
-- darktable integration: import events, shortcuts, a lighttable module, script_manager
-- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -

local imported = {} -- images of the imports under way, grouped once their film roll is imported

local function on_image_imported(_, img)
  imported[#imported + 1] = img
end

local function on_film_imported()
  local images = imported
  imported = {}
  for _, img in ipairs(images) do record_at_import(img) end
  if #images > 0 and group_sets(images) > 0 then redraw() end
  script_data.done.grouped = script_data.done.grouped + 1
end

local SHORTCUT_SELECTED = "burstd: refresh selected images from burstd's sidecars"
local SHORTCUT_FILM = "burstd: refresh film roll from burstd's sidecars"

local function register_events()
  dt.register_event(MODULE, "post-import-image", on_image_imported)
  dt.register_event(MODULE, "post-import-film", on_film_imported)
  dt.register_event(MODULE .. "_selected", "shortcut", function() refresh(chosen_images()) end, SHORTCUT_SELECTED)
  dt.register_event(MODULE .. "_film", "shortcut", function() refresh(film_roll_images()) end, SHORTCUT_FILM)
end

local function set_lib_visible(visible)
  if dt.gui.libs[MODULE] then dt.gui.libs[MODULE].visible = visible end
end

register_events()

if dt.configuration.has_gui then
  dt.register_lib(MODULE, "burstd", true, false,
    {[dt.gui.views.lighttable] = {"DT_UI_CONTAINER_PANEL_RIGHT_CENTER", 100}},
    dt.new_widget("box") {
      orientation = "vertical",
      dt.new_widget("button") {
        label = "refresh selected",
        tooltip = "re-read burstd's sidecars of the selected images (all of the collection when none is "
          .. "selected): rating, reject, colour label, keywords, groups; ratings set in darktable are kept",
        clicked_callback = function() refresh(chosen_images()) end,
      },
      dt.new_widget("button") {
        label = "refresh film roll",
        tooltip = "the same for every image of the film rolls of the selected images",
        clicked_callback = function() refresh(film_roll_images()) end,
      },
    },
    nil, nil)
end

-- script_manager stops a script with destroy() and, as a module cannot be unregistered, hides it.
script_data.destroy = function()
  dt.destroy_event(MODULE, "post-import-image")
  dt.destroy_event(MODULE, "post-import-film")
  dt.destroy_event(MODULE .. "_selected", "shortcut")
  dt.destroy_event(MODULE .. "_film", "shortcut")
  set_lib_visible(false)
end
script_data.destroy_method = "hide"
script_data.restart = function()
  register_events()
  set_lib_visible(true)
end
script_data.show = function() set_lib_visible(true) end

-- For scripts and tests: the reader and the refresh themselves.
script_data.read_sidecar = read_sidecar
script_data.refresh = refresh

return script_data
