#include "admin/manual.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "admin/config_keys.hpp"
#include "directory/settings_schema.hpp"

namespace postern::admin {

namespace {

// groff_man(7): a backslash is written \e, a hyphen that must stay a minus
// (options, paths) \-, and a line must not start with a dot or quote.
std::string roff(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  if (!out.empty() && (out.front() == '.' || out.front() == '\'')) out.insert(0, "\\&");
  return out;
}

std::string header(std::string_view name, int section, std::string_view manual) {
  return fmt::format(".TH {} {} \"\" \"postern {}\" \"{}\"\n", name, section, POSTERN_VERSION,
                     manual);
}

bool is_flag(const CLI::Option& o) { return o.get_expected_max() == 0; }

// "recipient" -> "recipient.": each item a sentence, whatever --help shows.
std::string sentence(std::string text) {
  if (!text.empty() && text.back() != '.') text += '.';
  return text;
}

// One option as `.TP` item: `--user ADDRESS (required)` then its help.
std::string option_item(const CLI::Option& o) {
  std::string names;
  if (o.get_positional()) {
    names = fmt::format("\\fI{}\\fR", roff(o.get_name(true)));
  } else {
    for (auto& s : o.get_snames())
      names += fmt::format("{}\\fB\\-{}\\fR", names.empty() ? "" : ", ", roff(s));
    for (auto& l : o.get_lnames())
      names += fmt::format("{}\\fB\\-\\-{}\\fR", names.empty() ? "" : ", ", roff(l));
    auto type = o.get_type_name();
    if (!is_flag(o)) names += fmt::format(" \\fI{}\\fR", roff(type.empty() ? "VALUE" : type));
  }
  std::string help = roff(sentence(o.get_description()));
  if (o.get_required()) help += " Required.";
  if (!o.get_default_str().empty())
    help += fmt::format(" Default: \\fI{}\\fR.", roff(o.get_default_str()));
  if (!o.get_envname().empty())
    help += fmt::format(" Environment: \\fB{}\\fR.", roff(o.get_envname()));
  return fmt::format(".TP\n{}\n{}\n", names, help);
}

std::string options_of(const CLI::App& app, bool skip_help) {
  std::string out;
  for (const CLI::Option* o : app.get_options()) {
    if (skip_help && (o->check_lname("help") || o->check_lname("version"))) continue;
    out += option_item(*o);
  }
  return out;
}

// Each command, depth first: `postern user add` with its help and options.
void commands_of(const CLI::App& app, const std::string& path, std::string& out) {
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_group().empty()) continue;  // hidden (this page's own command)
    auto name = path + " " + sub->get_name();
    auto children = sub->get_subcommands({});
    bool leaf = children.empty();
    if (leaf || !sub->get_options().empty() || !sub->get_description().empty()) {
      out += fmt::format(".SS \"{}\"\n{}\n", roff(name), roff(sentence(sub->get_description())));
      out += options_of(*sub, true);
    }
    commands_of(*sub, name, out);
  }
}

}  // namespace

std::string manual_postern_8(const CLI::App& app) {
  std::string out = header("POSTERN", 8, "System Administration");
  out +=
      ".SH NAME\npostern \\- mail access server: POP3, IMAP, submission and LMTP over one "
      "durable mailbox store\n";
  out +=
      ".SH SYNOPSIS\n.B postern\n[\\fB\\-\\-config\\fR \\fIFILE\\fR] [\\fB\\-\\-json\\fR] "
      "\\fICOMMAND\\fR [\\fIARGUMENTS\\fR]\n";
  out += ".SH DESCRIPTION\n" + roff(sentence(app.get_description())) + "\n";
  out +=
      ".PP\n\\fBpostern serve\\fR runs the node; the package starts it as the systemd unit "
      "\\fBpostern.service\\fR, as the \\fBpostern\\fR user. Every other command is "
      "declared once in the node's command registry: it runs on the node through its admin "
      "API when the node runs, and on the data folder directly while it does not (the "
      "commands that need no running node). Run as root, a command working on the data "
      "folder does so as the folder's owner, so no file in it becomes root's.\n";
  out +=
      ".PP\nA group alone shows its settings or list: \\fBpostern pop3\\fR is \\fBpostern "
      "pop3 get\\fR. Protocol settings change live, without a restart; postern.toml(5) "
      "lists them.\n";
  out += ".SH OPTIONS\n" + options_of(app, false);
  out += ".SH COMMANDS\n";
  commands_of(app, "postern", out);
  out +=
      ".SH FILES\n"
      ".TP\n\\fI/etc/postern/postern.toml\\fR\nThe node's configuration (postern.toml(5)); "
      "the default of \\fB\\-\\-config\\fR.\n"
      ".TP\n\\fI/var/lib/postern\\fR\nThe data folder of the package's configuration: "
      "directory, mailboxes, queue, protocol logs, admin token.\n"
      ".TP\n\\fI/lib/systemd/system/postern.service\\fR\nThe systemd unit. \\fBsystemctl "
      "reload postern\\fR reloads certificates; \\fBjournalctl \\-u postern\\fR shows the "
      "node's log, with the fields SESSION_ID, PROTOCOL, USER, REMOTE_ADDR and CODE.\n";
  out +=
      ".SH EXIT STATUS\n0 success; 64 usage; 65 data error (a check found problems); 67 "
      "unknown user; 69 unavailable (the node is needed and not running); 70 software "
      "error; 75 temporary failure; 77 no permission; 78 configuration error (sysexits.h).\n";
  out += ".SH SEE ALSO\npostern.toml(5), systemctl(1), journalctl(1)\n";
  return out;
}

