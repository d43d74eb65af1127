#!/usr/bin/env python3
"""Mutation testing of wna's core invariants (not part of CI: it rebuilds once per mutant).

Plants one one-line bug at a time in exact sums, accumulators, statistics, the checkpoint,
reductions, sharding, noise and output files; rebuilds the programs and tests in BUILD; runs
the ctest tests that should catch it; restores the source. A mutant is *caught* when a test
fails, *survives* when all pass. Prints one row per mutant and the score (docs/reliability.md).

    scripts/mutation_test.py BUILD [--only SUBSTRING] [--jobs N]

BUILD is a configured build directory of this source tree (e.g. build/). The source tree is
left exactly as it was, even when interrupted."""
import argparse
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
UNIT = "ExactSum|Checkpoint|ClassImage|Sta|Stc|ActivationMap|Microstimulation|Noise|Receptive|AtomicFile|Block|Config"
MPI = "mpi_tests_np"

# (file, original text (unique in the file), mutated text, what it breaks, ctest regex)
MUTANTS = [
    ("src/accum/exact_sum.cpp", "limbs_[i + 1] += carry;", "limbs_[i + 1] -= carry;",
     "normalisation moves carries the wrong way", UNIT + "|" + MPI),
    ("src/accum/exact_sum.cpp", "return static_cast<double>(high) + static_cast<double>(low_part) / kFixedPointScale;",
     "return static_cast<double>(high);", "value() drops the fractional limb", UNIT),
    ("src/accum/exact_sum.cpp", "    limb[2 * j + 1] += q >> 32;", "    limb[2 * j + 1] += q >> 33;",
     "scalar rounding path: wrong high limb", "ExactSum"),
    ("src/accum/exact_sum.cpp", "for (size_t i = 0; i < limbs_.size(); ++i) limbs_[i] += other.limbs_[i];",
     "for (size_t i = 1; i < limbs_.size(); ++i) limbs_[i] += other.limbs_[i];",
     "merge skips the first limb", UNIT),
    ("src/reduce/mpi_reducer.cpp", "MPI_Allreduce(MPI_IN_PLACE, buffer.limbs() + first, count, MPI_INT64_T, MPI_SUM, comm_)",
     "MPI_Allreduce(MPI_IN_PLACE, buffer.limbs() + first, count, MPI_INT64_T, MPI_MAX, comm_)",
     "all-reduce takes the max", MPI),
    ("src/reduce/mpi_reducer.cpp", "std::copy(mine.begin(), mine.end(), buffer.limbs() + 2 * offsets[rank]);",
     "std::copy(mine.begin(), mine.end() - 1, buffer.limbs() + 2 * offsets[rank]);",
     "reduce-scatter drops the last limb of a slice", MPI),
    ("src/core/partition.cpp", "(rank < extra ? 1 : 0)", "(rank <= extra ? 1 : 0)",
     "rank shares overlap", "Partition|" + MPI + "|cli_test_wna_mpi_ranks"),
    ("src/engine/block_plan.cpp", "(remaining - rank_ + ranks_ - 1) / ranks_", "(remaining - rank_) / ranks_",
     "a rank loses its last block", "Checkpoint|Block|ClassImage|" + MPI),
    ("src/engine/block_plan.cpp", "std::upper_bound(completed_->begin()", "std::lower_bound(completed_->begin()",
     "resumed share skips the wrong blocks", "Checkpoint|cli_test_checkpoint_resume"),
    ("src/engine/checkpoint_file.cpp", "if (i > 0 && done[i] <= done[i - 1])", "if (i > 0 && done[i] < done[i - 1])",
     "repeated checkpoint blocks accepted", "Checkpoint"),
    ("src/engine/checkpoint_file.cpp", "if (done[i] < 0 || done[i] >= blocks)", "if (done[i] < 0 || done[i] > blocks)",
     "a block index one past the end accepted", "Checkpoint"),
    ("src/engine/checkpoint.cpp", 'text += key.name() + " = " + config.canonical(key.name()) + "\\n";',
     'text += key.name() + "\\n";', "fingerprint ignores the values", "Checkpoint|cli_test_checkpoint_resume"),
    ("src/engine/checkpoint.cpp", "      sum[i + 1] += carry;", "      sum[i + 1] -= carry;",
     "gathered checkpoint sums carried the wrong way", "MpiReduction|cli_test_checkpoint_resume|" + MPI),
    ("src/engine/resumable_run.cpp", "for (const Block& block : slice) completed.push_back(block.index);",
     "for (const Block& block : slice) completed.push_back(block.index + 1);",
     "checkpoint records the wrong blocks", "cli_test_checkpoint_resume"),
    ("src/analyses/classification_images/accumulator.cpp",
     "buffer_.add_row(weighted_sum_index(gamma, predicted), image, pixels, confidence);",
     "buffer_.add_row(weighted_sum_index(gamma, predicted), image, pixels, 1.0);",
     "weighted CI loses its confidence weight", "ClassImage|cli_test_golden_archives"),
    ("src/analyses/sta/statistics.cpp", "return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : kNaN;",
     "return aa > 0 && bb > 0 ? 1.0 : kNaN;", "filter correlation always 1", "Sta|cli_test_golden_archives"),
    ("src/noise/noise.cpp", "const uint64_t sample = first_sample + static_cast<uint64_t>(n);",
     "const uint64_t sample = first_sample + static_cast<uint64_t>(n / 2);",
     "two samples share their noise", "Noise|ClassImage|cli_test_golden_archives"),
    ("src/models/receptive_field.cpp", "field.start -= info.padding * field.jump;", "field.start -= info.padding;",
     "padding ignores the jump of earlier layers", "Receptive|Sta|cli_test_golden_archives"),
    ("src/engine/stimuli.cpp", "noise_weight = static_cast<float>(1.0 - gamma)", "noise_weight = static_cast<float>(1.0)",
     "gamma does not scale the noise", "ClassImage|Psychometric|cli_test_golden_archives|cli_test_psychometric"),
    ("src/analyses/psychometric/psychometric_analysis.cpp",
     "const int64_t truth = labels[(batch.first_sample + static_cast<uint64_t>(n)) % signals];",
     "const int64_t truth = labels[(batch.first_sample + static_cast<uint64_t>(n) + 1) % signals];",
     "psychometric truth of the wrong image", "cli_test_psychometric"),
    ("src/core/output_file.cpp", 'if (!overwrite) return fmt::format("file exists; {} to replace it", hint);',
     'if (false) return fmt::format("file exists; {} to replace it", hint);',
     "existing outputs replaced without overwrite", "AtomicFile|OutputPath|cli_test_wna_mpi_errors"),
    ("src/core/output_file.cpp", "if (S_ISLNK(info.st_mode))", "if (false && S_ISLNK(info.st_mode))",
     "outputs written through links", "AtomicFile|cli_test_wna_mpi_errors"),
    ("src/accum/chunk_sums.cpp", "if (!(smallest > -kLimit && largest < kLimit))", "if (!(largest < kLimit))",
     "negative overflow of a chunk's sums passes the gate", "ChunkSums|Sta|Stc"),
    ("src/models/network.cpp", "if (!torch::isfinite(logits).all().item<bool>())", "if (false)",
     "NaN scores accepted at load", "TorchScript|cli_test_wna_mpi_errors"),
]


