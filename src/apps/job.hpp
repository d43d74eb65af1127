// The job of wna_mpi and wna_merge: validate on every rank, plan, compute the noise pass (or,
// for wna_merge, take the exact sums of the archives being merged), run the analyses' own
// passes, reduce and write one archive. The two programs differ only in their command lines.
#pragma once

#include <string>
#include <vector>

#include "wna/core/mpi_session.hpp"

namespace wna {

struct JobCommandLine {
  std::string program;                      // "wna_mpi" or "wna_merge", for messages
  std::string config_path;                  // wna_mpi's config file
  std::vector<std::string> overrides;       // --set section.key=value
  std::vector<std::string> merge_archives;  // wna_merge: the shares to add (their config is used)
  bool dry_run = false, list_layers = false, print_template = false, print_markdown = false, print_version = false;
};

// Collective. Returns the exit code (core/cli.hpp); throws wna::UsageError / wna::Error before
// any work, and aborts the job on a failure during it (one rank's error stops them all).
int run_job(const JobCommandLine& command_line, const MpiSession& mpi);

}  // namespace wna
