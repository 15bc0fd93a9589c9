#include "http_output.hpp"

#include "curl_transport.hpp"

#include "actors/core/logging.hpp"
#include "actors/shared/deflate.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include <algorithm>
#include <utility>

namespace logpipe {

namespace {

using self_ptr = http_output_actor::stateful_pointer<http_output_state>;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

constexpr milliseconds first_backoff{100};

/// Bytes of a name or of an answer shown in a log line.
constexpr std::size_t logged_text_size = 200;

void take_block(self_ptr self, caf::message msg) {
  auto& st = self->state;
  http_pending_block pending{std::move(msg), std::nullopt};
  const auto& blk = pending.block();
  if ((blk.flags & deflated) != 0) {
    std::vector<char> inflated;
    std::string error;
    if (inflate_block(blk.bytes.data(), blk.bytes.size(), inflated, error))
      pending.inflated = std::move(inflated);
    else
      log::error("output {}: a block of {} from {} is not a zlib stream ({}); its bytes are "
                 "sent as they came",
                 st.component, http::printable_excerpt(blk.file_name, logged_text_size),
                 http::printable_excerpt(blk.origin, logged_text_size), error);
  }
  st.blocks.push_back(std::move(pending));
}

// Queues a flush behind the messages already in the mailbox, so that one
// request gathers the blocks that arrived meanwhile.
void queue_flush(self_ptr self) {
  auto& st = self->state;
  if (st.flush_queued || st.retry_scheduled)
    return;
  st.flush_queued = true;
  self->send(self, flush_atom_v);
}

/// Up to batch_size lines from the delivered position on; blocks with
/// nothing left to send (empty ones) are passed over.
http_batch next_batch(const http_output_state& st) {
  http_batch batch;
  batch.end_offset = st.sent_offset;
  while (batch.end_block < st.blocks.size()) {
    const auto& pending = st.blocks[batch.end_block];
    auto bytes = pending.bytes();
    if (batch.end_offset >= bytes.size()) {
      ++batch.end_block;
      batch.end_offset = 0;
      continue;
    }
    if (batch.lines == st.batch_size)
      break;
    const auto& blk = pending.block();
    auto taken = http::append_lines(batch.request.body, st.format, {blk.origin, blk.file_name},
                                    bytes, batch.end_offset, st.batch_size - batch.lines);
    if (taken.lines == 0)
      break; // defensive: never loop without progress
    batch.lines += taken.lines;
    batch.end_offset = taken.end;
  }
  batch.request.url = st.url;
  batch.request.headers = st.headers;
  return batch;
}

// Acks the blocks the batch holds wholly, and moves the delivered position
// to its end.
void commit(self_ptr self, const http_batch& batch) {
  auto& st = self->state;
  for (std::size_t i = 0; i < batch.end_block; ++i) {
    const auto& blk = st.blocks.front().block();
    self->send(st.bus, ack_atom_v, st.index, blk.input, blk.seq);
    st.blocks.pop_front();
  }
  st.sent_offset = batch.end_offset;
}

std::string describe_failure(const http_response& response) {
  if (response.status == 0)
    return response.error.empty() ? std::string("no answer") : response.error;
  auto text = "HTTP " + std::to_string(response.status);
  if (!response.excerpt.empty())
    text += ", answer: " + http::printable_excerpt(response.excerpt, logged_text_size);
  return text;
}

void delivered(self_ptr self) {
  auto& st = self->state;
  if (st.failures > 0)
    log::notice("output {}: requests succeed again after {} failed attempts", st.component,
                st.failures);
  st.failures = 0;
  st.backoff = std::min(first_backoff, st.backoff_max);
  st.lines += st.batch->lines;
  commit(self, *st.batch);
  st.batch.reset();
  if (!st.blocks.empty())
    queue_flush(self);
}

// Nothing is dropped, whatever the status: the same body goes again later.
void failed(self_ptr self, const http_response& response) {
  auto& st = self->state;
  ++st.failures;
  ++st.failed_requests;
  log::warn("output {}: a request of {} lines failed ({}); sending it again in {} ms",
            st.component, st.batch->lines, describe_failure(response), st.backoff.count());
  st.retry_scheduled = true;
  self->delayed_send(self, st.backoff, retry_atom_v);
  st.backoff = std::min(st.backoff * 2, st.backoff_max);
}

void send_batch(self_ptr self) {
  auto& st = self->state;
  ++st.requests;
  auto response = st.transport(st.batch->request);
  if (response.status >= 200 && response.status < 300)
    delivered(self);
  else
    failed(self, response);
}

void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.retry_scheduled || st.batch)
    return;
  auto batch = next_batch(st);
  if (batch.lines == 0) {
    // Only blocks with no bytes left: nothing to send for them.
    commit(self, batch);
    return;
  }
  st.batch = std::move(batch);
  send_batch(self);
}

} // namespace

