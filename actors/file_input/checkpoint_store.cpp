#include "actors/file_input/checkpoint_store.hpp"

#include "actors/shared/source_id.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

// On-disk format (a text file a human can read, one entry per line, every
// line ending with '\n'):
//
//   logpipe-checkpoints 2
//   <device> <inode> <prefix_length> <prefix_hash> <source_id> <offset> <name>
//   ...
//
// Fields are separated by exactly one space. device, inode, prefix_length and
// offset are unsigned decimal numbers; prefix_hash and source_id are 16
// lowercase hex digits (source_id is never 0).
// <name> is percent-encoded so that it holds no space, newline or other byte
// that could confuse the parser: every byte other than ASCII letters, digits
// and `._-+,:=@~` is written as `%XX` (two uppercase hex digits), e.g.
// `my app.log` -> `my%20app.log`. An empty name is written as `-` (and a name
// that is exactly `-` as `%2D`). Entries are in (device, inode) order, and a
// device+inode pair appears at most once.
//
// The previous format, `logpipe-checkpoints 1`, has no <source_id> field; it
// is still read, and each of its entries gets a new source id.

namespace logpipe {

namespace {

constexpr const char* header_line = "logpipe-checkpoints 2";
constexpr const char* header_line_v1 = "logpipe-checkpoints 1";

std::string errno_text(int err) {
  return std::strerror(err);
}

// --- names --------------------------------------------------------------------

bool plain_byte(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  switch (c) {
    case '.': case '_': case '-': case '+': case ',': case ':': case '=':
    case '@': case '~':
      return true;
    default:
      return false;
  }
}

std::string encode_name(const std::string& name) {
  if (name.empty())
    return "-";
  if (name == "-")
    return "%2D";
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(name.size());
  for (unsigned char c : name) {
    if (plain_byte(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// Decodes a name field; nullopt with `why` set if it is malformed.
std::optional<std::string> decode_name(std::string_view field, std::string& why) {
  if (field == "-")
    return std::string();
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    const char c = field[i];
    if (c == '%') {
      const bool complete = i + 2 < field.size();
      const int hi = complete ? hex_value(field[i + 1]) : -1;
      const int lo = complete ? hex_value(field[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        why = "bad %-escape in the file name at column " + std::to_string(i + 1);
        return std::nullopt;
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (plain_byte(static_cast<unsigned char>(c))) {
      out += c;
    } else {
      why = "unexpected character in the file name (byte "
            + std::to_string(static_cast<unsigned char>(c))
            + "); names are percent-encoded";
      return std::nullopt;
    }
  }
  if (out.empty()) {
    why = "empty file name field";
    return std::nullopt;
  }
  return out;
}

// --- numbers ------------------------------------------------------------------

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 20)
    return std::nullopt;
  if (text.size() > 1 && text[0] == '0')
    return std::nullopt; // no leading zeros: one way to write each number
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10)
      return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::optional<std::uint64_t> parse_hash(std::string_view text) {
  if (text.size() != 16)
    return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    const int v = hex_value(c);
    if (v < 0 || (c >= 'A' && c <= 'F'))
      return std::nullopt;
    value = value << 4 | static_cast<std::uint64_t>(v);
  }
  return value;
}

std::string hash_text(std::uint64_t hash) {
  static const char hex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = hex[hash & 0xF];
    hash >>= 4;
  }
  return out;
}

/// One entry line without its newline (`with_source_id`: the current format,
/// not the previous one); nullopt with `why` if malformed.
std::optional<checkpoint> parse_entry(std::string_view line, bool with_source_id,
                                      std::string& why) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    const auto space = line.find(' ', start);
    fields.push_back(line.substr(start, space == std::string_view::npos
                                          ? std::string_view::npos
                                          : space - start));
    if (space == std::string_view::npos)
      break;
    start = space + 1;
  }
  const std::size_t expected = with_source_id ? 7 : 6;
  if (fields.size() != expected) {
    why = "expected " + std::to_string(expected)
          + " fields separated by single spaces (device inode prefix_length prefix_hash "
          + (with_source_id ? "source_id " : "") + "offset name), found "
          + std::to_string(fields.size());
    return std::nullopt;
  }
  static const char* const names[] = {"device", "inode", "prefix_length"};
  std::uint64_t numbers[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    auto value = parse_decimal(fields[static_cast<std::size_t>(i)]);
    if (!value) {
      why = std::string("bad ") + names[i] + " '"
            + std::string(fields[static_cast<std::size_t>(i)])
            + "' (expected an unsigned decimal number)";
      return std::nullopt;
    }
    numbers[i] = *value;
  }
  if (numbers[2] > UINT32_MAX) {
    why = "prefix_length " + std::to_string(numbers[2]) + " is too large";
    return std::nullopt;
  }
  auto hash = parse_hash(fields[3]);
  if (!hash) {
    why = "bad prefix_hash '" + std::string(fields[3])
          + "' (expected 16 lowercase hex digits)";
    return std::nullopt;
  }
  std::uint64_t source_id = 0;
  if (with_source_id) {
    auto parsed = parse_hash(fields[4]);
    if (!parsed || *parsed == 0) {
      why = "bad source_id '" + std::string(fields[4])
            + "' (expected 16 lowercase hex digits, not all 0)";
      return std::nullopt;
    }
    source_id = *parsed;
  } else {
    source_id = new_source_id();
  }
  const auto& offset_field = fields[expected - 2];
  auto offset = parse_decimal(offset_field);
  if (!offset) {
    why = "bad offset '" + std::string(offset_field)
          + "' (expected an unsigned decimal number)";
    return std::nullopt;
  }
  auto name = decode_name(fields[expected - 1], why);
  if (!name)
    return std::nullopt;
  checkpoint cp;
  cp.id.device = numbers[0];
  cp.id.inode = numbers[1];
  cp.id.prefix_length = static_cast<std::uint32_t>(numbers[2]);
  cp.id.prefix_hash = *hash;
  cp.offset = *offset;
  cp.source_id = source_id;
  cp.name = std::move(*name);
  return cp;
}

// --- I/O ----------------------------------------------------------------------

/// Reads up to `size` bytes at `offset`, retrying short reads; the count
/// read (less at end of file), or -1 with errno set.
ssize_t pread_full(int fd, char* buf, std::size_t size, off_t offset) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, buf + done, size - done,
                              offset + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (n == 0)
      break;
    done += static_cast<std::size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

bool write_full(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::string folder_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}

} // namespace

bool file_identity::same_inode(const file_identity& other) const {
  return device == other.device && inode == other.inode;
}

std::uint64_t prefix_hash(const char* data, std::size_t size) {
  std::uint64_t hash = 14695981039346656037ull; // FNV-1a 64-bit offset basis
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= static_cast<unsigned char>(data[i]);
    hash *= 1099511628211ull; // FNV-1a 64-bit prime
  }
  return hash;
}

