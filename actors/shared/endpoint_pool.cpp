#include "actors/shared/endpoint_pool.hpp"

#include "actors/shared/network_address.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace logpipe {

config::key_spec balance_key() {
  using namespace config;
  return choice_of(make_key("balance", value_kind::choice, "\"round_robin\"",
                            "`round_robin`: a new stream (origin and file name) goes to the "
                            "next healthy endpoint in turn and stays there while it is "
                            "healthy. `failover`: everything goes to the first healthy "
                            "endpoint in the list."),
                   {"round_robin", "failover"});
}

balance_mode balance_of(const std::string& text) {
  return text == "failover" ? balance_mode::failover : balance_mode::round_robin;
}

std::vector<config::key_problem> check_endpoints(const std::string& key,
                                                 const std::vector<std::string>& entries) {
  std::vector<config::key_problem> problems;
  if (entries.empty() || entries.size() > max_endpoints)
    problems.push_back({key, "must have 1 to " + std::to_string(max_endpoints)
                               + " entries, got " + std::to_string(entries.size())});
  std::set<std::string> seen;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    std::string error;
    auto entry = "entry " + std::to_string(i + 1) + " \"" + entries[i] + "\"";
    auto address = parse_host_port(entries[i], error);
    if (!address)
      problems.push_back({key, entry + ": " + error});
    else if (!seen.insert(to_string(*address)).second)
      problems.push_back({key, entry + ": listed twice"});
  }
  return problems;
}

namespace {

constexpr auto sweep_interval = std::chrono::minutes(1);

} // namespace

endpoint_pool::endpoint_pool(std::size_t endpoints, balance_mode mode,
                             duration disable_timeout)
  : mode_(mode),
    disable_timeout_(disable_timeout),
    backoff_(std::min(first_backoff, disable_timeout)),
    disabled_until_(endpoints, time_point::min()) {
  if (endpoints == 0)
    throw std::invalid_argument("endpoint_pool: no endpoints");
}

bool endpoint_pool::healthy(std::size_t endpoint, time_point now) const {
  return now >= disabled_until_[endpoint];
}

bool endpoint_pool::any_healthy(time_point now) const {
  return first_healthy_from(0, now).has_value();
}

std::optional<std::size_t> endpoint_pool::first_healthy_from(std::size_t start,
                                                             time_point now) const {
  for (std::size_t i = 0; i < size(); ++i) {
    auto candidate = (start + i) % size();
    if (healthy(candidate, now))
      return candidate;
  }
  return std::nullopt;
}

std::optional<std::size_t> endpoint_pool::route(const std::string& stream, time_point now) {
  if (mode_ == balance_mode::failover)
    return first_healthy_from(0, now);
  auto known = streams_.find(stream);
  if (known != streams_.end() && healthy(known->second.endpoint, now)) {
    known->second.last_used = now;
    return known->second.endpoint;
  }
  auto chosen = first_healthy_from(next_, now);
  if (!chosen)
    return std::nullopt;
  next_ = (*chosen + 1) % size();
  forget_idle_streams(now);
  streams_.insert_or_assign(stream, stream_route{*chosen, now});
  return chosen;
}

void endpoint_pool::forget_idle_streams(time_point now) {
  if (now < next_sweep_)
    return;
  next_sweep_ = now + sweep_interval;
  for (auto i = streams_.begin(); i != streams_.end();) {
    if (now - i->second.last_used >= stream_idle_limit)
      i = streams_.erase(i);
    else
      ++i;
  }
}

void endpoint_pool::failed(std::size_t endpoint, time_point now) {
  disabled_until_[endpoint] = now + disable_timeout_;
}

void endpoint_pool::connected(std::size_t endpoint) {
  disabled_until_[endpoint] = time_point::min();
  backoff_ = std::min(first_backoff, disable_timeout_);
}

endpoint_pool::duration endpoint_pool::next_backoff() {
  auto result = backoff_;
  backoff_ = std::min(backoff_ * 2, disable_timeout_);
  return result;
}

std::size_t endpoint_pool::retry() {
  // Every failure sets now + disable_timeout: the earliest end is the
  // endpoint that failed longest ago.
  auto oldest = std::min_element(disabled_until_.begin(), disabled_until_.end());
  *oldest = time_point::min();
  return static_cast<std::size_t>(oldest - disabled_until_.begin());
}

} // namespace logpipe
