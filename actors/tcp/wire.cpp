#include "actors/tcp/wire.hpp"

#include "actors/shared/file_name.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace logpipe::wire {

namespace {

constexpr std::size_t max_name_length = 0xFFFF;      // 2-byte length field
constexpr std::size_t max_block_length = 0xFFFFFFFF; // 4 significant bytes
constexpr std::size_t name_length_size = 2;
constexpr std::size_t block_length_size = 8;

void put_block_length(std::vector<char>& out, std::size_t length) {
  const char field[block_length_size] = {
    static_cast<char>((length >> 24) & 0xFF), static_cast<char>((length >> 16) & 0xFF),
    static_cast<char>((length >> 8) & 0xFF), static_cast<char>(length & 0xFF), 0, 0, 0, 0};
  out.insert(out.end(), field, field + block_length_size);
}

std::string hex_bytes(const unsigned char* p, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    char b[4];
    std::snprintf(b, sizeof b, i == 0 ? "%02x" : " %02x", p[i]);
    s += b;
  }
  return s;
}

} // namespace

void encode_message(std::string_view file_name, const char* data, std::size_t size,
                    std::vector<char>& out, std::size_t max_block) {
  if (file_name.size() > max_name_length)
    throw std::invalid_argument("wire: file name of " + std::to_string(file_name.size())
                                + " bytes is longer than the 65535 the protocol can carry");
  if (max_block == 0)
    throw std::invalid_argument("wire: max_block must be at least 1 byte");
  // The length field has 4 significant bytes, whatever the caller allows.
  const std::size_t block_size = std::min(max_block, max_block_length);
  const std::size_t blocks = (size + block_size - 1) / block_size;
  out.reserve(out.size() + message_overhead + file_name.size() + size
              + blocks * block_overhead);
  out.push_back(magic);
  out.push_back(static_cast<char>((file_name.size() >> 8) & 0xFF));
  out.push_back(static_cast<char>(file_name.size() & 0xFF));
  out.insert(out.end(), file_name.begin(), file_name.end());
  for (std::size_t done = 0; done < size;) {
    const std::size_t n = std::min(size - done, block_size);
    put_block_length(out, n);
    out.insert(out.end(), data + done, data + done + n);
    done += n;
  }
  put_block_length(out, 0); // the terminator
}

decoder::decoder(decoder_limits limits) : limits_(limits) {
}

bool decoder::fail(std::string message, std::size_t field_taken) {
  stage_ = stage::failed;
  error_ = std::move(message) + " (at byte " + std::to_string(offset_ - field_taken)
           + " of the stream)";
  name_.clear();
  return false;
}

// Each stage takes as much of the input as it can in one go: block data is
// copied in bulk, fixed-size fields are gathered in field_ since they may be
// split between two reads (field_fill_ is back to 0 once a field is whole).
// Errors can only occur between blocks, so a failed decoder holds no partial
// block.
bool decoder::feed(const char* data, std::size_t size, std::vector<block>& out) {
  if (stage_ == stage::failed)
    return false;
  const char* const end = data + size;
  const char* p = data;
  // Copies up to `want` bytes of a fixed-size field; true once it is whole.
  auto gather = [&](std::size_t want) {
    const std::size_t n = std::min(want - field_fill_, static_cast<std::size_t>(end - p));
    std::memcpy(field_ + field_fill_, p, n);
    field_fill_ += n;
    p += n;
    offset_ += n;
    return field_fill_ == want;
  };
  while (p != end) {
    switch (stage_) {
      case stage::magic: {
        const auto c = static_cast<unsigned char>(*p);
        if (c != static_cast<unsigned char>(magic)) {
          char shown[5];
          std::snprintf(shown, sizeof shown, "0x%02x", c);
          return fail(std::string("bad magic byte ") + shown + " (expected 0x40 '@')", 0);
        }
        ++p;
        ++offset_;
        stage_ = stage::name_length;
        break;
      }
      case stage::name_length: {
        if (!gather(name_length_size))
          break;
        field_fill_ = 0;
        name_length_ = (std::size_t{field_[0]} << 8) | field_[1];
        if (name_length_ > limits_.max_name)
          return fail("file name length " + std::to_string(name_length_) + " is over the limit of "
                        + std::to_string(limits_.max_name) + " bytes",
                      name_length_size);
        name_.clear();
        name_.reserve(name_length_);
        stage_ = stage::name;
        if (name_length_ == 0)
          return fail("bad file name \"\": " + file_name_problem(name_, limits_.max_name), 0);
        break;
      }
      case stage::name: {
        const std::size_t n =
          std::min(name_length_ - name_.size(), static_cast<std::size_t>(end - p));
        name_.append(p, n);
        p += n;
        offset_ += n;
        if (name_.size() < name_length_)
          break;
        if (auto problem = file_name_problem(name_, limits_.max_name); !problem.empty())
          return fail("bad file name \"" + printable_name(name_) + "\": " + problem,
                      name_length_);
        stage_ = stage::block_length;
        break;
      }
      case stage::block_length: {
        if (!gather(block_length_size))
          break;
        field_fill_ = 0;
        if (field_[4] != 0 || field_[5] != 0 || field_[6] != 0 || field_[7] != 0)
          return fail("block length field " + hex_bytes(field_, block_length_size)
                      + " has non-zero padding bytes (the last 4 must be 00)",
                      block_length_size);
        block_length_ = (std::size_t{field_[0]} << 24) | (std::size_t{field_[1]} << 16)
                        | (std::size_t{field_[2]} << 8) | std::size_t{field_[3]};
        if (block_length_ == 0) { // the terminator
          stage_ = stage::magic;
          break;
        }
        if (block_length_ > limits_.max_block)
          return fail("block length " + std::to_string(block_length_) + " for \""
                      + printable_name(name_) + "\" is over the limit of "
                      + std::to_string(limits_.max_block) + " bytes",
                      block_length_size);
        block_.clear();
        block_.reserve(block_length_);
        stage_ = stage::block_data;
        break;
      }
      case stage::block_data: {
        const std::size_t n =
          std::min(block_length_ - block_.size(), static_cast<std::size_t>(end - p));
        block_.insert(block_.end(), p, p + n);
        p += n;
        offset_ += n;
        if (block_.size() < block_length_)
          break;
        out.push_back(block{name_, std::move(block_)});
        block_ = {}; // a moved-from vector is valid but unspecified
        stage_ = stage::block_length;
        break;
      }
      case stage::failed:
        return false;
    }
  }
  return true;
}

bool decoder::between_messages() const {
  return stage_ == stage::magic;
}

bool decoder::inside_block() const {
  return stage_ == stage::block_data;
}

std::size_t decoder::buffered() const {
  return block_.size();
}

} // namespace logpipe::wire
