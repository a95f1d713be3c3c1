#include <csignal>

#include "admin/commands.hpp"

int main(int argc, char** argv) {
  // Writes to a socket the client closed must fail with EPIPE, not kill the node.
  std::signal(SIGPIPE, SIG_IGN);
  return postern::admin::run_cli(argc, argv);
}
