// RAII MPI session (see include/wna/core/mpi_session.hpp).
#include "wna/core/mpi_session.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "wna/core/error.hpp"
#include "wna/core/partition.hpp"

namespace wna {

MpiSession::MpiSession(int* argc, char*** argv) {
  int provided = 0;
  check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  // Errors come back as codes and are turned into exceptions with context.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_free(&node);
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {0};
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(std::string(what) + ": MPI error " + std::string(text, static_cast<size_t>(length)));
}

std::string broadcast_text(MPI_Comm comm, std::string text, int root) {
  int length = static_cast<int>(text.size());
  check_mpi(MPI_Bcast(&length, 1, MPI_INT, root, comm), "broadcast of a text's length");
  text.resize(static_cast<size_t>(length));
  check_mpi(MPI_Bcast(text.data(), length, MPI_CHAR, root, comm), "broadcast of a text");
  return text;
}

std::string rank_hosts(MPI_Comm comm) {
  int rank = 0, ranks = 1, length = 0;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &ranks);
  std::vector<char> name(MPI_MAX_PROCESSOR_NAME, '\0'), all(static_cast<size_t>(ranks) * MPI_MAX_PROCESSOR_NAME);
  check_mpi(MPI_Get_processor_name(name.data(), &length), "the host name");
  check_mpi(MPI_Gather(name.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0, comm),
            "gather of the host names");
  std::string text;
  if (rank == 0) {
    std::vector<std::pair<std::string, std::vector<int>>> hosts;  // in order of first appearance
    for (int r = 0; r < ranks; ++r) {
      const std::string host(all.data() + static_cast<size_t>(r) * MPI_MAX_PROCESSOR_NAME);
      auto found = std::find_if(hosts.begin(), hosts.end(), [&](const auto& entry) { return entry.first == host; });
      if (found == hosts.end()) found = hosts.insert(hosts.end(), {host, {}});
      found->second.push_back(r);
    }
    for (const auto& [host, list] : hosts) {
      text += (text.empty() ? "" : ", ") + host + (list.size() == 1 ? " (rank " : " (ranks ") +
              index_ranges(list, ", ") + ")";
    }
  }
  return broadcast_text(comm, text);
}

std::string slurm_job() {
  const auto variable = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
  };
  const std::string id = variable("SLURM_JOB_ID");
  if (id.empty()) return "";
  std::string details;
  if (!variable("SLURM_ARRAY_JOB_ID").empty())
    details = "array " + variable("SLURM_ARRAY_JOB_ID") + "_" + variable("SLURM_ARRAY_TASK_ID") + ", ";
  return id + " (" + details + "name " + variable("SLURM_JOB_NAME") + ")";
}

}  // namespace wna
