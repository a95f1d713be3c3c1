#include "admin/json_codec.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "base/strings.hpp"

namespace postern::admin {

namespace json = boost::json;

namespace {

base::error bad(std::string words) {
  return base::error{base::errc::invalid_argument, std::move(words), ""};
}

// One argument value as text; nullopt for a type an argument never has.
std::optional<std::string> scalar(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return std::string(v.get_string());
    case json::kind::bool_:
      return v.get_bool() ? "true" : "false";
    case json::kind::int64:
      return std::to_string(v.get_int64());
    case json::kind::uint64:
      return std::to_string(v.get_uint64());
    default:
      return std::nullopt;
  }
}

}  // namespace

base::result<arguments> arguments_from_json(std::string_view body) {
  arguments out;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return out;
  json::error_code ec;
  json::parse_options opts;
  opts.max_depth = 4;
  auto v = json::parse(body, ec, {}, opts);
  if (ec) return bad(fmt::format("the request body is not JSON: {}", ec.message()));
  if (!v.is_object())
    return bad(
        "the request body must be a JSON object of the command's arguments, e.g. "
        "{\"address\": \"joe@example.com\"}");
  for (auto& [key, value] : v.get_object()) {
    std::string name(key);
    std::vector<std::string> values;
    if (value.is_array()) {
      for (auto& item : value.get_array()) {
        auto s = scalar(item);
        if (!s)
          return bad(
              fmt::format("argument '{}': a list may hold only strings, numbers and "
                          "booleans",
                          base::printable(name, 60)));
        values.push_back(std::move(*s));
      }
    } else if (auto s = scalar(value)) {
      values.push_back(std::move(*s));
    } else {
      return bad(
          fmt::format("argument '{}' must be a string, a whole number, true or false, or a "
                      "list of those",
                      base::printable(name, 60)));
    }
    out[name] = std::move(values);
  }
  return out;
}

std::string arguments_to_json(const arguments& a) {
  json::object o;
  for (auto& [name, values] : a) {
    if (values.size() == 1) {
      o[name] = values.front();
    } else {
      json::array arr;
      for (auto& v : values) arr.emplace_back(v);
      o[name] = std::move(arr);
    }
  }
  return json::serialize(o);
}

std::string reply_to_json(const command_reply& r) {
  json::object o;
  o["ok"] = r.ok();
  if (!r.ok()) {
    o["status"] = r.status;
    o["error"] = r.error;
    return json::serialize(o);
  }
  json::array lines;
  for (auto& l : r.lines) lines.emplace_back(l);
  o["lines"] = std::move(lines);
  json::array items;
  for (auto& row : r.rows) {
    json::object item;
    for (size_t i = 0; i < r.columns.size() && i < row.size(); ++i) item[r.columns[i]] = row[i];
    items.emplace_back(std::move(item));
  }
  o["items"] = std::move(items);
  if (r.problems) o["problems"] = true;
  return json::serialize(o);
}

base::result<command_reply> reply_from_json(std::string_view body, int http_status) {
  json::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object())
    return bad(fmt::format("the node answered HTTP {} with a body that is not a reply: {}",
                           http_status, base::printable(body, 200)));
  auto& o = v.get_object();
  command_reply r;
  r.status = http_status;
  if (auto* e = o.if_contains("error"); e && e->is_string()) r.error = std::string(e->get_string());
  if (auto* p = o.if_contains("problems"); p && p->is_bool()) r.problems = p->get_bool();
  if (auto* lines = o.if_contains("lines"); lines && lines->is_array())
    for (auto& l : lines->get_array())
      if (l.is_string()) r.lines.emplace_back(l.get_string());
  if (auto* items = o.if_contains("items"); items && items->is_array()) {
    for (auto& item : items->get_array()) {
      if (!item.is_object()) continue;
      auto& fields = item.get_object();
      if (r.columns.empty())
        for (auto& [k, _] : fields) r.columns.emplace_back(k);
      std::vector<std::string> row;
      for (auto& c : r.columns) {
        auto* f = fields.if_contains(c);
        row.push_back(f && f->is_string() ? std::string(f->get_string()) : std::string());
      }
      r.rows.push_back(std::move(row));
    }
  }
  if (!r.ok() && r.error.empty()) r.error = fmt::format("the node answered HTTP {}", http_status);
  return r;
}

std::string commands_to_json() {
  json::array list;
  for (auto& c : commands()) {
    json::object o;
    o["name"] = c.name;
    std::string path = "/api/" + c.name;
    for (auto& ch : path)
      if (ch == ' ') ch = '/';
    o["path"] = path;
    o["help"] = c.help;
    o["needs_node"] = c.needs_node;
    json::array args;
    for (auto& a : c.args) {
      json::object arg;
      arg["name"] = a.name;
      arg["help"] = a.help;
      arg["kind"] = a.what == arg_spec::kind::flag   ? "flag"
                    : a.what == arg_spec::kind::list ? "list"
                                                     : "text";
      arg["required"] = a.required;
      if (!a.choices.empty()) {
        json::array choices;
        for (auto& ch : a.choices) choices.emplace_back(ch);
        arg["choices"] = std::move(choices);
      }
      args.emplace_back(std::move(arg));
    }
    o["arguments"] = std::move(args);
    list.emplace_back(std::move(o));
  }
  json::object root;
  root["commands"] = std::move(list);
  return json::serialize(root);
}

}  // namespace postern::admin
