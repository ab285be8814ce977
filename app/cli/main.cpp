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
  const char *example;
};

const std::vector<Command> &commands()
{
  static const std::vector<Command> list = {
      {"version", "print versions of tunebench and every library, the BLAS in use, threads, bf16/CUDA",
       runVersion, "tunebench-cli version"},
      {"doctor", "check this machine: libraries, BLAS, sentencepiece shim, GEMM throughput", runDoctor,
       "tunebench-cli doctor --quick"},
      {"data", "prepare-assets | check FILE [--task K] [--model DIR]: data files and their reports", runData,
       "tunebench-cli data check reviews.csv --task single_label --model "
       "assets/tokenizers/bert-base-uncased"},
      {"inspect", "a model folder: architecture, sizes, tokenizer, heads, training estimate", runInspect,
       "tunebench-cli inspect assets/models/use-lite"},
      {"embed", "one JSON vector per stdin line from a model folder", runEmbed,
       "echo \"a fine film\" | tunebench-cli embed assets/models/use-lite"},
      {"tokenize", "ids for every stdin line (--model DIR | --tokenizer FILE) [--json]", runTokenize,
       "echo \"Unaffable café!\" | tunebench-cli tokenize --model assets/tokenizers/bert-base-uncased "
       "--json"},
      {"train", "CONFIG.yaml [--set key=value]... [--json] [--sanity] [--check]: train an experiment",
       runTrain, "tunebench-cli train resources/presets/sentiment-use-lite.yaml --set training.epochs=2"},
      {"resume", "RUN: continue a stopped or crashed run exactly where its state was saved", runResume,
       "tunebench-cli resume workspace/runs/sentiment-use-lite-20261205-101500"},
      {"cv",
       "CONFIG.yaml [--folds 5] [--set key=value]... [--json]: stratified k-fold cross-validation (mean ± "
       "std)",
       runCrossValidate, "tunebench-cli cv resources/presets/sentiment-use-lite.yaml --folds 5 --json"},
      {"eval",
       "RUN [--split S] [--errors N] [--calibrate] [--tune-threshold] [--save] [--calibrated] [--json]: a "
       "run's "
       "best model on a split",
       runEval, "tunebench-cli eval RUN --split test --errors 10 --calibrate"},
      {"ensemble", "RUN RUN... [--split test]: average the class probabilities of runs", runEnsemble,
       "tunebench-cli ensemble RUN1 RUN2 RUN3 --split test"},
      {"sweep", "CONFIG.yaml --grid key=a,b... | --random N --range key=lo:hi [--seeds N]: one run per point",
       runSweep,
       "tunebench-cli sweep resources/presets/sentiment-use-lite.yaml --grid "
       "training.learning_rate=5e-5,1e-4 --seeds 3"},
      {"runs",
       "list | show ID | compare A B... | best METRIC | export | bundle | import | index | delete | archive "
       "| "
       "notes | tag | prune | du: the run history (runs.sqlite in the workspace)",
       runRuns, "tunebench-cli runs compare 3 4 5"},
      {"export",
       "RUN [--out DIR] [--calibrated]: the trained model as a folder (Hugging Face layout for language "
       "models)",
       runExport, "tunebench-cli export RUN --out my-model"},
      {"predict",
       "RUN --text T | --file F (or stdin) [--json] [--calibrated]: labels from a run's best model",
       runPredict, "tunebench-cli predict RUN --text \"a warm, funny film\""},
  };
  return list;
}

void printUsage(std::FILE *out)
{
  std::fprintf(out, "usage: tunebench-cli [--threads N] <command> [options]\n"
                    "       tunebench-cli --version | --help | help COMMAND | COMMAND --help\n\ncommands:\n");
  for (const Command &c : commands())
    std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(out, "\nenvironment: TUNEBENCH_THREADS, TUNEBENCH_WORKSPACE, TUNEBENCH_ASSETS\n");
}

// Runs a command; its --help prints the usage line, the options (or sub-commands) and an example.
int runCommand(const Command &c, const std::vector<std::string> &args)
{
  try {
    return c.run(args);
  } catch (const HelpRequested &help) {
    std::printf("usage: tunebench-cli %s %s\n\n%s:\n%s\nexample:\n  %s\n", c.name, c.summary,
                help.heading().c_str(), help.text().c_str(), c.example);
    return ExitOk;
  }
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

    std::string name = args.front();
    args.erase(args.begin());
    if (name == "help") { // `help CMD` is `CMD --help`
      if (args.empty()) {
        printUsage(stdout);
        return ExitOk;
      }
      name = args.front();
      args = {"--help"};
    }
    for (const Command &c : commands())
      if (name == c.name)
        return runCommand(c, args);
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
