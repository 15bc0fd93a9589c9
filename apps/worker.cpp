#include "apps/worker.hpp"

#include "actors/caf_link/link_settings.hpp"
#include "actors/core/logging.hpp"
#include "actors/core/supervisor.hpp"
#include "messages/registration.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <pthread.h>
#include <sys/resource.h>
#include <thread>
#include <utility>

namespace logpipe {

namespace {

// Turns SIGTERM/SIGINT into a stop message for `target` (signals are blocked
// in every thread, so only sigwait sees them).
class signal_forwarder {
public:
  explicit signal_forwarder(caf::actor target) : thread_([this, target] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0 || done_)
        return;
      log::notice("received {}", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      caf::anon_send(target, stop_atom_v);
    }
  }) {}

  ~signal_forwarder() {
    done_ = true;
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }

private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// A file input may keep up to max_open_files descriptors: take the hard
// limit rather than the usual soft 1,024.
void raise_descriptor_limit() {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

} // namespace

int run_worker(const config::agent_config& config, const component_registry& registry,
               const std::map<std::string, std::string>& start_once) {
  std::error_code ec;
  std::filesystem::create_directories(config.agent.data_dir, ec);
  if (ec) {
    log::error("cannot create data_dir {}: {}", config.agent.data_dir, ec.message());
    return 1;
  }
  raise_descriptor_limit();
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("scheduler.max-threads", config.agent.threads);
  // An idle worker thread goes from a short busy poll straight to waiting on
  // its condition variable (woken by new work), skipping CAF's default
  // 500 x 50 us "moderate" polling: that costs a log agent, which wakes for
  // every appended line, far more CPU than it saves in latency.
  cfg.set("work-stealing.moderate-poll-attempts", size_t{0});
  // A waiting worker wakes for new work at once (its condition variable is
  // signalled); the timeout only paces work stealing, and at CAF's default
  // 10 ms it costs an idle agent about 1 % of a core.
  cfg.set("work-stealing.relaxed-sleep-duration", caf::timespan{std::chrono::milliseconds(100)});
  if (registry.needs_middleman(config)) {
    cfg.load<caf::io::middleman>();
    apply_link_settings(cfg, config);
  }
  caf::actor_system sys{cfg};
  auto sup = sys.spawn(supervisor, config, &registry, start_once);
  log::notice("agent {} started: {} inputs, {} outputs", config.agent.name,
              config.inputs.size(), config.outputs.size());
  for (const auto& [key, value] : start_once)
    log::notice("first start: passing {}={} to the components", key, value);
  caf::scoped_actor self{sys};
  self->monitor(sup);
  signal_forwarder signals{caf::actor_cast<caf::actor>(self)};
  int exit_code = 0;
  bool running = true;
  bool stopping = false;
  while (running) {
    self->receive(
      [&](caf::down_msg& msg) {
        running = false;
        if (msg.reason && msg.reason != caf::exit_reason::normal) {
          log::error("supervisor stopped: {}", sys.render(msg.reason));
          exit_code = 1;
        }
      },
      [&](stop_atom) {
        // Ctrl-C reaches us twice: SIGINT from the terminal, SIGTERM from the monitor.
        if (std::exchange(stopping, true))
          return;
        auto limit = config.agent.shutdown_grace + std::chrono::seconds(5);
        self->request(sup, limit, stop_atom_v)
          .receive([&](bool drained) {
                     log::notice("stopped{}", drained ? "; every block delivered"
                                                      : " with blocks in flight");
                   },
                   [&](caf::error& err) {
                     log::error("shutdown: {}", sys.render(err));
                     self->send_exit(sup, caf::exit_reason::kill);
                   });
      });
  }
  return exit_code;
}

} // namespace logpipe
