// wna_merge: adds the archives of a job array's shares of one run (run.first_sample,
// run.end_sample) into the archive of their union, exactly: the merged archive is bitwise the
// one a single job over the union writes (docs/archive.md, "Job arrays and wna_merge").
//   wna_merge runs/part-*.h5 -o runs/all.h5          mpirun -np 4 wna_merge ... (own passes shared)
// It needs what the shares used: the model file (checked against the archives' SHA-256) and, for
// gamma > 0, templates or microstimulation, the dataset; --set relocates them.
#include <CLI/CLI.hpp>

#include "job.hpp"
#include "wna/core/cli.hpp"
#include "wna/core/error.hpp"
#include "wna/core/runtime.hpp"

int main(int argc, char** argv) {
  wna::configure_process_memory();
  wna::MpiSession mpi(&argc, &argv);
  CLI::App app{"wna_merge: add the archives of a job array's shares of one run into the archive of the whole run"};
  wna::JobCommandLine command_line{"wna_merge"};
  std::string output;
  bool overwrite = false;
  app.add_option("archives", command_line.merge_archives, "archives of the shares (any order)")->required();
  app.add_option("-o,--output", output, "the merged archive")->required();
  app.add_flag("--overwrite", overwrite, "replace an existing archive (only once the new one is complete)");
  app.add_option("--set", command_line.overrides,
                 "override a key of the shares' config, e.g. model.file=... or data.data_dir=... where they moved");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (mpi.is_root()) return app.exit(e) == 0 ? wna::kExitOk : wna::kExitUsage;
    return e.get_exit_code() == 0 ? wna::kExitOk : wna::kExitUsage;
  }
  command_line.overrides.push_back("run.output=" + output);
  command_line.overrides.push_back(overwrite ? "run.overwrite=true" : "run.overwrite=false");
  return wna::run_reporting_errors("wna_merge", mpi.is_root(), [&] { return wna::run_job(command_line, mpi); });
}
