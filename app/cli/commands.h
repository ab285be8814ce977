#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tunebench {
class RunStore;
}

namespace tunebench::cli {

// Exit codes scripts can rely on.
enum ExitCode : int {
  ExitOk = 0,
  ExitFailure = 1,   // the command ran and failed (a check failed, training diverged, ...)
  ExitUsage = 2,     // bad command line
  ExitBadInput = 3,  // a file, config or model folder could not be used (message says which)
  ExitInterrupted = 130,
};

// Each sub-command gets the arguments after its name.
int runVersion(const std::vector<std::string> &args);
int runDoctor(const std::vector<std::string> &args);
int runTokenize(const std::vector<std::string> &args);
int runData(const std::vector<std::string> &args);
int runInspect(const std::vector<std::string> &args);
int runEmbed(const std::vector<std::string> &args);
int runTrain(const std::vector<std::string> &args);
int runResume(const std::vector<std::string> &args);
int runEval(const std::vector<std::string> &args);
int runCrossValidate(const std::vector<std::string> &args);
int runExport(const std::vector<std::string> &args);
int runEnsemble(const std::vector<std::string> &args);
int runSweep(const std::vector<std::string> &args);
int runRuns(const std::vector<std::string> &args);
int runPredict(const std::vector<std::string> &args);
int runFetchAssets(const std::vector<std::string> &args);

class HelpRequested;

// `runs compare A1,A2,… B1,B2,…` (two comma-separated lists in `groups`): group B against group A
// paired by position, printed or as JSON (groupcompare.cpp).
int compareRunGroups(const RunStore &store, const std::vector<std::string> &groups, bool json);

struct Command
{
  const char *name;
  const char *summary;
  int (*run)(const std::vector<std::string> &args);
  const char *example;
};

// Every sub-command, in the order --help lists them (commandtable.cpp).
const std::vector<Command> &commands();
// What `COMMAND [SUB] --help` lists.
HelpRequested commandHelp(const Command &command, const std::vector<std::string> &subcommand = {});
// The man page tunebench-cli(1) and the bash completion script, both from the table above.
std::string manPage(const std::string &version);
std::string bashCompletion();

} // namespace tunebench::cli
