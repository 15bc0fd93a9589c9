#pragma once

// `[[outputs]] type = "template"`: appends every line it receives to the
// file `path`, with `prefix` in front of each. Small on purpose: it is the
// starting point of docs/plugins.md.

#include <logpipe/plugin.hpp>

#include <caf/typed_event_based_actor.hpp>

#include <cstdint>
#include <string>

namespace template_plugin {

struct template_output_state {
  static constexpr const char* name = "template_output";
  std::uint32_t index = 0;
  logpipe::bus_actor bus;
  std::string component;
  std::string prefix;
  int fd = -1;
  /// True when the last byte written ended a line: the next one gets a prefix.
  bool at_line_start = true;

  ~template_output_state();
};

logpipe::output_actor::behavior_type
template_output(logpipe::output_actor::stateful_pointer<template_output_state> self,
                logpipe::component_context ctx);

/// The kind's keys: the loader checks them and the reference page lists them.
logpipe::config::kind_schema template_output_schema();

/// Writing a file may block: the actor runs on a thread of its own.
logpipe::output_actor spawn_template_output(caf::actor_system& sys,
                                            const logpipe::component_context& ctx);

} // namespace template_plugin
