// SHA-256 of files (OpenSSL's libcrypto): what the archive records of the model and data
// files, what model.sha256 pins, and how the checkpoint fingerprint names file contents.
#pragma once

#include <cstddef>
#include <string>

namespace wna {

// The SHA-256 of the file at `path` as 64 lowercase hex digits, as sha256sum prints it.
// Throws wna::Error naming the file when it cannot be read.
std::string sha256_of_file(const std::string& path);
// The SHA-256 of `size` bytes at `data`, the same way.
std::string sha256_of_bytes(const void* data, size_t size);

}  // namespace wna
