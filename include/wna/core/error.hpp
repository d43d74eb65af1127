// Error types shared by every component: each carries one line of context for the user.
#pragma once

#include <stdexcept>
#include <string>

namespace wna {

// A failure with a message that already names the file, key or value involved.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad user input (config, command line, paths): reported once, exit code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

// Exit codes used by the command-line programs.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitCheckpointed = 3;  // stopped by a signal after writing a checkpoint

}  // namespace wna
