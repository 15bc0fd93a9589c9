#include "curl_transport.hpp"

#include "http_body.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace logpipe {

namespace {

/// curl_global_init is not thread-safe: run it once per process, and never
/// clean up (other users of libcurl may live in the same process).
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw std::runtime_error("curl_global_init failed");
  });
}

/// Keeps the first answer_excerpt_size bytes of the answer; takes the rest
/// without keeping it, so that curl reads the whole answer.
std::size_t keep_excerpt(char* data, std::size_t size, std::size_t count, void* user) {
  auto& excerpt = *static_cast<std::string*>(user);
  const auto bytes = size * count;
  if (excerpt.size() < answer_excerpt_size)
    excerpt.append(data, std::min(bytes, answer_excerpt_size - excerpt.size()));
  return bytes;
}

struct slist_deleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using header_list = std::unique_ptr<curl_slist, slist_deleter>;

header_list make_header_list(const std::vector<std::string>& headers) {
  header_list list;
  auto append = [&list](const std::string& entry) {
    auto* grown = curl_slist_append(list.get(), entry.c_str());
    if (grown == nullptr)
      throw std::bad_alloc();
    (void)list.release();
    list.reset(grown);
  };
  for (const auto& entry : headers)
    append(entry);
  // curl would send "Expect: 100-continue" with large bodies and wait for
  // an interim answer that many servers never send.
  if (!http::has_header(headers, "Expect"))
    append("Expect:");
  return list;
}

class curl_client {
public:
  explicit curl_client(std::chrono::milliseconds timeout) : timeout_(timeout) {
    init_curl_once();
    handle_ = curl_easy_init();
    if (handle_ == nullptr)
      throw std::runtime_error("curl_easy_init failed");
  }
  curl_client(const curl_client&) = delete;
  curl_client& operator=(const curl_client&) = delete;
  ~curl_client() { curl_easy_cleanup(handle_); }

  http_response post(const http_request& request) {
    http_response response;
    auto headers = make_header_list(request.headers);
    error_[0] = '\0';
    set_options(request, headers.get(), response.excerpt);
    auto rc = curl_easy_perform(handle_);
    if (rc != CURLE_OK) {
      response.error = error_[0] != '\0' ? error_ : curl_easy_strerror(rc);
      return response;
    }
    curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
  }

private:
  // Options are set before every request: the handle keeps pointers to the
  // request's body, headers and answer buffer.
  void set_options(const http_request& request, curl_slist* headers, std::string& excerpt) {
    curl_easy_setopt(handle_, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(handle_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl_easy_setopt(handle_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl_easy_setopt(handle_, CURLOPT_POST, 1L);
    curl_easy_setopt(handle_, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(handle_, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, keep_excerpt);
    curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &excerpt);
    curl_easy_setopt(handle_, CURLOPT_ERRORBUFFER, error_);
  }

  std::chrono::milliseconds timeout_;
  CURL* handle_ = nullptr;
  char error_[CURL_ERROR_SIZE] = {};
};

} // namespace

http_transport make_curl_transport(std::chrono::milliseconds timeout) {
  auto client = std::make_shared<curl_client>(timeout);
  return [client](const http_request& request) { return client->post(request); };
}

} // namespace logpipe
