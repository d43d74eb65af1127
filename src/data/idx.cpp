// Reader for IDX files (MNIST / Fashion-MNIST), raw or gzip-compressed, with strict validation:
// every malformed input becomes a one-line wna::Error naming the file.
#include "wna/data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "wna/core/error.hpp"

namespace wna {
namespace {

constexpr uint8_t kTypeUnsignedByte = 0x08;
constexpr int kMaxRank = 4;
// Larger than any image set wna handles; guards against absurd dimensions in a corrupt header.
constexpr uint64_t kMaxPayloadBytes = uint64_t{1} << 34;
constexpr size_t kReadChunk = size_t{1} << 20;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(path + ": " + what);
}

bool has_gz_extension(const std::string& path) {
  return path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
}

// Sequential byte source over a raw file (stdio) or a gzip file (zlib).
class ByteSource {
 public:
  explicit ByteSource(const std::string& path)
      : path_(path), compressed_(has_gz_extension(path)) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status)) fail(path, "no such file");
    if (!std::filesystem::is_regular_file(status)) fail(path, "not a regular file");
    if (compressed_) {
      gz_ = gzopen(path.c_str(), "rb");
      if (gz_ == nullptr) fail(path, std::string("cannot open: ") + std::strerror(errno));
      gzbuffer(gz_, 1 << 17);
    } else {
      file_ = std::fopen(path.c_str(), "rb");
      if (file_ == nullptr) fail(path, std::string("cannot open: ") + std::strerror(errno));
      raw_size_ = std::filesystem::file_size(path, ec);
      if (ec) fail(path, "cannot read the file size: " + ec.message());
    }
  }
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;
  ~ByteSource() {
    if (gz_ != nullptr) gzclose(gz_);
    if (file_ != nullptr) std::fclose(file_);
  }

  bool compressed() const { return compressed_; }
  // Size on disk of a raw (uncompressed) file.
  uint64_t raw_size() const { return raw_size_; }

  // Reads up to `n` bytes; returns fewer only at the end of the data.
  size_t read(uint8_t* out, size_t n) {
    size_t total = 0;
    while (total < n) {
      const size_t want = std::min(n - total, kReadChunk);
      const size_t got =
          compressed_ ? read_gz(out + total, want) : std::fread(out + total, 1, want, file_);
      if (!compressed_ && got < want && std::ferror(file_)) fail(path_, "read error");
      total += got;
      if (got < want) break;
    }
    return total;
  }

  // Number of bytes left before the end of the data (consumes them).
  uint64_t count_remaining() {
    std::array<uint8_t, 1 << 16> buffer;
    uint64_t count = 0;
    size_t got = 0;
    while ((got = read(buffer.data(), buffer.size())) > 0) count += got;
    return count;
  }

 private:
  size_t read_gz(uint8_t* out, size_t n) {
    const int got = gzread(gz_, out, static_cast<unsigned>(n));
    int errnum = Z_OK;
    const char* message = gzerror(gz_, &errnum);
    if (got < 0 || (errnum != Z_OK && errnum != Z_STREAM_END)) {
      fail(path_, std::string("corrupt gzip data: ") + (message ? message : "zlib error"));
    }
    return static_cast<size_t>(got);
  }

  std::string path_;
  bool compressed_;
  gzFile gz_ = nullptr;
  std::FILE* file_ = nullptr;
  uint64_t raw_size_ = 0;
};

std::string hex_byte(uint8_t b) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%02x", static_cast<unsigned>(b));
  return text;
}

int32_t big_endian_int32(const uint8_t* p) {
  const uint32_t u = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) |
                     uint32_t{p[3]};
  return static_cast<int32_t>(u);
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  ByteSource source(path);

  std::array<uint8_t, 4> magic{};
  const size_t magic_read = source.read(magic.data(), magic.size());
  if (magic_read < magic.size()) {
    fail(path, "too short for an IDX header (" + std::to_string(magic_read) + " bytes)");
  }
  if (magic[0] != 0 || magic[1] != 0) {
    fail(path, "bad IDX magic number " + hex_byte(magic[0]) + " " + hex_byte(magic[1]) + " " +
                   hex_byte(magic[2]) + " " + hex_byte(magic[3]) +
                   " (expected 0x00 0x00 <type> <rank>)");
  }
  if (magic[2] != kTypeUnsignedByte) {
    fail(path, "unsupported IDX data type " + hex_byte(magic[2]) +
                   " (only unsigned byte, 0x08, is supported)");
  }
  const int rank = magic[3];
  if (rank < 1 || rank > kMaxRank) {
    fail(path, "unsupported IDX rank " + std::to_string(rank) + " (expected 1 to " +
                   std::to_string(kMaxRank) + ")");
  }

  std::array<uint8_t, 4 * kMaxRank> dim_bytes{};
  const size_t dims_size = 4 * static_cast<size_t>(rank);
  const size_t dims_read = source.read(dim_bytes.data(), dims_size);
  if (dims_read < dims_size) {
    fail(path, "truncated header: " + std::to_string(rank) + " dimensions need " +
                   std::to_string(dims_size) + " bytes, got " + std::to_string(dims_read));
  }

  IdxArray result;
  uint64_t payload = 1;
  for (int i = 0; i < rank; ++i) {
    const int32_t dim = big_endian_int32(dim_bytes.data() + 4 * i);
    if (dim <= 0) {
      fail(path, "dimension " + std::to_string(i) + " is " + std::to_string(dim) +
                     " (must be > 0)");
    }
    payload *= static_cast<uint64_t>(dim);  // at most kMaxPayloadBytes * 2^31: no overflow
    if (payload > kMaxPayloadBytes) {
      fail(path, "dimensions describe more than " + std::to_string(kMaxPayloadBytes) +
                     " bytes; the header is corrupt");
    }
    result.dims.push_back(dim);
  }
  const std::string expected = "expected " + std::to_string(payload) + " bytes";

  if (!source.compressed()) {
    // Check the length on disk before allocating anything.
    const uint64_t header = magic.size() + dims_size;
    const uint64_t available = source.raw_size() > header ? source.raw_size() - header : 0;
    if (available < payload) {
      fail(path, "truncated payload: " + expected + " got " + std::to_string(available));
    }
    if (available > payload) {
      fail(path, std::to_string(available - payload) + " trailing bytes after the payload (" +
                     expected + ")");
    }
    result.data.resize(payload);
    const size_t got = source.read(result.data.data(), payload);
    if (got < payload) fail(path, "truncated payload: " + expected + " got " + std::to_string(got));
    return result;
  }

  // Compressed: grow the buffer as data actually arrives, so a lying header costs nothing.
  size_t got = 0;
  while (got < payload) {
    const auto target =
        static_cast<size_t>(std::min<uint64_t>(payload, std::max(kReadChunk, 2 * got)));
    result.data.resize(target);
    got += source.read(result.data.data() + got, target - got);
    if (got < target) break;
  }
  if (got < payload) fail(path, "truncated payload: " + expected + " got " + std::to_string(got));
  const uint64_t trailing = source.count_remaining();
  if (trailing > 0) {
    fail(path, std::to_string(trailing) + " trailing bytes after the payload (" + expected + ")");
  }
  return result;
}

}  // namespace wna
