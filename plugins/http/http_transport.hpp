#pragma once

// One HTTP exchange as the http output sees it, with no CAF and no libcurl in
// it: the output is handed a function that POSTs a request and returns the
// answer, so that tests give it a fake one.

#include <functional>
#include <string>
#include <vector>

namespace logpipe {

struct http_request {
  std::string url;
  /// "Name: value" entries.
  std::vector<std::string> headers;
  std::string body;
};

struct http_response {
  /// The HTTP status; 0 when no answer came (transport error).
  long status = 0;
  /// What went wrong when status is 0 ("Connection refused", ...).
  std::string error;
  /// The first bytes of the answer's body, for the log.
  std::string excerpt;
};

/// POSTs a request and waits for its answer (blocking).
using http_transport = std::function<http_response(const http_request&)>;

} // namespace logpipe
