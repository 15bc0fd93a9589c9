#include "actors/file_output/written_ranges.hpp"

#include "actors/shared/write_all.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <string_view>
#include <unistd.h>
#include <utility>

// The journal, a text file, one record per line, every line ending in '\n':
//
//   logpipe-file-positions 1
//   <source_id> <delta> <path>
//   ...
//
// source_id is an unsigned decimal number, delta a signed one; path is the
// file's path relative to the output folder ("origin/name"), with '%', space,
// control bytes and 0x7f written as %XX, so a line holds no space or newline
// but the two separators. A later line for a path replaces the earlier one;
// source_id 0 says the path has no record any more.
//
// Lines are appended with one write(2) each and never fsynced: a kill -9 of
// the agent keeps what write(2) was given (the page cache survives), and a
// power loss loses the output files' recent bytes as well. The worst a lost or
// torn line can do is make a re-sent block look new: it is written twice,
// never skipped wrongly (a record that is lost or older always says that
// fewer bytes are written, never more).

namespace logpipe {

namespace {

constexpr std::string_view header_line = "logpipe-file-positions 1";

std::string errno_text(int err) {
  return std::strerror(err);
}

bool escaped_byte(unsigned char c) {
  return c <= ' ' || c == '%' || c == 0x7f;
}

std::string encode_path(const std::string& path) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (unsigned char c : path) {
    if (escaped_byte(c)) {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

std::optional<std::string> decode_path(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    const auto c = static_cast<unsigned char>(field[i]);
    if (c != '%') {
      if (escaped_byte(c))
        return std::nullopt;
      out += static_cast<char>(c);
      continue;
    }
    if (i + 2 >= field.size())
      return std::nullopt;
    const int hi = hex_value(field[i + 1]);
    const int lo = hex_value(field[i + 2]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  if (out.empty())
    return std::nullopt;
  return out;
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
  if (text.empty() || text.size() > 20)
    return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10)
      return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::optional<std::int64_t> parse_delta(std::string_view text) {
  const bool negative = !text.empty() && text[0] == '-';
  auto magnitude = parse_unsigned(negative ? text.substr(1) : text);
  if (!magnitude || *magnitude > written_ranges::max_position)
    return std::nullopt;
  const auto value = static_cast<std::int64_t>(*magnitude);
  return negative ? -value : value;
}

struct journal_line {
  std::string path;
  source_position pos;
};

/// One line without its newline; nullopt if malformed.
std::optional<journal_line> parse_line(std::string_view line) {
  const auto first = line.find(' ');
  if (first == std::string_view::npos)
    return std::nullopt;
  const auto second = line.find(' ', first + 1);
  if (second == std::string_view::npos)
    return std::nullopt;
  auto id = parse_unsigned(line.substr(0, first));
  auto delta = parse_delta(line.substr(first + 1, second - first - 1));
  auto path = decode_path(line.substr(second + 1));
  if (!id || !delta || !path)
    return std::nullopt;
  return journal_line{std::move(*path), source_position{*id, *delta}};
}

std::string format_line(const std::string& path, const source_position& pos) {
  return std::to_string(pos.source_id) + ' ' + std::to_string(pos.delta) + ' '
         + encode_path(path) + '\n';
}

/// The whole file; nullopt (errno set) on failure, "" if it does not exist.
std::optional<std::string> read_whole(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? std::optional<std::string>("") : std::nullopt;
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      errno = err;
      return std::nullopt;
    }
    if (n == 0)
      break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

bool in_range(std::int64_t value) {
  const auto max = static_cast<std::int64_t>(written_ranges::max_position);
  return value >= -max && value <= max;
}

} // namespace

written_ranges::written_ranges(std::string journal_path, std::size_t compact_slack)
  : path_(std::move(journal_path)), compact_slack_(compact_slack) {
}

written_ranges::~written_ranges() {
  close_journal();
}

void written_ranges::close_journal() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

std::string written_ranges::load() {
  records_.clear();
  lines_ = 0;
  if (path_.empty())
    return {};
  std::string problems;
  auto text = read_whole(path_);
  if (!text) {
    problems = "cannot read " + path_ + ": " + errno_text(errno) + "; starting without it";
    text.emplace();
  }
  std::size_t pos = 0;
  std::size_t line_no = 0;
  std::size_t malformed = 0;
  // A last line without its newline was torn by a crash: ignored.
  for (auto end = text->find('\n'); end != std::string::npos;
       pos = end + 1, end = text->find('\n', pos)) {
    const std::string_view line(text->data() + pos, end - pos);
    if (++line_no == 1) {
      if (line == header_line)
        continue;
      problems = path_ + " is not a positions journal (its first line is not '"
                 + std::string(header_line) + "'); starting without it";
      break;
    }
    auto parsed = parse_line(line);
    if (!parsed) {
      ++malformed;
      continue;
    }
    if (parsed->pos.source_id == 0)
      records_.erase(parsed->path);
    else
      records_[parsed->path] = parsed->pos;
  }
  if (malformed > 0)
    problems = "ignored " + std::to_string(malformed) + " malformed lines of " + path_;
  if (!compact()) {
    if (!problems.empty())
      problems += "; ";
    problems += take_error();
  }
  return problems;
}

bool written_ranges::compact() {
  if (path_.empty())
    return true;
  close_journal();
  std::string text(header_line);
  text += '\n';
  for (const auto& [path, pos] : records_)
    text += format_line(path, pos);
  const std::string tmp = path_ + ".tmp";
  // O_APPEND: once renamed, the same descriptor appends to the journal.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    fail("cannot create " + tmp + ": " + errno_text(errno));
    return false;
  }
  int err = write_all(fd, text.data(), text.size());
  if (err == 0 && ::rename(tmp.c_str(), path_.c_str()) != 0)
    err = errno;
  if (err != 0) {
    fail("cannot write " + path_ + ": " + errno_text(err));
    ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  }
  fd_ = fd;
  lines_ = records_.size();
  failing_ = false;
  return true;
}

void written_ranges::persist(const std::string& path, const source_position& pos) {
  if (path_.empty())
    return;
  // Closed after a failed write (which may have left a torn line): the
  // rewrite holds every record, this one included.
  if (fd_ < 0) {
    compact();
    return;
  }
  const std::string line = format_line(path, pos);
  if (int err = write_all(fd_, line.data(), line.size())) {
    fail("cannot append to " + path_ + ": " + errno_text(err));
    close_journal();
    return;
  }
  ++lines_;
  if (lines_ > 2 * records_.size() + compact_slack_)
    compact();
}

void written_ranges::set(const std::string& path, const source_position& pos) {
  records_[path] = pos;
  persist(path, pos);
}

void written_ranges::forget(const std::string& path) {
  if (records_.erase(path) > 0)
    persist(path, source_position{});
}

const source_position* written_ranges::find(const std::string& path) const {
  auto it = records_.find(path);
  return it == records_.end() ? nullptr : &it->second;
}

range_decision written_ranges::decide(const std::string& path, std::uint64_t file_size,
                                      std::uint64_t source_id, std::uint64_t offset,
                                      std::uint64_t length) {
  range_decision d;
  if (source_id == 0 || file_size > max_position || offset > max_position
      || length > max_position - offset) {
    forget(path);
    d.change = range_decision::untracked;
    return d;
  }
  const auto size = static_cast<std::int64_t>(file_size);
  const auto o = static_cast<std::int64_t>(offset);
  const auto n = static_cast<std::int64_t>(length);
  const source_position fresh{source_id, size - o};
  auto it = records_.find(path);
  if (it == records_.end() || it->second.source_id != source_id) {
    d.change = range_decision::new_generation;
    set(path, fresh);
    return d;
  }
  d.end = size - it->second.delta;
  if (d.end < 0) {
    // The file is shorter than where the generation starts in it.
    d.change = range_decision::restarted;
    set(path, fresh);
    return d;
  }
  if (o + n <= d.end) {
    d.duplicate = length;
  } else if (o < d.end) {
    d.duplicate = static_cast<std::uint64_t>(d.end - o);
  } else if (o > d.end) {
    d.change = range_decision::gap;
    set(path, fresh);
  }
  return d;
}

void written_ranges::rotated(const std::string& path, std::uint64_t old_size) {
  auto it = records_.find(path);
  if (it == records_.end())
    return;
  if (old_size > max_position) {
    forget(path);
    return;
  }
  // The new file starts where the old one ended in the source.
  const std::int64_t delta = it->second.delta - static_cast<std::int64_t>(old_size);
  if (!in_range(delta)) {
    forget(path);
    return;
  }
  set(path, source_position{it->second.source_id, delta});
}

void written_ranges::fail(std::string why) {
  if (!failing_)
    error_ = std::move(why);
  failing_ = true;
}

std::string written_ranges::take_error() {
  return std::exchange(error_, std::string());
}

} // namespace logpipe
