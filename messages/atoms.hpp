#pragma once

// The atoms and custom type IDs of logpipe (CAF 0.18 transition macros, so a
// later port to newer CAF keeps these names).

#include "messages/log_block.hpp"
#include "messages/status.hpp"

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

CAF_BEGIN_TYPE_ID_BLOCK(logpipe, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(logpipe, (logpipe::log_block))
  CAF_ADD_TYPE_ID(logpipe, (logpipe::bus_status))
  CAF_ADD_TYPE_ID(logpipe, (logpipe::component_status))

  CAF_ADD_ATOM(logpipe, logpipe, publish_atom, "publish")
  CAF_ADD_ATOM(logpipe, logpipe, ack_atom, "ack")
  CAF_ADD_ATOM(logpipe, logpipe, attach_atom, "attach")
  CAF_ADD_ATOM(logpipe, logpipe, detach_atom, "detach")
  CAF_ADD_ATOM(logpipe, logpipe, input_atom, "input")
  CAF_ADD_ATOM(logpipe, logpipe, output_atom, "output")
  CAF_ADD_ATOM(logpipe, logpipe, status_atom, "status")
  CAF_ADD_ATOM(logpipe, logpipe, stop_atom, "stop")
  CAF_ADD_ATOM(logpipe, logpipe, restart_atom, "restart")
  CAF_ADD_ATOM(logpipe, logpipe, tick_atom, "tick")
  CAF_ADD_ATOM(logpipe, logpipe, readable_atom, "readable")
  CAF_ADD_ATOM(logpipe, logpipe, modified_atom, "modified")
  CAF_ADD_ATOM(logpipe, logpipe, renamed_atom, "renamed")
  CAF_ADD_ATOM(logpipe, logpipe, removed_atom, "removed")
  CAF_ADD_ATOM(logpipe, logpipe, close_atom, "close")
  CAF_ADD_ATOM(logpipe, logpipe, credit_atom, "credit")
  CAF_ADD_ATOM(logpipe, logpipe, release_atom, "release")
  CAF_ADD_ATOM(logpipe, logpipe, published_atom, "published")
  CAF_ADD_ATOM(logpipe, logpipe, identity_atom, "identity")
  CAF_ADD_ATOM(logpipe, logpipe, opened_atom, "opened")
  CAF_ADD_ATOM(logpipe, logpipe, closed_atom, "closed")
  CAF_ADD_ATOM(logpipe, logpipe, finished_atom, "finished")
  CAF_ADD_ATOM(logpipe, logpipe, flush_atom, "flush")
  CAF_ADD_ATOM(logpipe, logpipe, connect_atom, "connect")
  CAF_ADD_ATOM(logpipe, logpipe, connected_atom, "connected")
  CAF_ADD_ATOM(logpipe, logpipe, failed_atom, "failed")
  CAF_ADD_ATOM(logpipe, logpipe, retry_atom, "retry")
  CAF_ADD_ATOM(logpipe, logpipe, resume_atom, "resume")
  CAF_ADD_ATOM(logpipe, logpipe, session_atom, "session")
  CAF_ADD_ATOM(logpipe, logpipe, hello_atom, "hello")
  CAF_ADD_ATOM(logpipe, logpipe, delivered_atom, "delivered")
  CAF_ADD_ATOM(logpipe, logpipe, compress_atom, "compress")
  CAF_ADD_ATOM(logpipe, logpipe, save_atom, "save")

CAF_END_TYPE_ID_BLOCK(logpipe)
