// The second Ctrl-C, even when JS is busy.
//
// Node hears SIGINT/SIGTERM through libuv, which only queues the signal for
// the event loop: a JS handler never runs while JS is stuck (a user's
// generate() that never returns), so "a second Ctrl-C quits at once" would
// not hold. armSignalExit() puts a handler in front of libuv's: the first
// signal goes on to libuv (the JS handler checkpoints and stops), the second
// ends the process here with 130 (SIGINT) or 143 (SIGTERM). Checkpoints are
// written atomically, so the last one stays valid. disarmSignalExit() puts
// libuv's handler back.

#include <node_api.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static const int kSignals[2] = {SIGINT, SIGTERM};
static struct sigaction g_prev[2];  // libuv's handlers for them
static volatile sig_atomic_t g_signals = 0, g_armed = 0;

static void on_exit_signal(int sig, siginfo_t* si, void* ctx) {
  if (g_armed) g_signals = g_signals + 1;
  if (g_armed && g_signals >= 2) {
    static const char msg[] = "\nsecond signal: quitting at once (the last checkpoint stays valid)\n";
    if (isatty(2)) (void)!write(2, "\x1b[?25h", 6);  // show the cursor a progress bar hid
    (void)!write(2, msg, sizeof msg - 1);
    _exit(sig == SIGTERM ? 143 : 130);
  }
  const struct sigaction& prev = g_prev[sig == SIGTERM];
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction) prev.sa_sigaction(sig, si, ctx);
  } else if (prev.sa_handler == SIG_DFL) {
    signal(sig, SIG_DFL);
    raise(sig);
  } else if (prev.sa_handler != SIG_IGN) {
    prev.sa_handler(sig);
  }
}

static bool ours(const struct sigaction& a) { return (a.sa_flags & SA_SIGINFO) && a.sa_sigaction == on_exit_signal; }

napi_value ArmSignalExit(napi_env, napi_callback_info) {
  for (int i = 0; i < 2; i++) {
    struct sigaction cur;
    sigaction(kSignals[i], nullptr, &cur);
    if (ours(cur)) continue;  // already in front
    struct sigaction mine;
    memset(&mine, 0, sizeof mine);
    mine.sa_sigaction = on_exit_signal;
    mine.sa_flags = SA_SIGINFO | SA_RESTART | (cur.sa_flags & SA_ONSTACK);
    sigfillset(&mine.sa_mask);
    g_prev[i] = cur;
    sigaction(kSignals[i], &mine, nullptr);
  }
  g_signals = 0;
  g_armed = 1;
  return nullptr;
}

napi_value DisarmSignalExit(napi_env, napi_callback_info) {
  g_armed = 0;
  g_signals = 0;
  for (int i = 0; i < 2; i++) {
    struct sigaction cur;
    sigaction(kSignals[i], nullptr, &cur);
    if (ours(cur)) sigaction(kSignals[i], &g_prev[i], nullptr);
  }
  return nullptr;
}
