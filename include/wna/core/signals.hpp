// What SIGTERM, SIGINT, SIGUSR1 (Slurm's warning signal) and SIGHUP do to a wna program.
//  - While stop signals are caught (catch_stop_signals(), a checkpointed run from its noise
//    pass to its end), they are only recorded: the noise pass checkpoints at the end of the
//    round and the program exits 3; after the noise pass the run finishes (the own passes
//    and the archive are not checkpointed). A second SIGINT (Ctrl-C twice) ends it at once.
//  - Otherwise they end the process as usual, but first remove the temporary files registered
//    with remove_on_signal() (AtomicFile and the archive do), so no partial output is left.
#pragma once

#include <string>

namespace wna {

// Installs the handlers (idempotent) and registers `path` as a temporary file that a fatal
// signal removes (at most 8 at once; more, or longer than 4095 bytes, are not registered).
void remove_on_signal(const std::string& path);
// Unregisters `path` (it was renamed into place, or removed).
void keep_on_signal(const std::string& path);

void catch_stop_signals();
// The last stop signal recorded (0: none).
int stop_signal();

}  // namespace wna
