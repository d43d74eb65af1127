// wna_mpi: the main job. Pushes a seeded budget of noise images through a trained model on
// N ranks and writes what every analysis of the registry (classification images, STA, STC,
// activation maps, microstimulation, ...) learned into one parallel HDF5 archive.
//   srun wna_mpi config.ini            mpirun -np 4 wna_mpi config.ini            wna_mpi config.ini
// The job itself, shared with wna_merge, is src/apps/job.cpp.
#include <CLI/CLI.hpp>

#include "job.hpp"
#include "wna/core/cli.hpp"
#include "wna/core/error.hpp"
#include "wna/core/runtime.hpp"

int main(int argc, char** argv) {
  wna::configure_process_memory();
  wna::MpiSession mpi(&argc, &argv);
  CLI::App app{"wna_mpi: white-noise analysis of a trained network on N ranks -> one HDF5 archive"};
  wna::JobCommandLine command_line{"wna_mpi"};
  app.add_option("config", command_line.config_path, "run configuration (INI)");
  app.add_option("--set", command_line.overrides, "override a key: section.key=value (repeatable)");
  app.add_flag("--dry-run", command_line.dry_run, "print the resolved config, plan and estimate; compute nothing");
  app.add_flag("--list-layers", command_line.list_layers,
               "print the model's layers (names for sta.layers, stc.units, activations.layers), their output shapes "
               "and receptive fields; compute nothing");
  app.add_flag("--print-template", command_line.print_template, "print a commented config with every key");
  app.add_flag("--print-config-markdown", command_line.print_markdown, "print the key reference as Markdown");
  app.add_flag("--version", command_line.print_version, "print versions and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (mpi.is_root()) return app.exit(e) == 0 ? wna::kExitOk : wna::kExitUsage;
    return e.get_exit_code() == 0 ? wna::kExitOk : wna::kExitUsage;
  }
  const int code = wna::run_reporting_errors("wna_mpi", mpi.is_root(), [&] { return wna::run_job(command_line, mpi); });
  return code;
}
