// Tests of the IDX reader: exact round trips of raw and gzip files the test writes, and one
// wna::Error naming the file for each kind of malformed input.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "wna/core/error.hpp"
#include "wna/data/idx.hpp"

namespace {

using Bytes = std::vector<uint8_t>;

// An IDX file image: magic 0 0 type rank, big-endian int32 dims, then `payload`.
Bytes idx_bytes(const std::vector<int32_t>& dims, const Bytes& payload, uint8_t type = 0x08) {
  Bytes bytes = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (int32_t dim : dims) {
    const auto u = static_cast<uint32_t>(dim);
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<uint8_t>(u >> shift));
  }
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  return bytes;
}

// Deterministic non-trivial payload of `n` bytes.
Bytes pattern(size_t n) {
  Bytes bytes(n);
  uint32_t state = 12345;
  for (auto& b : bytes) {
    state = state * 1103515245u + 12345u;
    b = static_cast<uint8_t>(state >> 16);
  }
  return bytes;
}

std::string write_raw(const std::filesystem::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  EXPECT_TRUE(out.good()) << path;
  return path.string();
}

std::string write_gz(const std::filesystem::path& path, const Bytes& bytes) {
  gzFile gz = gzopen(path.string().c_str(), "wb");
  EXPECT_NE(gz, nullptr) << path;
  if (!bytes.empty()) {
    EXPECT_EQ(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
  EXPECT_EQ(gzclose(gz), Z_OK);
  return path.string();
}

// The message of the wna::Error that `read_idx(path)` throws ("" and a failure if none).
std::string read_error(const std::string& path) {
  try {
    wna::read_idx(path);
  } catch (const wna::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "read_idx(" << path << ") did not throw wna::Error";
  return "";
}

// Checks that reading `path` fails with a message naming the file and containing `what`.
void expect_read_error(const std::string& path, const std::string& what) {
  const std::string message = read_error(path);
  EXPECT_PRED_FORMAT2(::testing::IsSubstring, path + ": ", message);
  EXPECT_PRED_FORMAT2(::testing::IsSubstring, what, message);
}

TEST(IdxRead, RawRoundTripIsExact) {
  const auto dir = wna::test::scratch_dir("idx_raw");
  const Bytes payload = pattern(2 * 3 * 4);
  const auto path = write_raw(dir / "a-idx3-ubyte", idx_bytes({2, 3, 4}, payload));
  const wna::IdxArray array = wna::read_idx(path);
  EXPECT_EQ(array.dims, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(array.data, payload);
}

TEST(IdxRead, GzipRoundTripIsExact) {
  const auto dir = wna::test::scratch_dir("idx_gz");
  const Bytes payload = pattern(7 * 5);
  const auto path = write_gz(dir / "a-idx2-ubyte.gz", idx_bytes({7, 5}, payload));
  const wna::IdxArray array = wna::read_idx(path);
  EXPECT_EQ(array.dims, (std::vector<int64_t>{7, 5}));
  EXPECT_EQ(array.data, payload);
}

TEST(IdxRead, LargeGzipPayloadSpanningManyReadChunks) {
  const auto dir = wna::test::scratch_dir("idx_gz_large");
  const Bytes payload = pattern(3 * 1000 * 1001);
  const auto path = write_gz(dir / "big-idx3-ubyte.gz", idx_bytes({3, 1000, 1001}, payload));
  const wna::IdxArray array = wna::read_idx(path);
  EXPECT_EQ(array.dims, (std::vector<int64_t>{3, 1000, 1001}));
  EXPECT_EQ(array.data, payload);
}

TEST(IdxRead, AcceptsRanksOneToFour) {
  const auto dir = wna::test::scratch_dir("idx_ranks");
  const std::vector<std::vector<int32_t>> shapes = {{5}, {2, 3}, {2, 1, 3}, {1, 2, 3, 2}};
  for (const auto& dims : shapes) {
    size_t n = 1;
    for (int32_t d : dims) n *= static_cast<size_t>(d);
    const Bytes payload = pattern(n);
    const auto path =
        write_raw(dir / ("rank" + std::to_string(dims.size())), idx_bytes(dims, payload));
    const wna::IdxArray array = wna::read_idx(path);
    EXPECT_EQ(array.dims, std::vector<int64_t>(dims.begin(), dims.end())) << path;
    EXPECT_EQ(array.data, payload) << path;
  }
}

TEST(IdxErrors, MissingFile) {
  const auto dir = wna::test::scratch_dir("idx_missing");
  expect_read_error((dir / "absent-idx1-ubyte").string(), "no such file");
  expect_read_error((dir / "absent-idx1-ubyte.gz").string(), "no such file");
}

TEST(IdxErrors, DirectoryIsNotAFile) {
  const auto dir = wna::test::scratch_dir("idx_directory");
  expect_read_error(dir.string(), "not a regular file");
}

TEST(IdxErrors, EmptyAndShortHeader) {
  const auto dir = wna::test::scratch_dir("idx_short");
  expect_read_error(write_raw(dir / "empty", {}), "too short");
  expect_read_error(write_gz(dir / "empty.gz", {}), "too short");
  expect_read_error(write_raw(dir / "three", {0, 0, 8}), "too short");
  // Rank 3 announced but only two dimensions present.
  Bytes two_dims = idx_bytes({4, 4}, {});
  two_dims[3] = 3;
  expect_read_error(write_raw(dir / "two_dims", two_dims), "truncated header");
}

TEST(IdxErrors, BadMagic) {
  const auto dir = wna::test::scratch_dir("idx_magic");
  Bytes bytes = idx_bytes({4}, pattern(4));
  bytes[0] = 0x1f;
  expect_read_error(write_raw(dir / "magic", bytes), "bad IDX magic number 0x1f 0x00 0x08 0x01");
  bytes[0] = 0;
  bytes[1] = 0x01;
  expect_read_error(write_gz(dir / "magic.gz", bytes), "bad IDX magic");
}

TEST(IdxErrors, WrongDataType) {
  const auto dir = wna::test::scratch_dir("idx_type");
  // 0x0D is float32 in the IDX format: valid IDX, but not what the image sets use.
  const auto path = write_raw(dir / "float", idx_bytes({1}, pattern(4), 0x0D));
  expect_read_error(path, "unsupported IDX data type 0x0d");
}

TEST(IdxErrors, RankOutsideOneToFour) {
  const auto dir = wna::test::scratch_dir("idx_rank");
  expect_read_error(write_raw(dir / "rank0", idx_bytes({}, {})), "unsupported IDX rank 0");
  expect_read_error(write_raw(dir / "rank5", idx_bytes({1, 1, 1, 1, 1}, {7})),
                    "unsupported IDX rank 5");
}

TEST(IdxErrors, NonPositiveDimension) {
  const auto dir = wna::test::scratch_dir("idx_dims");
  expect_read_error(write_raw(dir / "zero", idx_bytes({3, 0}, {})), "dimension 1 is 0");
  expect_read_error(write_raw(dir / "negative", idx_bytes({-2, 3}, pattern(6))),
                    "dimension 0 is -2");
}

TEST(IdxErrors, AbsurdDimensionsAreRejectedBeforeAllocating) {
  const auto dir = wna::test::scratch_dir("idx_absurd");
  const int32_t big = 2147483647;
  expect_read_error(write_raw(dir / "huge", idx_bytes({big, big, big, big}, pattern(16))),
                    "header is corrupt");
  expect_read_error(write_gz(dir / "huge.gz", idx_bytes({big, big, big, big}, pattern(16))),
                    "header is corrupt");
  // Plausible total (2 GiB) but far larger than the file: caught from the file size.
  expect_read_error(write_raw(dir / "large", idx_bytes({big}, pattern(16))),
                    "expected 2147483647 bytes got 16");
  expect_read_error(write_gz(dir / "large.gz", idx_bytes({big}, pattern(16))),
                    "expected 2147483647 bytes got 16");
}

TEST(IdxErrors, TruncatedPayload) {
  const auto dir = wna::test::scratch_dir("idx_truncated");
  const Bytes bytes = idx_bytes({2, 3, 4}, pattern(20));  // 24 announced
  expect_read_error(write_raw(dir / "short", bytes), "truncated payload: expected 24 bytes got 20");
  expect_read_error(write_gz(dir / "short.gz", bytes),
                    "truncated payload: expected 24 bytes got 20");
}

TEST(IdxErrors, TrailingBytes) {
  const auto dir = wna::test::scratch_dir("idx_trailing");
  const Bytes bytes = idx_bytes({2, 3}, pattern(9));  // 6 announced
  expect_read_error(write_raw(dir / "long", bytes), "3 trailing bytes");
  expect_read_error(write_gz(dir / "long.gz", bytes), "3 trailing bytes");
}

TEST(IdxErrors, CorruptGzipStream) {
  const auto dir = wna::test::scratch_dir("idx_corrupt_gz");
  const auto good = write_gz(dir / "good.gz", idx_bytes({64, 64}, pattern(64 * 64)));
  std::ifstream in(good, std::ios::binary);
  Bytes compressed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(compressed.size(), 40u);

  // Cut in the middle of the deflate stream.
  const Bytes cut(compressed.begin(), compressed.begin() + compressed.size() / 2);
  const std::string cut_message = read_error(write_raw(dir / "cut.gz", cut));
  EXPECT_PRED_FORMAT2(::testing::IsSubstring, (dir / "cut.gz").string() + ": ", cut_message);

  // Damage the compressed bytes (the CRC or the stream itself must catch it).
  Bytes damaged = compressed;
  for (size_t i = 20; i < damaged.size() - 8; i += 7) damaged[i] ^= 0x5a;
  const std::string damaged_message = read_error(write_raw(dir / "damaged.gz", damaged));
  EXPECT_PRED_FORMAT2(::testing::IsSubstring, (dir / "damaged.gz").string() + ": ",
                      damaged_message);
}

}  // namespace
