#include "template_output.hpp"

#include "actors/shared/write_all.hpp" // installed with the plugin API

#include <caf/actor_system.hpp>
#include <caf/sec.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace template_plugin {

using namespace logpipe;

template_output_state::~template_output_state() {
  if (fd >= 0)
    ::close(fd);
}

output_actor::behavior_type
template_output(output_actor::stateful_pointer<template_output_state> self,
                component_context ctx) {
  auto& st = self->state;
  st.index = ctx.index;
  st.bus = ctx.bus;
  st.component = ctx.config.name;
  st.prefix = ctx.config.get_string("prefix");
  const auto& path = ctx.config.get_string("path");
  st.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (st.fd < 0) {
    log::error("output {}: cannot open {}: {}", st.component, path, std::strerror(errno));
    // Quitting with an error makes the supervisor start us again later.
    self->quit(caf::make_error(caf::sec::runtime_error));
    return output_actor::behavior_type::make_empty_behavior();
  }
  // Attaching makes the bus send us every block we have not acked yet:
  // after a restart, that is what the previous run left undelivered.
  self->send(ctx.bus, attach_atom_v, output_atom_v, ctx.index);
  return {
    [=](publish_atom, const log_block& blk) {
      auto& st = self->state;
      std::string text;
      for (char c : blk.bytes) {
        if (st.at_line_start)
          text += st.prefix;
        text += c;
        st.at_line_start = c == '\n';
      }
      if (auto err = write_all(st.fd, text.data(), text.size())) {
        log::error("output {}: write failed: {}", st.component, std::strerror(err));
        // Not acked: the restarted output receives this block again.
        self->quit(caf::make_error(caf::sec::runtime_error));
        return;
      }
      // Acked only once the bytes are written: the bus then frees the
      // input's credit and its checkpoint may move past this block.
      self->send(st.bus, ack_atom_v, st.index, blk.input, blk.seq);
    },
  };
}

config::kind_schema template_output_schema() {
  using namespace logpipe::config;
  kind_schema schema;
  schema.type = "template";
  schema.summary = "Appends every line to a file, with a prefix (the plugin guide's example).";
  schema.keys = {
    required(make_key("path", value_kind::path, "", "File the lines are appended to.")),
    make_key("prefix", value_kind::string, "\"\"", "Text written in front of every line."),
  };
  return schema;
}

output_actor spawn_template_output(caf::actor_system& sys, const component_context& ctx) {
  return sys.spawn<caf::detached>(template_output, ctx);
}

} // namespace template_plugin