std::string_view http_pending_block::bytes() const {
  if (inflated)
    return {inflated->data(), inflated->size()};
  const auto& raw = block().bytes;
  return {raw.data(), raw.size()};
}

http_output_state::~http_output_state() {
  log::info("output {}: sent {} lines in {} requests, {} of which failed and were sent again",
            component, lines, requests, failed_requests);
}

http_output_actor::behavior_type http_output(self_ptr self, component_context ctx,
                                             http_transport transport) {
  auto& st = self->state;
  const auto& cfg = ctx.config;
  st.component = cfg.name;
  st.index = ctx.index;
  st.bus = ctx.bus;
  st.transport = std::move(transport);
  st.url = cfg.get_string("url");
  st.format = http::parse_format(cfg.get_string("format"));
  st.headers = http::request_headers(cfg.get_list("headers"), st.format);
  st.batch_size = static_cast<std::size_t>(cfg.get_int("batch_size"));
  st.backoff_max = duration_cast<milliseconds>(cfg.get_duration("retry_backoff_max"));
  st.backoff = std::min(first_backoff, st.backoff_max);
  self->send(ctx.bus, attach_atom_v, output_atom_v, ctx.index);
  return {
    [=](publish_atom, const log_block&) {
      take_block(self, self->current_mailbox_element()->move_content_to_message());
      queue_flush(self);
    },
    [=](flush_atom) { flush(self); },
    [=](retry_atom) {
      self->state.retry_scheduled = false;
      send_batch(self);
    },
  };
}

config::kind_schema http_output_schema() {
  using namespace config;
  constexpr std::int64_t us_per_ms = 1000;
  constexpr std::int64_t us_per_s = 1000 * us_per_ms;
  kind_schema schema;
  schema.kind_role = role::output;
  schema.type = "http";
  schema.summary =
    "POSTs the lines of every block to an HTTP endpoint (plugin `liblogpipe-http.so`). A "
    "block is acknowledged once every line of it was in a request answered 2xx; a failed "
    "request is sent again, the same body, after a backoff.";
  schema.keys = {
    required(make_key("url", value_kind::string, "",
                      "Where to POST, `http://` or `https://`.")),
    make_key("headers", value_kind::string_list, "[]",
             "Extra request headers, each `\"Name: value\"` (such as an "
             "`\"Authorization: Bearer ...\"`)."),
    choice_of(make_key("format", value_kind::choice, "\"raw\"",
                       "`raw`: the lines as they are, newlines kept (Content-Type "
                       "`text/plain; charset=utf-8`). `ndjson`: one JSON object per line, "
                       "`{\"file\":...,\"origin\":...,\"line\":...}` without the newline, "
                       "invalid UTF-8 replaced by U+FFFD (Content-Type "
                       "`application/x-ndjson`). `headers` may set another Content-Type."),
              {"raw", "ndjson"}),
    bounded(make_key("batch_size", value_kind::integer, "1000",
                     "Most lines per request. A block's last bytes without a newline count "
                     "as a line."),
            1, 100000),
    bounded(make_key("timeout", value_kind::duration, "\"10s\"",
                     "Longest a request may take, connecting included; then it counts as "
                     "failed."),
            us_per_ms, 3600 * us_per_s),
    bounded(make_key("retry_backoff_max", value_kind::duration, "\"30s\"",
                     "A failed request (no answer, or any status but 2xx) is sent again "
                     "after 100ms, a delay that doubles with each further failure up to "
                     "this."),
            100 * us_per_ms, 3600 * us_per_s),
  };
  schema.check = [](const component_config& c) {
    std::vector<key_problem> problems;
    if (auto why = http::url_problem(c.get_string("url")))
      problems.push_back({"url", *why});
    const auto& headers = c.get_list("headers");
    for (std::size_t i = 0; i < headers.size(); ++i)
      if (auto why = http::header_problem(headers[i]))
        problems.push_back({"headers", "entry " + std::to_string(i + 1) + " \""
                                         + http::printable_excerpt(headers[i], logged_text_size)
                                         + "\": " + *why});
    return problems;
  };
  return schema;
}

output_actor spawn_http_output(caf::actor_system& sys, const component_context& ctx) {
  auto timeout = duration_cast<milliseconds>(ctx.config.get_duration("timeout"));
  return sys.spawn<caf::detached>(http_output, ctx, make_curl_transport(timeout));
}

} // namespace logpipe
