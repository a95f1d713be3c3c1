#include "admin/config_keys.hpp"

namespace postern::admin {

namespace {
constexpr config_key all_keys[] = {
    {"", "data_dir", "path", "",
     "The folder holding the directory, the mailboxes, the queue, the protocol logs and the "
     "admin token. Required. A relative path is relative to this file's folder. The node "
     "creates it and needs to read and write it; the package uses /var/lib/postern, owned by "
     "the postern user."},
    {"", "role", "string", "standalone", "\"standalone\": the only role in this version."},
    {"", "hostname", "string", "the system's host name",
     "The name the node gives in greetings, Received fields and reports."},
    {"", "threads", "number", "0", "I/O threads, 0 to 256; 0 is one per core."},
    {"", "shutdown_timeout", "duration", "10s",
     "On SIGTERM the node stops accepting, lets each session finish its command and say "
     "goodbye, and exits; after this long (0s to 1h) it exits with whatever is still open."},
    {"", "tls", "table", "",
     "[tls]: the certificate and key listeners use unless they name their own."},
    {"", "listener", "array of tables", "",
     "[[listener]]: one table per address and port the node serves."},
    {"", "relay", "table", "",
     "[relay]: the smarthost submission relays remote recipients through; without it, "
     "submission refuses them."},

    {"tls", "certificate", "path", "",
     "PEM certificate chain (the server's certificate first). Required by every listener with "
     "tls = \"starttls\" or \"implicit\" that has no certificate of its own: the node refuses "
     "to start without it and says which listener needs it. Reloaded on SIGHUP (systemctl "
     "reload postern) and by postern cert reload."},
    {"tls", "key", "path", "", "PEM private key of the certificate; readable by the node's user."},
    {"tls", "profile", "string", "intermediate",
     "\"intermediate\": TLS 1.3, and TLS 1.2 with ECDHE and AEAD suites; \"modern\": TLS 1.3 "
     "only."},
    {"tls", "sni", "array of tables", "",
     "[[tls.sni]]: more certificate and key pairs, chosen by the name a client asks for (the "
     "names come from each certificate)."},

    {"tls.sni", "certificate", "path", "", "PEM certificate chain."},
    {"tls.sni", "key", "path", "", "Its PEM private key."},

    {"listener", "protocol", "string", "",
     "pop3, imap, lmtp, submission or admin (the HTTP admin API and /metrics). Required."},
    {"listener", "address", "string", "127.0.0.1",
     "The address to bind: an IPv4 or IPv6 address, 0.0.0.0 or :: for all."},
    {"listener", "port", "number", "", "1 to 65535. Required."},
    {"listener", "tls", "string", "none",
     "\"none\", \"starttls\" (STLS, STARTTLS on the plain port) or \"implicit\" (TLS from the "
     "first byte: 995, 993, 465; the admin API's HTTPS)."},
    {"listener", "certificate", "path", "[tls] certificate",
     "This listener's own certificate; with key."},
    {"listener", "key", "path", "[tls] key", "This listener's own key; with certificate."},
    {"listener", "client_ca", "path", "",
     "Admin API over TLS only: clients presenting a certificate these CAs issued are let in "
     "without the admin token."},

    {"relay", "host", "string", "", "The smarthost's name or address. Required."},
    {"relay", "port", "number", "25, or 465 with tls = \"implicit\"", "1 to 65535."},
    {"relay", "tls", "string", "starttls", "\"starttls\", \"implicit\" or \"none\"."},
    {"relay", "username", "string", "",
     "Log in to the smarthost as this user; with password_file."},
    {"relay", "password_file", "path", "",
     "A file holding the smarthost password (its first line); with username."},
    {"relay", "ca_file", "path", "the system's CAs", "Trust this CA (PEM) for the smarthost."},
};
}  // namespace

std::span<const config_key> config_keys() { return all_keys; }

std::vector<std::string_view> keys_of(std::string_view table) {
  std::vector<std::string_view> out;
  for (auto& k : all_keys)
    if (k.table == table) out.push_back(k.key);
  return out;
}

}  // namespace postern::admin