std::optional<file_identity> identity_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return std::nullopt;
  file_identity id;
  id.device = static_cast<std::uint64_t>(st.st_dev);
  id.inode = static_cast<std::uint64_t>(st.st_ino);
  std::size_t want = identity_prefix;
  if (st.st_size >= 0 && static_cast<std::uint64_t>(st.st_size) < want)
    want = static_cast<std::size_t>(st.st_size);
  char buf[identity_prefix];
  // The file may have shrunk since fstat: hash what is there.
  const ssize_t got = pread_full(fd, buf, want, 0);
  if (got < 0)
    return std::nullopt;
  id.prefix_length = static_cast<std::uint32_t>(got);
  id.prefix_hash = prefix_hash(buf, static_cast<std::size_t>(got));
  return id;
}

bool is_same_file(int fd, const file_identity& id) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return false;
  if (static_cast<std::uint64_t>(st.st_dev) != id.device
      || static_cast<std::uint64_t>(st.st_ino) != id.inode)
    return false;
  std::vector<char> buf(id.prefix_length);
  const ssize_t got = pread_full(fd, buf.data(), buf.size(), 0);
  if (got < 0 || static_cast<std::size_t>(got) != buf.size())
    return false; // unreadable, or now shorter than the prefix
  return prefix_hash(buf.data(), buf.size()) == id.prefix_hash;
}

checkpoint_store::checkpoint_store(std::string path) : path_(std::move(path)) {
}