std::string manual_postern_toml_5() {
  std::string out = header("POSTERN.TOML", 5, "File Formats");
  out += ".SH NAME\npostern.toml \\- configuration of a Postern node\n";
  out +=
      ".SH DESCRIPTION\nA TOML file (default \\fI/etc/postern/postern.toml\\fR, or "
      "\\fB\\-\\-config\\fR, or \\fBPOSTERN_CONFIG\\fR) naming the data folder, the "
      "listeners and the TLS files. An unknown key is an error that names the file, line and "
      "key. A node that cannot serve what the file asks (a TLS listener without a "
      "certificate, a port in use, an unwritable data folder) refuses to start and says "
      "why. Changes take effect at the next start; certificates also on SIGHUP. Protocol "
      "policy is not here: see PROTOCOL SETTINGS.\n";
  const std::pair<std::string_view, std::string_view> tables[] = {{"", "TOP LEVEL"},
                                                                  {"tls", "[tls]"},
                                                                  {"tls.sni", "[[tls.sni]]"},
                                                                  {"listener", "[[listener]]"},
                                                                  {"relay", "[relay]"}};
  for (auto& [table, title] : tables) {
    out += fmt::format(".SH \"{}\"\n", title);
    for (auto& k : config_keys()) {
      if (k.table != table) continue;
      out += fmt::format(".TP\n\\fB{}\\fR ({}{}{})\n{}\n", roff(k.key), roff(k.kind),
                         k.default_value.empty() ? "" : ", default ", roff(k.default_value),
                         roff(k.help));
    }
  }
  out +=
      ".SH \"PROTOCOL SETTINGS\"\nThese live in the node's directory, not in this file: "
      "\\fBpostern PROTOCOL get\\fR shows them, \\fBpostern PROTOCOL set KEY=VALUE\\fR "
      "changes them for the running node at once, without a restart. Durations are written "
      "like 90s, 30min, 1h.\n";
  for (std::string_view protocol : {"pop3", "imap", "lmtp", "submission"}) {
    out += fmt::format(".SS {}\n", protocol);
    for (auto& s : directory::settings_for(protocol)) {
      std::string range;
      if (s.kind == directory::setting_kind::integer || s.kind == directory::setting_kind::duration)
        if (s.max > s.min)
          range = fmt::format("; {} to {}{}", s.min, s.max,
                              s.kind == directory::setting_kind::duration ? " s" : "");
      std::string choices;
      for (auto c : s.choices)
        choices += fmt::format("{}{}", choices.empty() ? "; one of " : ", ", c);
      out += fmt::format(".TP\n\\fB{}\\fR (default {}{}{})\n{}\n", roff(s.key),
                         s.default_value.empty() ? "empty" : roff(s.default_value), roff(range),
                         roff(choices), roff(s.help));
    }
  }
  out +=
      ".SH EXAMPLE\n.nf\n"
      "data_dir = \"/var/lib/postern\"\n\n[tls]\ncertificate = "
      "\"/etc/postern/tls/fullchain.pem\"\nkey = \"/etc/postern/tls/privkey.pem\"\n\n"
      "[[listener]]\nprotocol = \"pop3\"\naddress = \"0.0.0.0\"\nport = 995\ntls = "
      "\"implicit\"\n.fi\n";
  out += ".SH SEE ALSO\npostern(8)\n";
  return out;
}

}  // namespace postern::admin
