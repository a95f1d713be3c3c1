// Talking to systemd when it started the node (the unit's Type=notify):
// READY once every listener is bound and the store is open, RELOADING and
// READY around a SIGHUP reload, STOPPING when the shutdown begins
// (sd_notify(3)). Without $NOTIFY_SOCKET (a terminal, a test) each call does
// nothing.
//
// Threads: thread-safe.
#pragma once

#include <string_view>

namespace postern::observe {

void notify_ready(std::string_view status);
void notify_reloading();
void notify_stopping(std::string_view status);

}  // namespace postern::observe