bool checkpoint_store::load(std::string& error) {
  entries_.clear();
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return true;
    error = "cannot open checkpoint file " + path_ + ": " + errno_text(errno);
    return false;
  }
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      const int err = errno;
      ::close(fd);
      error = "cannot read checkpoint file " + path_ + ": " + errno_text(err);
      return false;
    }
    if (n == 0)
      break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);

  auto fail = [&](std::size_t line_no, const std::string& why) {
    entries_.clear();
    error = "corrupt checkpoint file " + path_ + ", line " + std::to_string(line_no)
            + ": " + why + " (fix or remove the file; without it, files are read "
            "again from the start)";
    return false;
  };
  decltype(entries_) loaded;
  bool with_source_id = true;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  if (text.empty())
    return fail(1, "the file is empty (expected the header '"
                       + std::string(header_line) + "')");
  while (pos < text.size()) {
    ++line_no;
    const auto end = text.find('\n', pos);
    if (end == std::string::npos)
      return fail(line_no, "incomplete last line (no newline at its end)");
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (line_no == 1) {
      if (line != header_line && line != header_line_v1)
        return fail(1, "expected the header '" + std::string(header_line) + "' (or '"
                           + header_line_v1 + "'), found '"
                           + std::string(line.substr(0, 64)) + "'");
      with_source_id = line == header_line;
      continue;
    }
    std::string why;
    auto cp = parse_entry(line, with_source_id, why);
    if (!cp)
      return fail(line_no, why);
    const auto key = std::make_pair(cp->id.device, cp->id.inode);
    if (loaded.count(key) != 0)
      return fail(line_no, "a second entry for device " + std::to_string(key.first)
                               + " inode " + std::to_string(key.second));
    loaded.emplace(key, std::move(*cp));
  }
  entries_ = std::move(loaded);
  return true;
}

std::string checkpoint_store::text() const {
  std::string text = header_line;
  text += '\n';
  for (const auto& [key, cp] : entries_) {
    text += std::to_string(cp.id.device);
    text += ' ';
    text += std::to_string(cp.id.inode);
    text += ' ';
    text += std::to_string(cp.id.prefix_length);
    text += ' ';
    text += hash_text(cp.id.prefix_hash);
    text += ' ';
    text += hash_text(cp.source_id);
    text += ' ';
    text += std::to_string(cp.offset);
    text += ' ';
    text += encode_name(cp.name);
    text += '\n';
  }
  return text;
}

bool checkpoint_store::save(std::string& error) const {
  return write_checkpoint_file(path_, text(), error);
}

bool write_checkpoint_file(const std::string& path, const std::string& text,
                           std::string& error) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = "cannot create " + tmp + ": " + errno_text(errno);
    return false;
  }
  auto fail_tmp = [&](const char* what, int err) {
    ::unlink(tmp.c_str());
    error = std::string("cannot ") + what + " " + tmp + ": " + errno_text(err);
    return false;
  };
  if (!write_full(fd, text)) {
    const int err = errno;
    ::close(fd);
    return fail_tmp("write", err);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return fail_tmp("fsync", err);
  }
  if (::close(fd) != 0)
    return fail_tmp("close", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    error = "cannot rename " + tmp + " to " + path + ": " + errno_text(err);
    return false;
  }
  // Make the rename itself durable.
  const std::string folder = folder_of(path);
  const int dir_fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    error = "saved " + path + " but cannot open its folder to fsync it: "
            + errno_text(errno);
    return false;
  }
  if (::fsync(dir_fd) != 0) {
    const int err = errno;
    ::close(dir_fd);
    error = "saved " + path + " but cannot fsync its folder " + folder + ": "
            + errno_text(err);
    return false;
  }
  ::close(dir_fd);
  return true;
}

const checkpoint* checkpoint_store::find(int fd, const file_identity& id) const {
  const auto it = entries_.find(std::make_pair(id.device, id.inode));
  if (it == entries_.end())
    return nullptr;
  if (!is_same_file(fd, it->second.id))
    return nullptr;
  return &it->second;
}

void checkpoint_store::put(const checkpoint& cp) {
  entries_[std::make_pair(cp.id.device, cp.id.inode)] = cp;
}

void checkpoint_store::erase(const file_identity& id) {
  entries_.erase(std::make_pair(id.device, id.inode));
}

std::vector<checkpoint> checkpoint_store::all() const {
  std::vector<checkpoint> result;
  result.reserve(entries_.size());
  for (const auto& [key, cp] : entries_)
    result.push_back(cp);
  return result;
}

} // namespace logpipe