def run(command, timeout):
    return subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build")
    parser.add_argument("--only", default="")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    build = pathlib.Path(args.build).resolve()
    targets = ["wna_mpi", "wna_train", "wna_unit_tests", "wna_mpi_tests"]
    rows, caught, shown = [], 0, 0
    for path, original, mutated, what, tests in MUTANTS:
        if args.only and args.only not in path + what:
            continue
        source = ROOT / path
        text = source.read_text()
        if text.count(original) != 1:
            rows.append((path, what, "not applied (the line changed)"))
            continue
        started = time.time()
        try:
            source.write_text(text.replace(original, mutated))
            built = run(["ninja", "-C", str(build), "-j", str(args.jobs)] + targets, 1800)
            if built.returncode != 0:
                verdict = "does not compile"
            else:
                shown += 1
                tested = run(["ctest", "--test-dir", str(build), "-j", str(args.jobs), "--timeout", "120",
                              "-R", tests], 3600)
                failed = [line.split(" - ")[1].split(" (")[0] for line in tested.stdout.splitlines()
                          if line.strip() and " - " in line and "(Failed" in line or "(Timeout" in line]
                if tested.returncode != 0:
                    caught += 1
                    verdict = "caught by " + (", ".join(failed[:2]) if failed else "the tests")
                else:
                    verdict = "SURVIVED"
        finally:
            source.write_text(text)
        rows.append((path, what, f"{verdict} ({time.time() - started:.0f} s)"))
        print(f"{path}: {what}: {rows[-1][2]}", flush=True)
    run(["ninja", "-C", str(build), "-j", str(args.jobs)] + targets, 1800)  # back to the real code
    print("\n| file | planted bug | result |\n|---|---|---|")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} |")
    print(f"\nscore: {caught} of {shown} mutants that compile caught ({100.0 * caught / max(shown, 1):.0f}%)")
    return 0 if caught == shown else 1


if __name__ == "__main__":
    sys.exit(main())
