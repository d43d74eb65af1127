// Signal handling of the programs (see include/wna/core/signals.hpp). The handler does only
// async-signal-safe things: store a number, unlink a file, restore the default and re-raise.
#include "wna/core/signals.hpp"

#include <unistd.h>

#include <csignal>
#include <cstring>

namespace wna {
namespace {

constexpr int kSignals[] = {SIGTERM, SIGINT, SIGUSR1, SIGHUP};
constexpr size_t kPathCapacity = 4096;
constexpr size_t kSlots = 8;

volatile std::sig_atomic_t g_catching = 0;     // record stop signals instead of dying
volatile std::sig_atomic_t g_stop_signal = 0;  // the last one recorded
char g_temporary[kSlots][kPathCapacity] = {};  // removed before a fatal signal ends the process

extern "C" void on_signal(int signal) {
  const bool second_interrupt = signal == SIGINT && g_stop_signal == SIGINT;
  if (g_catching && !second_interrupt) {
    g_stop_signal = signal;
    return;
  }
  for (const auto& path : g_temporary)
    if (path[0] != '\0') ::unlink(path);
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

void install_handlers() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  for (const int signal : kSignals) sigaction(signal, &action, nullptr);
}

// Runs `change` with the handled signals blocked in this thread, so that the handler never
// sees a path half-copied.
template <typename Change>
void with_signals_blocked(Change&& change) {
  sigset_t blocked, previous;
  sigemptyset(&blocked);
  for (const int signal : kSignals) sigaddset(&blocked, signal);
  pthread_sigmask(SIG_BLOCK, &blocked, &previous);
  change();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

}  // namespace

void remove_on_signal(const std::string& path) {
  install_handlers();
  if (path.empty() || path.size() >= kPathCapacity) return;
  with_signals_blocked([&] {
    for (auto& slot : g_temporary) {
      if (slot[0] != '\0') continue;
      std::memcpy(slot, path.data(), path.size());
      slot[path.size()] = '\0';
      return;
    }
  });
}

void keep_on_signal(const std::string& path) {
  with_signals_blocked([&] {
    for (auto& slot : g_temporary)
      if (path == slot) slot[0] = '\0';
  });
}

void catch_stop_signals() {
  install_handlers();
  g_catching = 1;
}

int stop_signal() { return g_stop_signal; }

}  // namespace wna
