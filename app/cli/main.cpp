// tunebench-cli: the headless front end. Parses the global options and dispatches to a sub-command;
// every sub-command drives tunebench_core, the same objects the GUI drives.
#include "cli/args.h"
#include "cli/commands.h"

#include "core/runtime/blascore.h"
#include "core/runtime/runtime.h"

#include <c10/util/Exception.h>
#include "core/util/error.h"

#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

namespace {

using namespace tunebench::cli;

struct Command
{
  const char *name;
  const char *summary;
  std::function<int(const std::vector<std::string> &)> run;
};

const std::vector<Command> &commands()
{
  static const std::vector<Command> list = {
      {"version", "print versions of tunebench and every library, the BLAS in use, threads, bf16/CUDA",
       runVersion},
      {"doctor", "check this machine: libraries, BLAS, sentencepiece shim, GEMM throughput", runDoctor},
      {"data", "prepare-assets | check FILE [--task K] [--model DIR]: data files and their reports", runData},
      {"inspect", "a model folder: architecture, sizes, tokenizer, heads, training estimate", runInspect},
      {"embed", "one JSON vector per stdin line from a model folder", runEmbed},
      {"tokenize", "ids for every stdin line (--model DIR | --tokenizer FILE) [--json]", runTokenize},
      {"train", "CONFIG.yaml [--set key=value]... [--json] [--sanity] [--check]: train an experiment",
       runTrain},
      {"resume", "RUN: continue a stopped or crashed run exactly where its state was saved", runResume},
      {"cv",
       "CONFIG.yaml [--folds 5] [--set key=value]... [--json]: stratified k-fold cross-validation (mean ± "
       "std)",
       runCrossValidate},
      {"eval",
       "RUN [--split S] [--errors N] [--calibrate] [--tune-threshold] [--save] [--calibrated] [--json]: a "
       "run's "
       "best model on a split",
       runEval},
      {"ensemble", "RUN RUN... [--split test]: average the class probabilities of runs", runEnsemble},
      {"sweep", "CONFIG.yaml --grid key=a,b... | --random N --range key=lo:hi [--seeds N]: one run per point",
       runSweep},
      {"runs",
       "list | show ID | compare A B... | best METRIC | export | bundle | import | index | delete | archive "
       "| "
       "notes | tag | prune | du: the run history (runs.sqlite in the workspace)",
       runRuns},
      {"export",
       "RUN [--out DIR] [--calibrated]: the trained model as a folder (Hugging Face layout for language "
       "models)",
       runExport},
      {"predict",
       "RUN --text T | --file F (or stdin) [--json] [--calibrated]: labels from a run's best model",
       runPredict},
  };
  return list;
}

void printUsage(std::FILE *out)
{
  std::fprintf(out, "usage: tunebench-cli [--threads N] <command> [options]\n"
                    "       tunebench-cli --version | --help\n\ncommands:\n");
  for (const Command &c : commands())
    std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(out, "\nenvironment: TUNEBENCH_THREADS, TUNEBENCH_WORKSPACE, TUNEBENCH_ASSETS\n");
}

} // namespace

int main(int argc, char **argv)
{
  tunebench::reexecWithTunedRuntime(argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    tunebench::RuntimeOptions options = tunebench::runtimeOptionsFromEnvironment();
    // Global options come before the command name.
    while (!args.empty() && args.front().rfind("--", 0) == 0) {
      const std::string option = args.front();
      if (option == "--help" || option == "-h") {
        printUsage(stdout);
        return ExitOk;
      }
      if (option == "--version") {
        args.front() = "version";
        break;
      }
      if (option == "--threads" || option.rfind("--threads=", 0) == 0) {
        std::vector<std::string> slice{option};
        args.erase(args.begin());
        if (option == "--threads" && !args.empty()) {
          slice.push_back(args.front());
          args.erase(args.begin());
        }
        options.threads = *Args(slice, {{"threads", true, ""}}).intValue("threads");
        continue;
      }
      throw UsageError("unknown global option " + option + " (see tunebench-cli --help)");
    }
    if (args.empty()) {
      printUsage(stderr);
      return ExitUsage;
    }
    tunebench::configureRuntime(options);

    const std::string name = args.front();
    args.erase(args.begin());
    for (const Command &c : commands())
      if (name == c.name)
        return c.run(args);
    std::vector<std::string> names;
    for (const Command &c : commands())
      names.emplace_back(c.name);
    const std::string suggestion = closestMatch(name, names);
    std::cerr << "tunebench-cli: unknown command \"" << name << "\""
              << (suggestion.empty() ? "" : " (did you mean \"" + suggestion + "\"?)")
              << "; see tunebench-cli --help\n";
    return ExitUsage;
  } catch (const UsageError &e) {
    std::cerr << "tunebench-cli: " << e.what() << '\n';
    return ExitUsage;
  } catch (const tunebench::Error &e) {
    std::cerr << "tunebench-cli: " << e.what() << '\n';
    return ExitBadInput;
  } catch (const c10::Error &e) {
    // LibTorch's own errors: one line, without its C++ backtrace.
    std::cerr << "tunebench-cli: " << e.what_without_backtrace() << '\n';
    return ExitFailure;
  } catch (const std::exception &e) {
    // Anything else is a bug in tunebench, not in the user's input: still one line, no trace.
    std::cerr << "tunebench-cli: internal error: " << e.what() << '\n';
    return ExitFailure;
  }
}
